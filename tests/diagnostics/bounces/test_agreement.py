"""Agreement with the reference's labels per part of split.json; defects seen on unseen data.

See docs/bounces.md for the parts and the figures."""

from __future__ import annotations

import hashlib

import pytest

from diagnostics.bounces import (
    BOUNCE_CLASSES,
    REASONS,
    parse_bounce,
)
from diagnostics.bounces.agreement import (
    load_labels,
    load_named,
    measure,
    named_recipients_exact,
)
from tests.diagnostics.bounces.helpers import (
    FIXTURES,
    FLOORS,
    NAMED_FLOORS,
    PARTS,
    SPLIT,
    dsn,
    notice,
    only,
)


def test_every_fixture_parses_and_the_non_bounce_gives_nothing():
    for path in sorted(FIXTURES.glob("**/*.eml")):
        entries = parse_bounce(path.read_bytes())
        for entry in entries:
            assert entry.reason in REASONS, (path.name, entry)
            assert entry.bounce_class in BOUNCE_CLASSES, (path.name, entry)
            assert entry.recipient == entry.recipient.strip("<>'\" ."), (path.name, entry)
    assert parse_bounce((FIXTURES / "is-not-bounce-02.eml").read_bytes()) == []


def test_split_follows_its_rule_and_covers_every_file():
    def held_out(name: str) -> bool:
        return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100 < 30

    names = sorted(path.name for path in FIXTURES.glob("*.eml"))
    assert SPLIT["heldout"] == [name for name in names if held_out(name)]
    assert SPLIT["tune"] == [name for name in names if not held_out(name)]
    assert SPLIT["mta"] == sorted(path.name for path in (FIXTURES / "mta").glob("*.eml"))
    assert SPLIT["extra"] == sorted(path.name for path in (FIXTURES / "extra").glob("*.eml"))
    assert SPLIT["fresh"] == sorted(path.name for path in (FIXTURES / "fresh").glob("*.eml"))
    assert SPLIT["mta-fresh"] == sorted(
        path.name for path in (FIXTURES / "mta-fresh").glob("*.eml")
    )
    fresh_sources = (FIXTURES / "fresh" / "SOURCES.tsv").read_text().splitlines()[1:]
    assert sorted(line.split("\t")[0] for line in fresh_sources) == SPLIT["fresh"]
    for part in ("third", "mta-third", "fourth", "mta-fourth", "fifth", "sixth"):
        assert SPLIT[part] == sorted(path.name for path in (FIXTURES / part).glob("*.eml"))
    for part in ("third", "fourth", "fifth", "sixth"):
        sources = (FIXTURES / part / "SOURCES.tsv").read_text().splitlines()[1:]
        assert sorted(line.split("\t")[0] for line in sources) == SPLIT[part]


@pytest.mark.parametrize("part", list(PARTS))
def test_agreement_with_the_reference_labels_per_part(part):
    directory, label_file = PARTS[part]
    agreement = measure(directory, SPLIT[part], load_labels(directory / label_file))

    print(f"\n{part}: {agreement.files} files, {agreement.summary()}")
    reason_floor, permanence_floor, recipients_floor = FLOORS[part]
    assert agreement.reason_rate >= reason_floor
    assert agreement.permanence_rate >= permanence_floor
    assert agreement.recipients_rate >= recipients_floor


@pytest.mark.parametrize("part", list(NAMED_FLOORS))
def test_recipients_agree_with_those_the_message_names(part):
    directory, label_file = PARTS[part]
    labels = load_labels(directory / label_file)
    named = load_named(directory / "named.jsonl")

    exact, scored, differing = named_recipients_exact(directory, SPLIT[part], labels, named)

    print(f"\n{part}: recipients exact against the message's own {exact}/{scored}, {differing}")
    assert scored >= len(SPLIT[part]) - 3  # only files naming nobody that the reference skips
    assert exact / scored >= NAMED_FLOORS[part]


# --- The defects seen on real bounces the reader had never seen -------------------------------


def test_recipient_labels_and_quotes_are_not_part_of_the_address():
    entries = parse_bounce(
        dsn(
            ("SMTP=jo@example.net", "5.1.1", "550 5.1.1 User unknown"),
            ("'al@example.net'", "5.1.1", "550 5.1.1 User unknown"),
            ("<bo@example.net>.", "5.2.2", "552 5.2.2 Mailbox full"),
        )
    )

    assert [entry.recipient for entry in entries] == [
        "jo@example.net",
        "al@example.net",
        "bo@example.net",
    ]


def test_a_queue_lifetime_that_ran_out_is_expired():
    body = """\
This is the mail system at host mail.example.org.

<jo@example.net>: Could not deliver for the last 432000 seconds. Giving up.
"""
    entry = only(notice(body))

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@example.net",
        "expired",
        False,
    )


def test_a_phrase_inside_a_local_part_decides_nothing():
    body = """\
This is the mail system at host mail.example.org.

<virusdetected@example.net>: host mx.example.net[192.0.2.7] said: 552 5.2.2
    <virusdetected@example.net>: Mailbox full, quota exceeded (in reply to RCPT
    TO command)
"""
    entry = only(notice(body))

    assert entry.recipient == "virusdetected@example.net"
    assert (entry.reason, entry.hard_bounce) == ("mailboxfull", False)
    assert "Mailbox full, quota exceeded" in entry.diagnostic


@pytest.mark.parametrize(
    "local_part", ["virusdetected", "spam-complaints", "blocked", "userunknown"]
)
def test_a_local_part_never_changes_the_reason(local_part):
    entry = only(dsn((f"{local_part}@example.net", "5.2.2", "552 5.2.2 Mailbox full")))

    assert entry.reason == "mailboxfull"


def test_a_dns_failure_for_postmaster_still_names_the_recipient():
    body = """\
This is the mail system at host mail.example.org.

<postmaster@gone.example.net>: Host or domain name not found. Name service error
    for name=gone.example.net type=A: Host not found
"""
    entry = only(notice(body))

    assert entry.recipient == "postmaster@gone.example.net"
    assert (entry.reason, entry.hard_bounce) == ("hostunknown", True)


def test_a_contact_postmaster_in_passing_is_not_a_recipient():
    body = """\
This is the mail system at host mail.example.org.

<jo@example.net>: host mx.example.net[192.0.2.7] said: 550 5.1.1 User unknown (in reply to
    RCPT TO command)

Please contact postmaster@example.org if you need help.
"""
    assert [entry.recipient for entry in parse_bounce(notice(body))] == ["jo@example.net"]
