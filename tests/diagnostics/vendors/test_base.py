"""The vendor interface: its values, its errors, the manual adapter, and a light import."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diagnostics.vendors.base import (
    AdapterError,
    DeliveryEvent,
    ManualAdapter,
    ReactivationNotSupported,
    SuppressionAdapter,
    SuppressionFinding,
    VendorRateLimited,
)

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
ADDRESS = "pat@agency.test"
ROOT = Path(__file__).resolve().parents[3]


RECORDED = SuppressionFinding(
    address=ADDRESS, state="suppressed", suppressed_at=NOW, reason="hard bounce", source="manual"
)


# --- the manual adapter ----------------------------------------------------------------------


def test_manual_adapter_meets_the_adapter_interface():
    assert isinstance(ManualAdapter({}), SuppressionAdapter)


def test_manual_adapter_returns_the_recorded_finding_whatever_the_case():
    finding = RECORDED
    adapter = ManualAdapter({ADDRESS: finding})

    assert adapter.lookup(ADDRESS) is finding
    assert adapter.lookup("Pat@Agency.TEST") is finding


def test_manual_adapter_says_unknown_for_an_address_nobody_recorded():
    finding = ManualAdapter({}).lookup("new@agency.test")

    assert (finding.address, finding.state, finding.source) == (
        "new@agency.test",
        "unknown",
        "manual",
    )


def test_manual_adapter_cannot_reactivate_and_says_where_to_do_it():
    adapter = ManualAdapter({ADDRESS: RECORDED})

    assert (adapter.can_lookup, adapter.can_reactivate) == (False, False)
    with pytest.raises(ReactivationNotSupported, match="vendor's console") as raised:
        adapter.reactivate(ADDRESS)
    assert isinstance(raised.value, AdapterError)
    assert raised.value.transient is False
    assert adapter.events_since(ADDRESS, NOW - timedelta(days=30)) == []


def test_a_finding_with_an_unknown_state_is_refused():
    with pytest.raises(ValueError, match="state must be one of"):
        SuppressionFinding(address=ADDRESS, state="deactivated")  # type: ignore[arg-type]


# --- errors ----------------------------------------------------------------------------------


def test_adapter_error_is_permanent_with_no_wait_unless_told():
    error = AdapterError("credentials refused")

    assert (str(error), error.transient, error.retry_after) == ("credentials refused", False, None)


def test_adapter_error_carries_transient_and_retry_after_for_the_task_that_retries():
    error = AdapterError("busy", transient=True, retry_after=12.5)

    assert (error.transient, error.retry_after) == (True, 12.5)


def test_rate_limit_is_a_transient_adapter_error_with_its_wait():
    error = VendorRateLimited("slow down", retry_after=30)

    assert isinstance(error, AdapterError)
    assert (error.transient, error.retry_after) == (True, 30)
    assert VendorRateLimited("slow down").retry_after is None


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "bounce_class", "counts_as"),
    [
        ("complaint", "", "complaint"),
        ("delivered", "", "delivered"),
        ("bounce", "", "unknown"),
        ("bounce", "spam_block", "spam_block"),
        ("deferred", "", "soft"),
    ],
)
def test_an_event_counts_as_its_kind_or_class(kind, bounce_class, counts_as):
    event = DeliveryEvent(ADDRESS, NOW, kind, bounce_class=bounce_class)

    assert event.effective_class == counts_as
    assert type(event.effective_class) is str  # stored and compared as plain text
    assert event.as_dict()["bounce_class"] == counts_as


# --- a light import --------------------------------------------------------------------------


def test_the_interface_imports_no_vendor_client_library():
    # In a fresh interpreter: this one has imported requests and boto3 long ago.
    code = (
        "import sys, diagnostics.vendors.base; "
        "print(sorted(m for m in ('requests', 'boto3', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
