"""Properties of the bounce webhooks: whatever an authenticated vendor posts, never a 5xx, and
nothing stored unless it is a valid event for an address. (Strategies: tests/test_properties.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from diagnostics.models import BounceEvent
from tests.test_properties import HOSTILE_TEXT, properties
from tests.tickets.webhooks.send import MAILGUN_SIGNING_KEY, WEBHOOK_SECRET, basic_auth
from tickets.addresses import parse_address_list

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE_TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)
# A number never drawn before: Hypothesis draws small numbers again and again, and an event
# sent again is rightly stored once, so new events need new ids and addresses.
_numbers = itertools.count(1)
FRESH = st.builds(lambda: next(_numbers))
RECIPIENTS = st.one_of(FRESH.map(lambda n: f"jane.{n}@ok.test"), HOSTILE_TEXT, JSON_VALUES)


def mutated(payload: dict, *, fresh: dict) -> st.SearchStrategy[dict]:
    """The vendor's own payload with fresh values in `fresh` and up to two fields spoilt."""
    return st.builds(
        lambda drawn, spoilt: {**payload, **drawn, **spoilt},
        st.fixed_dictionaries(fresh),
        st.dictionaries(st.sampled_from(sorted(payload)), JSON_VALUES, max_size=2),
    )


# Postmark's bounce webhook, as its docs show it (tests/tickets/test_webhooks.py).
POSTMARK_BOUNCES = mutated(
    {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "From": "notify@notify.example.org",
        "BouncedAt": "2026-11-20T16:02:30Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Your password",
    },
    fresh={
        "ID": st.one_of(FRESH, JSON_VALUES),
        "Email": RECIPIENTS,
        "Type": st.sampled_from(["HardBounce", "SoftBounce", "SpamComplaint", "Blocked"]),
    },
)
# Mailgun's "failed" event, as its docs show it (tests/tickets/webhooks/test_mailgun.py).
MAILGUN_EVENTS = mutated(
    {
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "timestamp": 1534110422.389832,
        "log-level": "error",
        "message": {"headers": {"to": "jane@ok.test", "message-id": "20180812214658.1@x"}},
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
    },
    fresh={
        "id": st.one_of(FRESH.map(str), JSON_VALUES),
        "recipient": RECIPIENTS,
        "event": st.sampled_from(["failed", "complained", "rejected", "unsubscribed"]),
    },
)
BODIES = st.one_of(
    st.binary(max_size=2000),
    HOSTILE_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),  # "\ud800" escapes included
)


# Signed as Mailgun signs: the signature is right whatever the event says.
SIGNED_MAILGUN = st.builds(
    lambda data, token: json.dumps({"signature": mailgun_signature(token), "event-data": data}),
    st.one_of(MAILGUN_EVENTS, JSON_VALUES),
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=50),
).map(str.encode)


@pytest.fixture
def webhooks(settings):
    settings.WEBHOOK_VENDORS = ["postmark", "mailgun"]
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


def postmark_hard_bounce(email: str) -> bytes:
    return json.dumps(
        {"RecordType": "Bounce", "Type": "HardBounce", "ID": 1, "Email": email}
    ).encode()


def mailgun_signature(token: str, timestamp: str = "1772445600") -> dict[str, str]:
    digest = hmac.new(MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {"timestamp": timestamp, "token": token, "signature": digest.hexdigest()}


def stored_only_if_accepted(response, before: int) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code != 200:
        assert BounceEvent.objects.count() == before, "a refused webhook stored an event"
    for stored in BounceEvent.objects.order_by("pk")[before:]:
        # Only an address a ticket could hold: parse_address_list's rules.
        addresses, problems = parse_address_list(stored.address)
        assert [a.address.lower() for a in addresses] == [stored.address.lower()], stored.address
        assert not problems, stored.address


@pytest.mark.django_db
def test_the_postmark_webhook_answers_anything_without_a_5xx(client, webhooks):
    url = "/anymail/postmark/tracking/"

    @properties(examples=80)
    @given(body=st.one_of(POSTMARK_BOUNCES.map(lambda p: json.dumps(p).encode()), BODIES))
    @example(body=postmark_hard_bounce("j@ok.test" * 100))  # longer than any address column
    @example(body=postmark_hard_bounce("\ud800@ok.test"))
    @example(body=postmark_hard_bounce("j\x00@ok.test"))
    @example(body=postmark_hard_bounce("nobody"))
    @example(body=postmark_hard_bounce("<b>@x"))
    def post_the_hook(body):
        before = BounceEvent.objects.count()
        response = client.post(url, body, content_type="application/json", **basic_auth())
        stored_only_if_accepted(response, before)
        unsigned = client.post(url, body, content_type="application/json")
        assert unsigned.status_code == 401

    post_the_hook()
    assert BounceEvent.objects.exists(), "no example was a bounce to store: the strategy drifted"
    assert not BounceEvent.objects.exclude(source="webhook:postmark").exists()


@pytest.mark.django_db
def test_the_mailgun_webhook_answers_anything_without_a_5xx(client, webhooks):
    url = "/anymail/mailgun/tracking/"

    @properties(examples=80)
    @given(
        # Twice as many signed events as other bodies: Hypothesis would draw mostly the latter.
        body=st.sampled_from([SIGNED_MAILGUN, SIGNED_MAILGUN, BODIES]).flatmap(
            lambda bodies: bodies
        )
    )
    @example(
        body=json.dumps(
            {
                "signature": mailgun_signature("t" * 50),
                "event-data": {"event": "failed", "recipient": "j@ok.test" * 100},
            }
        ).encode()
    )
    def post_the_hook(body):
        before = BounceEvent.objects.count()
        # Signed, and with basic auth too: anymail asks for it whenever WEBHOOK_SECRET is set.
        response = client.post(url, body, content_type="application/json", **basic_auth())
        stored_only_if_accepted(response, before)
        try:
            signed = isinstance(json.loads(body).get("signature"), dict)
        except (ValueError, AttributeError):
            signed = False
        if not signed:
            assert response.status_code in (400, 403), response.status_code

    post_the_hook()
    assert BounceEvent.objects.exists(), "no example was an event to store: the strategy drifted"
