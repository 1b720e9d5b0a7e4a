"""Mailgun: the sending domain's bounce list and complaint list for one address.

Look-up is `GET /v3/{domain}/bounces/{address}` and `/complaints/{address}` (404 with a JSON
message when the address is not listed); reactivation deletes it from each list that holds
it. Mailgun lists only permanent failures as bounces; unsubscribes are not read here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

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
    guarded_pages,
    parse_rfc2822,
    path_segment,
)
from diagnostics.vendors.http import VendorHttp, vendor_message
from diagnostics.vendors.lists import SuppressionListsAdapter

DEFAULT_API_URL = "https://api.mailgun.net"

# (list path, kind of entry, words for the reason)
_LISTS = (
    ("bounces", "bounce", "bounce"),
    ("complaints", "complaint", "spam complaint"),
)

# The whole lists, read page by page (`paging.next`) for a suppression audit: (list, kind).
WHOLE_LISTS = (("bounces", "bounce"), ("complaints", "complaint"), ("unsubscribes", "unsubscribe"))
LIST_PAGE = 1000


class MailgunAdapter(SuppressionListsAdapter):
    """One Mailgun sending domain, reached with an API key (HTTP basic auth as "api")."""

    name = "mailgun"
    label = "Mailgun"

    def __init__(
        self,
        *,
        api_key: str,
        domain: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        self.domain = domain
        self._has_key = bool(api_key)
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._http = VendorHttp(
            label=self.label,
            base_url=self.api_url,
            timeout=timeout,
            auth=("api", api_key),
            credentials_hint="MAILGUN_API_KEY (a key with access to MAILGUN_DOMAIN)",
            session=session,
        )

    @guarded_pages
    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """Every entry of the domain's bounces, complaints and unsubscribes, by `paging.next`."""
        if not self._has_key:
            raise AdapterError("MAILGUN_API_KEY is not set", transient=False)
        if not self.domain:
            raise AdapterError("MAILGUN_DOMAIN is not set", transient=False)
        index = int((cursor or {}).get("list", 0))
        url = (cursor or {}).get("url")
        while index < len(WHOLE_LISTS):
            list_name, kind = WHOLE_LISTS[index]
            if url:
                response = self._http.request("GET", self._same_host(url))
            else:
                response = self._http.request(
                    "GET",
                    f"/v3/{path_segment(self.domain)}/{list_name}",
                    params={"limit": LIST_PAGE},
                )
            body = self._http.json(response)
            items = body.get("items") or []
            following = (body.get("paging") or {}).get("next")
            if items and following:
                url = following
            else:  # an empty page ends the list (Mailgun always gives a next link)
                index, url = index + 1, None
            more = index < len(WHOLE_LISTS)
            yield SuppressionPage(
                entries=[self._listing(item, list_name, kind) for item in items],
                cursor={"list": index, "url": url} if more else None,
            )

    def _same_host(self, url: str) -> str:
        # Mailgun's paging links are absolute; follow only their path and query, on our host.
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @staticmethod
    def _listing(item: dict[str, Any], list_name: str, kind: str) -> SuppressionListing:
        code = str(item.get("code") or "").strip()
        error = str(item.get("error") or "").strip()
        smtp = " ".join(p for p in (code, error) if p)
        return SuppressionListing(
            address=str(item.get("address", "")).strip(),
            list_name=list_name,
            kind=kind,
            reason=f"{list_name}: {smtp}" if smtp else list_name,
            suppressed_at=parse_rfc2822(item.get("created_at")),
        )

    def _delete(self, list_name: str, address: str) -> None:
        response = self._http.request("DELETE", self._path(list_name, address), accept=(404,))
        if response.status_code == 404:
            self._not_listed_or_error(response)  # gone meanwhile is fine; a bad domain isn't

    def _path(self, list_name: str, address: str) -> str:
        return f"/v3/{path_segment(self.domain)}/{list_name}/{path_segment(address)}"

    def _records(self, address: str) -> list[SuppressionRecord]:
        if not self._has_key:
            raise AdapterError("MAILGUN_API_KEY is not set", transient=False)
        if not self.domain:
            raise AdapterError("MAILGUN_DOMAIN is not set", transient=False)
        records: list[SuppressionRecord] = []
        for list_name, kind, words in _LISTS:
            response = self._http.request("GET", self._path(list_name, address), accept=(404,))
            if response.status_code == 404:
                self._not_listed_or_error(response)
                continue
            records.append(self._record(address, self._http.json(response), list_name, kind, words))
        return records

    def _not_listed_or_error(self, response: requests.Response) -> None:
        # Mailgun answers 404 with a JSON message for "not on this list"; a 404 about the
        # domain, or one without JSON (a wrong URL), must not pass for "not suppressed".
        try:
            body = response.json()
        except ValueError:
            body = None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if not message:
            raise AdapterError(
                f"Mailgun answered 404 without explanation for {response.request.path_url}: "
                "check MAILGUN_API_URL and MAILGUN_DOMAIN",
                transient=False,
            )
        if "domain" in message.lower():
            raise AdapterError(
                f"Mailgun does not know the domain {self.domain!r} ({vendor_message(response)}): "
                "check MAILGUN_DOMAIN and the region of MAILGUN_API_URL",
                transient=False,
            )

    @staticmethod
    def _record(
        address: str, entry: dict[str, Any], list_name: str, kind: str, words: str
    ) -> SuppressionRecord:
        code = str(entry.get("code") or "").strip()
        error = str(entry.get("error") or "").strip()
        smtp = " ".join(p for p in (code, error) if p)
        return SuppressionRecord(
            address=str(entry.get("address") or address),
            kind=kind,
            listed_at=parse_rfc2822(entry.get("created_at")),
            reason=f"{words}: {smtp}" if smtp else words,
            status=find_status(error),
            bounce_text=smtp,
            # Mailgun lists only permanent failures as bounces.
            bounce_class=(BounceClass.COMPLAINT if kind == "complaint" else BounceClass.HARD).value,
            list_name=list_name,
        )
