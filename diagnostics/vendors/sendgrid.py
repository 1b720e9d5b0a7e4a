"""SendGrid (Web API v3): every suppression list that makes SendGrid drop mail to an address.

Look-up asks, for the one address, the bounce list, the invalid-email list, the spam-report
list (each `GET /v3/suppression/{list}/{email}`, an array that is empty when the address is not
listed) and the global unsubscribes (`GET /v3/asm/suppressions/global/{email}`, `{}` when not
listed). SendGrid drops every message to an address on any of them. Blocks are not read:
SendGrid does not suppress future messages to a blocked address.

Reactivation deletes the address from each list that holds it, except a global unsubscribe:
that is the recipient's own choice, so the adapter refuses before deleting anything and says
so (only the recipient, or someone acting on their request in SendGrid's console, lifts it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from diagnostics.smtp_codes import find_status
from diagnostics.types import BounceClass
from diagnostics.vendors.base import (
    DEFAULT_TIMEOUT,
    AdapterError,
    SuppressionListing,
    SuppressionPage,
)
from diagnostics.vendors.common import (
    SuppressionRecord,
    class_from_status,
    guarded_pages,
    parse_epoch,
    path_segment,
    same_address,
)
from diagnostics.vendors.http import HeaderAuth, VendorHttp
from diagnostics.vendors.lists import SuppressionListsAdapter

DEFAULT_API_URL = "https://api.sendgrid.com"


@dataclass(frozen=True)
class _List:
    name: str  # our name for the list (SuppressionRecord.list_name)
    path: str  # the per-address endpoint, without the address
    kind: str  # SuppressionRecord.kind
    words: str  # how the reason names it
    removable: bool = True  # whether reactivation may delete the address from it


BOUNCES = _List("bounces", "/v3/suppression/bounces/", "bounce", "bounce")
INVALID_EMAILS = _List(
    "invalid_emails", "/v3/suppression/invalid_emails/", "bounce", "invalid email"
)
SPAM_REPORTS = _List("spam_reports", "/v3/suppression/spam_reports/", "complaint", "spam report")
GLOBAL_UNSUBSCRIBES = _List(
    "global_unsubscribes",
    "/v3/asm/suppressions/global/",
    "unsubscribe",
    "global unsubscribe (the recipient unsubscribed from all our mail)",
    removable=False,
)
LISTS = (BOUNCES, INVALID_EMAILS, SPAM_REPORTS, GLOBAL_UNSUBSCRIBES)
_BY_NAME = {entry.name: entry for entry in LISTS}

# The whole lists, read with limit and offset for a suppression audit: (list, kind). Blocks
# are read too: SendGrid does not suppress for them, but an audit should see them.
WHOLE_LISTS = (
    ("bounces", "bounce"),
    ("blocks", "block"),
    ("invalid_emails", "bounce"),
    ("unsubscribes", "unsubscribe"),
    ("spam_reports", "complaint"),
)
LIST_PAGE = 500


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

    @guarded_pages
    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """Every entry of each list in WHOLE_LISTS, `GET /v3/suppression/{list}` by offset."""
        if not self._has_key:
            raise AdapterError("SENDGRID_API_KEY is not set", transient=False)
        index = int((cursor or {}).get("list", 0))
        offset = int((cursor or {}).get("offset", 0))
        while index < len(WHOLE_LISTS):
            list_name, kind = WHOLE_LISTS[index]
            response = self._http.request(
                "GET",
                f"/v3/suppression/{list_name}",
                params={"limit": LIST_PAGE, "offset": offset},
            )
            items = self._http.json(response)
            if not isinstance(items, list):
                raise AdapterError(
                    f"SendGrid sent an answer we could not read for its {list_name} list "
                    f"(expected an array, got {type(items).__name__})"
                )
            if len(items) < LIST_PAGE:
                index, offset = index + 1, 0
            else:
                offset += len(items)
            more = index < len(WHOLE_LISTS)
            yield SuppressionPage(
                entries=[self._listing(item, list_name, kind) for item in items],
                cursor={"list": index, "offset": offset} if more else None,
            )

    @staticmethod
    def _listing(item: dict[str, Any], list_name: str, kind: str) -> SuppressionListing:
        reason = str(item.get("reason") or "")
        return SuppressionListing(
            address=str(item.get("email", "")).strip(),
            list_name=list_name,
            kind=kind,
            reason=f"{list_name}: {reason}" if reason else list_name,
            suppressed_at=parse_epoch(item.get("created")),
        )

    def _refuse_reactivation(self, address: str, records: list[SuppressionRecord]) -> None:
        if any(r.list_name == GLOBAL_UNSUBSCRIBES.name for r in records):
            raise AdapterError(
                f"{address} unsubscribed from all our mail at SendGrid (a global unsubscribe); "
                "that is the recipient's own choice, so it is not lifted by a reactivation. "
                "Ask the recipient to subscribe again (or, at their written request, remove it "
                "in SendGrid's console under Suppressions > Global Unsubscribes)",
                transient=False,
            )

    def _delete(self, list_name: str, address: str) -> None:
        entry = _BY_NAME[list_name]
        if not entry.removable:
            raise AdapterError(f"SendGrid's {entry.words} is not lifted by a reactivation")
        # 404 means someone removed it meanwhile: the goal is reached either way.
        self._http.request("DELETE", entry.path + path_segment(address), accept=(404,))

    def _records(self, address: str) -> list[SuppressionRecord]:
        if not self._has_key:
            raise AdapterError("SENDGRID_API_KEY is not set", transient=False)
        records: list[SuppressionRecord] = []
        for entry in LISTS:
            response = self._http.request("GET", entry.path + path_segment(address), accept=(404,))
            if response.status_code == 404:
                self._not_listed_or_error(response)
                continue  # some accounts answer 404 instead of an empty array
            answer = self._http.json(response)
            if entry is GLOBAL_UNSUBSCRIBES:
                records.extend(self._global(address, answer))
                continue
            if isinstance(answer, dict):
                answer = [answer]
            if not isinstance(answer, list):
                raise AdapterError(
                    f"SendGrid sent an answer we could not read for its {entry.words} list "
                    f"(expected an array, got {type(answer).__name__})"
                )
            for item in answer:
                if not same_address(str(item.get("email", address)), address):
                    continue
                records.append(self._record(address, item, entry))
        return records

    @staticmethod
    def _not_listed_or_error(response: requests.Response) -> None:
        # SendGrid's own 404 carries its JSON error body; a 404 page that is not JSON comes
        # from somewhere else (a wrong SENDGRID_API_URL) and must not pass for "not listed".
        try:
            response.json()
        except ValueError:
            raise AdapterError(
                f"SendGrid answered 404 without explanation for {response.request.path_url}: "
                "check SENDGRID_API_URL",
                transient=False,
            ) from None

    @staticmethod
    def _global(address: str, answer: Any) -> list[SuppressionRecord]:
        # `{"recipient_email": ...}` when globally unsubscribed, `{}` when not. No date is given.
        if not isinstance(answer, dict):
            raise AdapterError(
                "SendGrid sent an answer we could not read for its global unsubscribes "
                f"(expected an object, got {type(answer).__name__})"
            )
        listed = str(answer.get("recipient_email") or "")
        if not listed or not same_address(listed, address):
            return []
        return [
            SuppressionRecord(
                address=address,
                kind=GLOBAL_UNSUBSCRIBES.kind,
                listed_at=None,
                reason=GLOBAL_UNSUBSCRIBES.words,
                bounce_class=BounceClass.UNSUBSCRIBED.value,
                list_name=GLOBAL_UNSUBSCRIBES.name,
            )
        ]

    @staticmethod
    def _record(address: str, item: dict[str, Any], entry: _List) -> SuppressionRecord:
        reason = str(item.get("reason") or "")
        status = str(item.get("status") or "") or find_status(reason)
        if entry.kind == "complaint":
            bounce_class = BounceClass.COMPLAINT.value
        elif entry is INVALID_EMAILS:
            bounce_class = BounceClass.HARD.value  # SendGrid drops mail to it for good
        else:
            bounce_class = class_from_status(status)
        return SuppressionRecord(
            address=address,
            kind=entry.kind,
            listed_at=parse_epoch(item.get("created")),
            reason=f"{entry.words}: {reason}" if reason else entry.words,
            status=status,
            bounce_text=reason,
            bounce_class=bounce_class,
            list_name=entry.name,
        )
