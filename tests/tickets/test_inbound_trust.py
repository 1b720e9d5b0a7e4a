"""Who a message vouches for: DKIM alignment through the Public Suffix List, and a rate limit
that a forger writing in someone's name cannot turn against her."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import file_ticket
from tests.tickets.inbound_mail import REPLY_DOMAIN, DkimKey, comments, message, thread_reply
from tickets import services
from tickets.inbound.trust import aligned
from tickets.models import InboundOutcome, InboundTrust
from tickets.reply_tokens import reply_address

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    settings.INBOUND_RATE_LIMIT = 3
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(nora):
    return file_ticket(nora, "jane.roe@agency.northland.test")


@pytest.mark.parametrize(
    ("signing_domain", "from_domain", "expected"),
    [
        ("northland.test", "northland.test", True),
        ("northland.test", "it.northland.test", True),  # a parent
        ("mail.northland.test", "northland.test", True),  # same organisational domain
        ("mail.northland.test", "it.northland.test", True),
        ("example.co.uk", "agency.example.co.uk", True),
        ("co.uk", "agency.example.co.uk", False),  # a public suffix vouches for nobody
        ("other.co.uk", "example.co.uk", False),  # neighbours under a suffix
        ("github.io", "someone.github.io", False),  # a private suffix on the list
        ("mallory.github.io", "someone.github.io", False),
        ("test", "northland.test", False),
        ("com", "com", False),
        ("attacker.test", "northland.test", False),
        ("", "northland.test", False),
    ],
)
def test_dkim_alignment_follows_the_public_suffix_list(signing_domain, from_domain, expected):
    assert aligned(signing_domain, from_domain) is expected


def test_a_signature_of_a_public_suffix_vouches_for_nobody(dns_server, nora, ticket):
    key = DkimKey(dns_server, "test")  # a valid signature, by whoever holds `test`'s key
    inbound = services.inbound_receive(
        raw=key.sign(thread_reply(ticket, nora.email, "Close it.")), source="x"
    )
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "DKIM signature of test, not the From's domain" in inbound.reason
    assert comments(ticket) == []


def test_a_signature_of_a_sibling_under_the_same_organisation_vouches(dns_server, nora, ticket):
    key = DkimKey(dns_server, "mail.northland.test")  # the organisation's outbound service
    inbound = services.inbound_receive(
        raw=key.sign(thread_reply(ticket, nora.email, "Checked.")), source="x"
    )
    assert inbound.trust == InboundTrust.DKIM, inbound.reason
    assert inbound.outcome == InboundOutcome.COMMENTED
    assert comments(ticket) == ["Checked."]


def test_forgeries_in_her_name_never_push_her_own_mail_into_moderation(nora, ticket):
    forged = [
        services.inbound_receive(raw=thread_reply(ticket, nora.email, f"Forged {n}."), source="x")
        for n in range(5)
    ]
    assert {f.outcome for f in forged} == {InboundOutcome.MODERATION}
    assert "sent more than 3 messages" in forged[-1].reason  # the From's own counter is full
    address = reply_address(ticket_id=ticket.pk, user_id=nora.pk)
    own = services.inbound_receive(
        raw=message(sender=nora.email, to=address, text="My own words."), source="x"
    )
    assert own.outcome == InboundOutcome.COMMENTED, own.reason
    assert comments(ticket) == ["My own words."]


def test_her_own_storm_is_still_limited_per_person(nora, ticket):
    address = reply_address(ticket_id=ticket.pk, user_id=nora.pk)
    outcomes = [
        services.inbound_receive(
            raw=message(sender=f"Nora <{nora.email}>", to=address, text=f"Note {n}."), source="x"
        ).outcome
        for n in range(5)
    ]
    assert outcomes == [InboundOutcome.COMMENTED] * 3 + [InboundOutcome.MODERATION] * 2
    # Her vouched messages count for her, not for the From: a forger may still write 3.
    forged = services.inbound_receive(raw=thread_reply(ticket, nora.email, "Forged."), source="x")
    assert "sent more than" not in forged.reason
