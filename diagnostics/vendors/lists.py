"""Look-up, reactivation and events for vendors that keep one suppression list per reason.

SendGrid (bounces, invalid emails, spam reports, global unsubscribes) and Mailgun (bounces,
complaints) each answer "is this address on list X" per list and delete it per list; only how a
list is read and how an entry is deleted differ, and each adapter says that in `_records` and
`_delete` (and, when some list must not be lifted by a reactivation, in `_refuse_reactivation`).
"""

from __future__ import annotations

from datetime import datetime

from diagnostics.vendors.base import DeliveryEvent, SuppressionFinding
from diagnostics.vendors.common import (
    SuppressionRecord,
    confirm_reactivated,
    events_from_records,
    finding_from_records,
    guarded,
    trimmed_address,
)


class SuppressionListsAdapter:
    """A SuppressionAdapter over a vendor's separate suppression lists (see the module doc)."""

    name: str
    label: str
    can_lookup = True
    can_reactivate = True

    def __init__(self) -> None:
        # What reactivate() saw before deleting, so events_since() can still describe a
        # deactivation whose list entries are gone by then. Keyed by the case-folded address.
        self._before: dict[str, list[SuppressionRecord]] = {}

    @guarded
    def lookup(self, address: str) -> SuppressionFinding:
        """Suppressed when any of the vendor's lists holds the address."""
        address = trimmed_address(address)
        return finding_from_records(self._records(address), address=address, source=self.name)

    @guarded
    def reactivate(self, address: str) -> SuppressionFinding:
        """Delete the address from each list that holds it, then look it up again to confirm."""
        address = trimmed_address(address)
        records = self._records(address)
        if not records:
            return finding_from_records(records, address=address, source=self.name)
        self._before[address.casefold()] = records
        self._refuse_reactivation(address, records)  # before anything is deleted
        for list_name in dict.fromkeys(r.list_name for r in records):
            self._delete(list_name, address)
        after = finding_from_records(self._records(address), address=address, source=self.name)
        return confirm_reactivated(
            label=self.label, after=after, hint=f"check the address in {self.label}'s console"
        )

    @guarded
    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        """The list entries created at or after `since`, as events, oldest first."""
        address = trimmed_address(address)
        # After a reactivation the entries are gone: what reactivate() saw is all there was.
        records = self._records(address) or self._before.get(address.casefold(), [])
        return events_from_records(records, since=since, source=self.name)

    def _records(self, address: str) -> list[SuppressionRecord]:
        """Every entry for `address` on the vendor's lists; raises AdapterError."""
        raise NotImplementedError

    def _delete(self, list_name: str, address: str) -> None:
        """Remove `address` from one list; already gone counts as done. Raises AdapterError."""
        raise NotImplementedError

    def _refuse_reactivation(self, address: str, records: list[SuppressionRecord]) -> None:
        """Raise AdapterError when a reactivation must not lift these entries; nothing here."""
