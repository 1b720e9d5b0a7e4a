"""The content check on Sender health: national staff score our mail and a sample; no one else."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from diagnostics.content import CONTENT_KEY, PENDING_KEY, SAMPLE_KEY
from tests.conftest import service_missing
from tests.factories import PASSWORD
from tests.servers.spamd import SpamdProcess, free_tcp_port, spamd_installed

pytestmark = pytest.mark.django_db

SPAMMY = b"From: alerts@sender.test\r\nTo: user@example.org\r\nSubject: ACT NOW FREE MONEY\r\n\r\n"


@pytest.fixture(scope="module")
def spamd():
    if not spamd_installed():
        service_missing("spamd is not installed (Debian package spamd; scripts/test-services)")
    with SpamdProcess() as process:
        yield process


@pytest.fixture(autouse=True)
def _forget_scores():
    """The scores live in the cache, which outlives a test: start and end without them."""
    keys = (CONTENT_KEY, PENDING_KEY, SAMPLE_KEY)
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def upload(name: str, raw: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw, content_type="message/rfc822")


def test_sender_health_loads_the_content_panel(client, people):
    page = login(client, people["national"]).get(reverse("tickets:sender_health"))

    assert reverse("tickets:content_check") in page.content.decode()
    panel = client.get(reverse("tickets:content_check")).content.decode()
    assert "has not been scored yet" in panel


@pytest.mark.parametrize("role", ["state_admin", "liaison"])
def test_only_national_staff_may_see_or_score(client, people, role):
    login(client, people[role])
    url = reverse("tickets:content_check")

    assert client.get(url).status_code == 403
    assert client.post(url, {"sample": upload("x.eml", SPAMMY)}).status_code == 403
    assert cache.get(SAMPLE_KEY) is None


def test_an_uploaded_sample_and_our_templates_are_scored_by_a_task(
    client, people, settings, spamd, django_capture_on_commit_callbacks
):
    settings.CONTENT_SPAMD_HOST, settings.CONTENT_SPAMD_PORT = spamd.server.host, spamd.port
    login(client, people["national"])
    url = reverse("tickets:content_check")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url, {"sample": upload("offer.eml", SPAMMY)})
    assert response.status_code == 302
    assert "Scoring our mail now" in client.get(url).content.decode()  # queued: polled
    for callback in queued:
        callback()  # the worker's turn (eager here)

    panel = client.get(url).content.decode()
    assert "Scoring our mail now" not in panel
    for name in ("Event", "Probe", "Recurrence", "Uploaded sample (offer.eml)"):
        assert name in panel
    assert "MISSING_DATE" in panel and "Missing Date: header" in panel  # spamd's own words
    assert "which add a Date header" in panel  # our hint
    assert "may take our mail for spam" in panel  # the sample is spam: the check fails


def test_spamd_not_answering_shows_inconclusive_with_the_reason(
    client, people, settings, django_capture_on_commit_callbacks
):
    settings.CONTENT_SPAMD_PORT = free_tcp_port()
    login(client, people["national"])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("tickets:content_check"))
    panel = client.get(reverse("tickets:content_check")).content.decode()

    assert "inconclusive" in panel
    assert "could not be scored" in panel and "is not answering" in panel


def test_a_file_that_is_not_a_message_is_refused_with_a_reason(client, people):
    login(client, people["national"])

    response = client.post(
        reverse("tickets:content_check"),
        {"sample": upload("notes.txt", b"just some words")},
        follow=True,
    )

    assert "Sample not scored: This is not a mail message" in response.content.decode()
    assert cache.get(SAMPLE_KEY) is None and cache.get(PENDING_KEY) is None
