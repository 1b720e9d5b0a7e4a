"""SendGrid (Web API v3): the bounce list and the spam-report list for one address.

Look-up asks both lists (`GET /v3/suppression/bounces/{email}` and
`/v3/suppression/spam_reports/{email}`, each an array that is empty when the address is not
listed); reactivation deletes the address from every list that holds it. Blocks, invalid
emails and unsubscribes are separate lists this adapter does not read.
"""

from __future__ import annotations

from typing import Any

import requests

from diagnostics.smtp_codes import find_status
from diagnostics.types import BounceClass
from diagnostics.vendors.base import DEFAULT_TIMEOUT, AdapterError
from diagnostics.vendors.common import (
    SuppressionRecord,
    class_from_status,
    parse_epoch,
    path_segment,
    same_address,
)
from diagnostics.vendors.http import HeaderAuth, VendorHttp
from diagnostics.vendors.lists import SuppressionListsAdapter

DEFAULT_API_URL = "https://api.sendgrid.com"

# (path under /v3/suppression/, kind of entry, words for the reason)
_LISTS = (
    ("bounces", "bounce", "bounce"),
    ("spam_reports", "complaint", "spam report"),
)


class SendGridAdapter(SuppressionListsAdapter):
    """One SendGrid account (or subuser) reached with an API key."""

    name = "sendgrid"
    label = "SendGrid"

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        self._has_key = bool(api_key)
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._http = VendorHttp(
            label=self.label,
            base_url=self.api_url,
            timeout=timeout,
            auth=HeaderAuth(header="Authorization", value=f"Bearer {api_key}"),
            credentials_hint="SENDGRID_API_KEY (needs Suppressions read and delete access)",
            session=session,
        )

    def _delete(self, list_name: str, address: str) -> None:
        # 404 means someone removed it meanwhile: the goal is reached either way.
        self._http.request(
            "DELETE", f"/v3/suppression/{list_name}/{path_segment(address)}", accept=(404,)
        )

    def _records(self, address: str) -> list[SuppressionRecord]:
        if not self._has_key:
            raise AdapterError("SENDGRID_API_KEY is not set", transient=False)
        records: list[SuppressionRecord] = []
        for list_name, kind, words in _LISTS:
            response = self._http.request(
                "GET", f"/v3/suppression/{list_name}/{path_segment(address)}", accept=(404,)
            )
            if response.status_code == 404:
                continue  # some accounts answer 404 instead of an empty array
            entries = self._http.json(response)
            if isinstance(entries, dict):
                entries = [entries]
            for entry in entries or []:
                if not same_address(str(entry.get("email", address)), address):
                    continue
                records.append(self._record(address, entry, list_name, kind, words))
        return records

    @staticmethod
    def _record(
        address: str, entry: dict[str, Any], list_name: str, kind: str, words: str
    ) -> SuppressionRecord:
        reason = str(entry.get("reason") or "")
        status = str(entry.get("status") or "") or find_status(reason)
        return SuppressionRecord(
            address=address,
            kind=kind,
            listed_at=parse_epoch(entry.get("created")),
            reason=f"{words}: {reason}" if reason else words,
            status=status,
            bounce_text=reason,
            bounce_class=(
                BounceClass.COMPLAINT.value if kind == "complaint" else class_from_status(status)
            ),
            list_name=list_name,
        )
