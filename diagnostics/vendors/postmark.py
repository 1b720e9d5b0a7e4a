"""Postmark: the message stream's suppression list, the bounces behind it, and reactivation.

Look-up reads the stream's suppressions dump and the address's inactive bounces; reactivation
activates the newest activatable bounce (or deletes a suppression that has no bounce left);
spam complaints cannot be lifted through Postmark's API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from diagnostics.smtp_codes import find_status
from diagnostics.types import BounceClass
from diagnostics.vendors.base import (
    DEFAULT_TIMEOUT,
    AdapterError,
    DeliveryEvent,
    SuppressionFinding,
    SuppressionListing,
    SuppressionPage,
)
from diagnostics.vendors.common import (
    SuppressionRecord,
    class_from_status,
    confirm_reactivated,
    events_from_records,
    finding_from_records,
    guarded,
    guarded_pages,
    parse_iso,
    path_segment,
    same_address,
    trimmed_address,
)
from diagnostics.vendors.http import HeaderAuth, VendorHttp

DEFAULT_API_URL = "https://api.postmarkapp.com"
DEFAULT_MESSAGE_STREAM = "outbound"

# Postmark allows 500 bounces a page and count + offset up to 10,000.
_PAGE = 500
_MAX_OFFSET = 10_000

# The suppressions dump has no offset or cursor, only a date range (fromdate/todate, whole
# days). An answer this long may have been cut short, so its range is asked again in halves.
DUMP_PAGE = 500
# Postmark began in 2010: no suppression is older.
DUMP_EARLIEST = date(2010, 1, 1)

# Postmark's bounce types as bounce classes.
_BOUNCE_CLASS = {
    "HardBounce": BounceClass.HARD.value,
    "BadEmailAddress": BounceClass.HARD.value,
    "SoftBounce": BounceClass.SOFT.value,
    "Transient": BounceClass.SOFT.value,
    "DnsError": BounceClass.SOFT.value,
    "AutoResponder": BounceClass.SOFT.value,
    "SpamNotification": BounceClass.SPAM_BLOCK.value,
    "Blocked": BounceClass.POLICY_BLOCK.value,
    "DMARCPolicy": BounceClass.POLICY_BLOCK.value,
    "SpamComplaint": BounceClass.COMPLAINT.value,
}

_SUPPRESSION_KIND = {
    "HardBounce": "bounce",
    "SpamComplaint": "complaint",
    "ManualSuppression": "manual",
}

_SUPPRESSION_WORDS = {
    "HardBounce": "hard bounce",
    "SpamComplaint": "spam complaint",
    "ManualSuppression": "suppressed by hand",
}


class PostmarkAdapter:
    """One Postmark server's message stream, reached with its server API token."""

    name = "postmark"
    label = "Postmark"
    can_lookup = True
    can_reactivate = True

    def __init__(
        self,
        *,
        server_token: str,
        api_url: str = DEFAULT_API_URL,
        message_stream: str = DEFAULT_MESSAGE_STREAM,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.message_stream = message_stream or DEFAULT_MESSAGE_STREAM
        self._has_token = bool(server_token)
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._http = VendorHttp(
            label=self.label,
            base_url=self.api_url,
            timeout=timeout,
            auth=HeaderAuth(header="X-Postmark-Server-Token", value=server_token),
            credentials_hint="POSTMARK_SERVER_TOKEN (the sending server's API token)",
            session=session,
        )
        # What reactivate() saw before lifting a suppression, so events_since() can still
        # describe a deactivation whose suppression entry is gone by then.
        self._before: dict[str, list[SuppressionRecord]] = {}

    @guarded
    def lookup(self, address: str) -> SuppressionFinding:
        """Suppressed when the stream's suppression list or an inactive bounce holds the address."""
        address = trimmed_address(address)
        suppressions, inactive = self._listed(address)
        return self._finding(address, self._records(address, suppressions, inactive))

    @guarded
    def reactivate(self, address: str) -> SuppressionFinding:
        """Activate the newest activatable bounce (or delete the suppression), then confirm it."""
        address = trimmed_address(address)
        suppressions, inactive = self._listed(address)
        records = self._records(address, suppressions, inactive)
        if not records:
            return self._finding(address, records)
        self._before[address.casefold()] = records
        if any(r.kind == "complaint" for r in records):
            raise AdapterError(
                f"{address} is suppressed because its recipient marked a message as spam; "
                "Postmark does not allow reactivating spam complaints through its API "
                "(only Postmark support can lift one)",
                transient=False,
            )
        activatable = [b for b in inactive if b.get("CanActivate")]
        if activatable:
            self._http.request("PUT", f"/bounces/{int(activatable[0]['ID'])}/activate")
            suppressions, inactive = self._listed(address)
        elif not suppressions:
            raise AdapterError(
                f"Postmark says bounce {inactive[0].get('ID')} ({inactive[0].get('Type')}) of "
                f"{address} cannot be activated",
                transient=False,
            )
        deleted = False
        if suppressions:
            # A manual suppression, or one whose bounce has aged out, has no bounce to activate.
            self._delete_suppression(address)
            deleted = True
        after_suppressions, after_inactive = self._listed(address)
        after = self._finding(address, self._records(address, after_suppressions, after_inactive))
        return confirm_reactivated(
            label=self.label,
            after=after,
            # Postmark applies suppression deletions asynchronously: a later look may see it gone.
            transient=deleted,
            hint="Postmark applies suppression deletions within a minute or so; look it up again"
            if deleted
            else "ask Postmark support why the activated bounce did not take",
        )

    @guarded
    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        """Every bounce and complaint Postmark kept for the address from `since`, oldest first."""
        address = trimmed_address(address)
        self._require_token()
        # Postmark reads fromdate as a date in US Eastern time: ask a day early, filter exactly.
        fromdate = (since - timedelta(days=1)).date().isoformat()
        bounces = self._bounces(address, inactive=None, fromdate=fromdate)
        events = [
            event
            for event in (self._event(bounce) for bounce in bounces)
            if event is not None and event.occurred_at >= since
        ]
        if events:
            return sorted(events, key=lambda e: e.occurred_at)
        # Bounces are kept for 45 days by default; the suppression entry may outlive them.
        records = self._before.get(address.casefold())
        if records is None:
            suppressions, inactive = self._listed(address)
            records = self._records(address, suppressions, inactive)
        return events_from_records(records, since=since, source=self.name)

    @guarded_pages
    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """The stream's whole suppression list, one date range of the dump at a time.

        The cursor is the stack of date ranges still to read; a range whose answer may have
        been cut short (DUMP_PAGE entries or more) is split in two and read again.
        """
        self._require_token()
        if cursor is None:
            today = datetime.now(tz=UTC).date() + timedelta(days=1)  # Postmark's clock may lead
            ranges = [[DUMP_EARLIEST.isoformat(), today.isoformat()]]
        else:
            ranges = [list(r) for r in cursor.get("ranges", [])]
        while ranges:
            start, end = ranges.pop()
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            entries = self._dump_range(first, last)
            if len(entries) >= DUMP_PAGE and first < last:
                middle = first + (last - first) // 2
                # The older half is read after the newer one (a stack: newer on top).
                ranges.append([start, middle.isoformat()])
                ranges.append([(middle + timedelta(days=1)).isoformat(), end])
                # Nothing to keep yet, but where to go on from: a resume asks no range twice.
                yield SuppressionPage(entries=[], cursor={"ranges": ranges})
                continue
            yield SuppressionPage(
                entries=[self._listing(e) for e in entries],
                cursor={"ranges": ranges} if ranges else None,
            )

    def _dump_range(self, first: date, last: date) -> list[dict[str, Any]]:
        response = self._http.request(
            "GET",
            f"/message-streams/{path_segment(self.message_stream)}/suppressions/dump",
            params={"fromdate": first.isoformat(), "todate": last.isoformat()},
        )
        return list(self._http.json(response).get("Suppressions") or [])

    def _listing(self, entry: dict[str, Any]) -> SuppressionListing:
        reason = str(entry.get("SuppressionReason") or "")
        return SuppressionListing(
            address=str(entry.get("EmailAddress", "")).strip(),
            list_name=reason or "suppressions",
            kind=_SUPPRESSION_KIND.get(reason, "manual"),
            reason=self._suppression_reason(entry),
            suppressed_at=parse_iso(entry.get("CreatedAt")),
        )

    # -- Postmark's API --------------------------------------------------------------------

    def _require_token(self) -> None:
        if not self._has_token:
            raise AdapterError("POSTMARK_SERVER_TOKEN is not set", transient=False)

    def _listed(self, address: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        self._require_token()
        return self._suppressions(address), self._bounces(address, inactive=True)

    def _suppressions(self, address: str) -> list[dict[str, Any]]:
        response = self._http.request(
            "GET",
            f"/message-streams/{path_segment(self.message_stream)}/suppressions/dump",
            params={"EmailAddress": address},
        )
        entries = self._http.json(response).get("Suppressions") or []
        return [e for e in entries if same_address(str(e.get("EmailAddress", "")), address)]

    def _bounces(
        self, address: str, *, inactive: bool | None, fromdate: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "count": _PAGE,
            "offset": 0,
            "emailFilter": address,
            "messagestream": self.message_stream,
        }
        if inactive is not None:
            params["inactive"] = "true" if inactive else "false"
        if fromdate:
            params["fromdate"] = fromdate
        found: list[dict[str, Any]] = []
        while params["offset"] + _PAGE <= _MAX_OFFSET:
            body = self._http.json(self._http.request("GET", "/bounces", params=params))
            page = body.get("Bounces") or []
            # emailFilter matches parts of addresses too: keep only this mailbox.
            found.extend(b for b in page if same_address(str(b.get("Email", "")), address))
            params["offset"] += len(page)
            if not page or params["offset"] >= int(body.get("TotalCount") or 0):
                break
        return sorted(found, key=lambda b: parse_iso(b.get("BouncedAt")) or _EPOCH, reverse=True)

    def _bounce_text(self, bounce: dict[str, Any]) -> str:
        details = str(bounce.get("Details") or "")
        if not bounce.get("DumpAvailable"):
            return details
        response = self._http.request(
            "GET", f"/bounces/{int(bounce['ID'])}/dump", accept=(404, 422)
        )
        if response.status_code != 200:
            return details  # the raw message is gone; Postmark's summary still says why
        return str(self._http.json(response).get("Body") or "") or details

    def _delete_suppression(self, address: str) -> None:
        response = self._http.request(
            "POST",
            f"/message-streams/{path_segment(self.message_stream)}/suppressions/delete",
            json={"Suppressions": [{"EmailAddress": address}]},
        )
        for result in self._http.json(response).get("Suppressions") or []:
            if str(result.get("Status", "")).lower() == "failed":
                raise AdapterError(
                    f"Postmark refused to delete the suppression of {address}: "
                    f"{result.get('Message') or 'no reason given'}",
                    transient=False,
                )

    # -- Postmark's shapes in ours ---------------------------------------------------------

    def _records(
        self,
        address: str,
        suppressions: list[dict[str, Any]],
        inactive: list[dict[str, Any]],
    ) -> list[SuppressionRecord]:
        newest_bounce = inactive[0] if inactive else None
        bounce_text = self._bounce_text(newest_bounce) if newest_bounce else ""
        status = find_status(str(newest_bounce.get("Details", ""))) if newest_bounce else ""
        records = [
            SuppressionRecord(
                address=address,
                kind=_SUPPRESSION_KIND.get(str(entry.get("SuppressionReason")), "manual"),
                listed_at=parse_iso(entry.get("CreatedAt")),
                reason=self._suppression_reason(entry),
                status=status if entry.get("SuppressionReason") == "HardBounce" else "",
                bounce_text=bounce_text,
                bounce_class=_BOUNCE_CLASS.get(str(entry.get("SuppressionReason")), ""),
                list_name="suppressions",
            )
            for entry in suppressions
        ]
        if records or newest_bounce is None:
            return records
        # An inactive bounce without a suppression entry still means Postmark won't send.
        bounce_type = str(newest_bounce.get("Type", ""))
        return [
            SuppressionRecord(
                address=address,
                kind="complaint" if bounce_type == "SpamComplaint" else "bounce",
                listed_at=parse_iso(newest_bounce.get("BouncedAt")),
                reason=str(newest_bounce.get("Name") or bounce_type or "inactive bounce"),
                status=status,
                bounce_text=bounce_text,
                bounce_class=_BOUNCE_CLASS.get(bounce_type, class_from_status(status)),
                list_name="bounces",
            )
        ]

    @staticmethod
    def _suppression_reason(entry: dict[str, Any]) -> str:
        reason = str(entry.get("SuppressionReason") or "")
        words = _SUPPRESSION_WORDS.get(reason, reason or "suppressed")
        origin = entry.get("Origin")
        return f"{words} (origin: {origin})" if origin else words

    def _finding(self, address: str, records: list[SuppressionRecord]) -> SuppressionFinding:
        return finding_from_records(records, address=address, source=self.name)

    def _event(self, bounce: dict[str, Any]) -> DeliveryEvent | None:
        occurred_at = parse_iso(bounce.get("BouncedAt"))
        if occurred_at is None:
            return None
        bounce_type = str(bounce.get("Type", ""))
        details = str(bounce.get("Details") or "")
        status = find_status(details)
        complaint = bounce_type == "SpamComplaint"
        return DeliveryEvent(
            address=str(bounce.get("Email", "")),
            occurred_at=occurred_at,
            kind="complaint" if complaint else "bounce",
            bounce_class=_BOUNCE_CLASS.get(bounce_type, class_from_status(status)),
            status=status,
            reason=str(bounce.get("Description") or bounce.get("Name") or bounce_type),
            diagnostic=details,
            source=self.name,
        )


_EPOCH = parse_iso("1970-01-01T00:00:00Z")
