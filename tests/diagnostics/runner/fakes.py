"""What runner tests hand `run_checks` instead of the real verdict, SMTP checks and cache."""

from __future__ import annotations

from collections.abc import Sequence

from diagnostics.runner import RunReport, run_checks
from diagnostics.types import Cause, CheckResult, Outcome, Owner, Verdict


def run(addresses, *, resolver, sender, **kwargs) -> RunReport:
    """`run_checks` with test domains allowed (the crafted zones are all under .test)."""
    kwargs.setdefault("allow_test_domains", True)
    return run_checks(addresses, resolver=resolver, sender=sender, **kwargs)


def passed(check: str, subject: str) -> CheckResult:
    return CheckResult(check, subject, Outcome.PASS, f"{check} ok", {})


class RecordingVerdicts:
    """A verdict rule that records what the runner hands it and always finds nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[CheckResult]]] = []

    def __call__(self, address: str, results: Sequence[CheckResult]) -> Verdict:
        self.calls.append((address, list(results)))
        return Verdict(Cause.NONE_FOUND, "low", f"{len(results)} results", Owner.NATIONAL)


class FakeCache:
    """The part of Django's cache API the runner uses, with the TTLs it was given."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.ttls: dict[str, int] = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout=None):
        self.data[key] = value
        self.ttls[key] = timeout


class BrokenCache:
    """A cache whose server is down."""

    def get(self, key, default=None):
        raise ConnectionError("cache down")

    def set(self, key, value, timeout=None):
        raise ConnectionError("cache down")
