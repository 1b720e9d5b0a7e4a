"""Screenshots kept as test artifacts: test-artifacts/screenshots/ (TEST_ARTIFACTS_DIR to move)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"phone": (390, 844), "laptop": (1280, 800)}


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot and return its path."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def page_overflows(page) -> bool:
    """True when the page is wider than its viewport (something forces a horizontal scroll)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )
