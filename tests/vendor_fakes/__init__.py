"""Local stand-ins for the mail vendors' suppression APIs, each a real HTTP server on 127.0.0.1.

Every fake answers in its vendor's documented shapes (paths, auth, JSON bodies, error bodies and
headers), records each request it receives, and can be switched to misbehave:

    fake.mode = "rate_limited"   # 429 with the vendor's rate-limit headers
    fake.mode = "server_error"   # 500
    fake.mode = "garbage"        # 200 with an HTML page instead of JSON
    fake.mode = "not_found_page" # 404 with an HTML page (a wrong base URL, a proxy)
    fake.delay = 2.0             # answer late (for timeouts)
    fake.quiet_failure = True    # DELETE / activate answer success but change nothing

Wrong credentials get the vendor's 401 (403 for SES). Fixtures: `postmark_fake`, `ses_fake`,
`sendgrid_fake`, `mailgun_fake`, and `closed_port_url` (a URL nothing listens on).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.vendor_fakes.common import (
    MAILGUN_DOMAIN,
    MAILGUN_KEY,
    POSTMARK_TOKEN,
    RETRY_AFTER,
    SENDGRID_KEY,
    SES_ACCESS_KEY,
    SES_SECRET_KEY,
    FakeVendor,
    ReceivedRequest,
)
from tests.vendor_fakes.mailgun import FakeMailgun
from tests.vendor_fakes.postmark import FakePostmark
from tests.vendor_fakes.sendgrid import FakeSendGrid
from tests.vendor_fakes.ses import FakeSes


@pytest.fixture
def postmark_fake() -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        yield fake


@pytest.fixture
def ses_fake() -> Iterator[FakeSes]:
    with FakeSes() as fake:
        yield fake


@pytest.fixture
def sendgrid_fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def mailgun_fake() -> Iterator[FakeMailgun]:
    with FakeMailgun() as fake:
        yield fake


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


__all__ = [
    "MAILGUN_DOMAIN",
    "MAILGUN_KEY",
    "POSTMARK_TOKEN",
    "RETRY_AFTER",
    "SENDGRID_KEY",
    "SES_ACCESS_KEY",
    "SES_SECRET_KEY",
    "FakeMailgun",
    "FakePostmark",
    "FakeSendGrid",
    "FakeSes",
    "FakeVendor",
    "ReceivedRequest",
    "closed_port_url",
    "mailgun_fake",
    "postmark_fake",
    "sendgrid_fake",
    "ses_fake",
]
