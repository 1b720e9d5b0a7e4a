"""Fixtures for the runner tests (the resolver and sender come from tests/diagnostics)."""

from __future__ import annotations

import pytest

from tests.diagnostics.runner.fakes import RecordingVerdicts


@pytest.fixture
def verdicts() -> RecordingVerdicts:
    """A verdict rule to pass as `verdict=`: records every call, always finds nothing."""
    return RecordingVerdicts()
