"""Bounce analysis: crafted reports for each class, the defects seen on unseen data, real MTA
bounces read against what we know caused them, and agreement with the reference's labels.

Agreement is measured per part of tests/fixtures/bounces/split.json: the part the rules were
tuned on, the held-out fixtures, the bounces our own Postfix and Exim made (mta/, mta-fresh/),
and more real bounces from the public collection (extra/, fresh/). See docs/bounces.md.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.bounces import (
    BOUNCE_CLASSES,
    REASONS,
    bounce_class_for,
    lhost,
    parse_bounce,
    rhost,
    rules,
)
from diagnostics.bounces.agreement import load_labels, measure
from diagnostics.bounces.reasons import is_hard_bounce

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"

SPLIT = json.loads((FIXTURES / "split.json").read_text())
PARTS = {
    "tune": (FIXTURES, "labels.jsonl"),
    "heldout": (FIXTURES, "labels.jsonl"),
    "mta": (FIXTURES / "mta", "labels.jsonl"),
    "extra": (FIXTURES / "extra", "labels.jsonl"),
    "fresh": (FIXTURES / "fresh", "labels.jsonl"),
    "mta-fresh": (FIXTURES / "mta-fresh", "labels.jsonl"),
}
# (reason, permanent/temporary, recipients exact) as measured and reported in docs/bounces.md,
# less about two points, so that a regression fails. "fresh" and "mta-fresh" were collected
# before this round's rule changes and measured once, at the end (the unseen figures); the
# other held-out parts had been looked at by then.
FLOORS = {
    "tune": (0.94, 0.96, 0.98),
    "heldout": (0.90, 0.92, 0.94),
    "mta": (0.93, 0.98, 0.98),
    "extra": (0.90, 0.98, 0.98),
    "fresh": (0.93, 0.93, 0.88),
    "mta-fresh": (0.86, 0.98, 0.98),
}


def dsn(*recipients: tuple[str, str, str], action: str = "failed") -> bytes:
    """An RFC 3464 multipart/report; each recipient is (address, status, diagnostic)."""
    groups = "\n".join(
        f"Final-Recipient: rfc822; {address}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"Remote-MTA: dns; mx.example.net\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
        for address, status, diagnostic in recipients
    )
    return f"""\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
To: notify@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org
Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000

{groups}
--b1
Content-Type: text/rfc822-headers

From: notify@example.org
To: {recipients[0][0]}
Subject: Your password

--b1--
""".encode()


def only(raw: bytes | str):
    entries = parse_bounce(raw)
    assert len(entries) == 1, entries
    return entries[0]


def test_rfc3464_user_unknown_is_a_hard_bounce():
    entry = only(dsn(("jo@example.net", "5.1.1", "550 5.1.1 <jo@example.net>: User unknown")))

    assert entry.recipient == "jo@example.net"
    assert (entry.action, entry.status, entry.reply_code) == ("failed", "5.1.1", "550")
    assert (entry.reason, entry.hard_bounce, entry.bounce_class) == ("userunknown", True, "hard")
    assert entry.diagnostic == "550 5.1.1 <jo@example.net>: User unknown"


def test_mailbox_full_is_a_soft_bounce():
    entry = only(dsn(("jo@example.net", "4.2.2", "452 4.2.2 Mailbox full, try again later")))

    assert (entry.reason, entry.hard_bounce, entry.bounce_class) == ("mailboxfull", False, "soft")


def test_policy_refusal_is_a_policy_block():
    entry = only(dsn(("jo@example.net", "5.7.1", "550 5.7.1 Delivery not authorized")))

    assert (entry.status, entry.reason, entry.hard_bounce) == ("5.7.1", "securityerror", False)
    assert entry.bounce_class == "policy_block"


def test_dmarc_rejection_is_a_policy_block():
    entry = only(
        dsn(
            ("jo@example.net", "5.7.1", "550 5.7.1 Email rejected per DMARC policy for example.org")
        )
    )

    assert (entry.reason, entry.bounce_class) == ("policyviolation", "policy_block")


def test_spam_rejection_is_a_spam_block():
    entry = only(
        dsn(("jo@example.net", "5.7.1", "554 5.7.1 Message rejected as spam by Content Filtering"))
    )

    assert (entry.reason, entry.hard_bounce, entry.bounce_class) == (
        "spamdetected",
        False,
        "spam_block",
    )


def test_sending_ip_on_a_blocklist_is_a_spam_block():
    entry = only(
        dsn(("jo@example.net", "5.7.1", "554 5.7.1 Client host rejected: blocked using zen.test"))
    )

    assert (entry.reason, entry.bounce_class) == ("blocked", "spam_block")


def test_each_recipient_of_a_report_gets_its_own_entry():
    entries = parse_bounce(
        dsn(
            ("gone@example.net", "5.1.1", "550 5.1.1 No such user"),
            ("full@example.net", "5.2.2", "552 5.2.2 Quota exceeded"),
        )
    )

    assert [(e.recipient, e.reason, e.bounce_class) for e in entries] == [
        ("gone@example.net", "userunknown", "hard"),
        ("full@example.net", "mailboxfull", "soft"),
    ]


def test_delayed_report_is_a_soft_expiry():
    entry = only(dsn(("jo@example.net", "4.4.1", "Connection timed out"), action="delayed"))

    assert (entry.action, entry.reason, entry.hard_bounce) == ("delayed", "expired", False)


def test_arf_feedback_report_is_a_complaint():
    report = b"""\
From: feedback@isp.example
To: abuse@example.org
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b2"

--b2
Content-Type: text/plain

This is an email abuse report for a message received from 192.0.2.1.

--b2
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <jo@isp.example>

--b2
Content-Type: message/rfc822

From: notify@example.org
To: jo@isp.example
Subject: Your password

Hello.
--b2--
"""
    entry = only(report)

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@isp.example",
        "feedback",
        False,
    )
    assert entry.bounce_class == "complaint"


@pytest.mark.parametrize(
    ("original_to", "recipient"),
    [
        ("jo@isp.example, al@isp.example", "jo@isp.example"),
        ("<Undisclosed Recipients>", "undisclosed-recipient-in-headers@libsisimai.org.invalid"),
    ],
)
def test_a_complaint_without_original_rcpt_to_names_whom_the_reference_names(
    original_to, recipient
):
    report = f"""\
From: feedback@isp.example
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b2"

--b2
Content-Type: message/feedback-report

Feedback-Type: abuse
Removal-Recipient: someone-else@isp.example

--b2
Content-Type: message/rfc822

From: notify@example.org
To: {original_to}
Cc: cc@isp.example
Subject: Your password

Hello.
--b2--
"""
    entry = only(report)
    assert (entry.recipient, entry.reason) == (recipient, "feedback")


def test_plain_text_postfix_notice_without_a_dsn_part():
    notice = """\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mail.example.org.

<jo@example.net>: host mx.example.net[192.0.2.7] said: 550 5.1.1
    <jo@example.net>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)
"""
    entry = only(notice)

    assert (entry.recipient, entry.status, entry.reply_code) == ("jo@example.net", "5.1.1", "550")
    assert (entry.reason, entry.bounce_class) == ("userunknown", "hard")


def test_exim_notice_names_its_recipients_in_x_failed_recipients():
    notice = """\
From: Mail Delivery System <Mailer-Daemon@mail.example.org>
X-Failed-Recipients: jo@example.net
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  jo@example.net
    host mx.example.net [192.0.2.7]
    SMTP error from remote mail server after end of data:
    550 5.7.1 Message rejected: sending IP listed on a DNS blocklist

------ This is a copy of the message, including all the headers. ------

To: other@example.net
"""
    entry = only(notice)

    assert (entry.recipient, entry.status, entry.reason) == ("jo@example.net", "5.7.1", "blocked")
    assert entry.bounce_class == "spam_block"


def test_qmail_notice_with_one_paragraph_per_recipient():
    notice = """\
From: MAILER-DAEMON@mail.example.org
Subject: failure notice

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<full@example.net>:
192.0.2.7 does not like recipient.
Remote host said: 552 5.2.2 <full@example.net>: Mailbox full

<gone@example.net>:
Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)

--- Below this line is a copy of the message.
"""
    entries = parse_bounce(notice)

    assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
        ("full@example.net", "mailboxfull", False),
        ("gone@example.net", "hostunknown", True),
    ]


def test_amazon_ses_json_notification():
    body = json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [
                    {
                        "emailAddress": "jo@example.net",
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
            },
        }
    )
    entry = only(f"From: no-reply@sns.amazonaws.com\nSubject: AWS Notification\n\n{body}\n")

    assert (entry.recipient, entry.status, entry.reason) == (
        "jo@example.net",
        "5.1.1",
        "userunknown",
    )


def test_automatic_reply_proves_delivery():
    reply = """\
From: Jo <jo@example.net>
To: notify@example.org
Subject: Out of office
Auto-Submitted: auto-replied

I am away until Monday.
"""
    entry = only(reply)

    assert (entry.recipient, entry.reason, entry.bounce_class) == (
        "jo@example.net",
        "vacation",
        "delivered",
    )


def test_mbox_with_two_reports_gives_both():
    first = dsn(("one@example.net", "5.1.1", "550 5.1.1 User unknown"))
    second = dsn(("two@example.net", "5.2.2", "552 5.2.2 Mailbox full"))
    mbox = b"From MAILER-DAEMON  Mon Mar  3 10:00:00 2025\n" + first
    mbox += b"\nFrom MAILER-DAEMON  Mon Mar  3 10:05:00 2025\n" + second

    assert [e.recipient for e in parse_bounce(mbox)] == ["one@example.net", "two@example.net"]


def test_text_input_and_bytes_input_read_the_same():
    raw = dsn(("jo@example.net", "5.1.1", "550 5.1.1 User unknown"))

    assert parse_bounce(raw.decode()) == parse_bounce(raw)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        "",
        "   \n\n ",
        b"\x00\xff\xfe" * 200,
        "just some words, no headers and no addresses",
        b"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-",
        b"From: jo@example.org\nSubject: lunch?\n\nSee you at noon, jo@example.net.\n",
    ],
)
def test_garbage_gives_an_empty_list(garbage):
    assert parse_bounce(garbage) == []


def test_as_dict_carries_every_field():
    entry = only(dsn(("jo@example.net", "5.1.1", "550 5.1.1 User unknown")))

    assert entry.as_dict() == {
        "recipient": "jo@example.net",
        "action": "failed",
        "status": "5.1.1",
        "reply_code": "550",
        "reason": "userunknown",
        "hard_bounce": True,
        "diagnostic": "550 5.1.1 User unknown",
        "bounce_class": "hard",
    }


@pytest.mark.parametrize(
    ("reason", "hard_bounce", "expected"),
    [
        ("userunknown", True, "hard"),
        ("hostunknown", True, "hard"),
        ("notaccept", True, "hard"),
        ("notaccept", False, "soft"),
        ("mailboxfull", False, "soft"),
        ("expired", False, "soft"),
        ("policyviolation", False, "policy_block"),
        ("securityerror", False, "policy_block"),
        ("rejected", False, "policy_block"),
        ("spamdetected", False, "spam_block"),
        ("blocked", False, "spam_block"),
        ("filtered", False, "spam_block"),
        ("feedback", False, "complaint"),
        ("delivered", False, "delivered"),
        ("vacation", False, "delivered"),
        ("onhold", False, "unknown"),
        ("undefined", False, "unknown"),
        ("", False, "unknown"),
    ],
)
def test_bounce_class_mapping(reason, hard_bounce, expected):
    assert bounce_class_for(reason, hard_bounce) == expected


def test_every_reason_has_a_class():
    assert {bounce_class_for(reason, False) for reason in REASONS} <= set(BOUNCE_CLASSES)


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


@pytest.mark.parametrize("part", list(PARTS))
def test_agreement_with_the_reference_labels_per_part(part):
    directory, label_file = PARTS[part]
    agreement = measure(directory, SPLIT[part], load_labels(directory / label_file))

    print(f"\n{part}: {agreement.files} files, {agreement.summary()}")
    reason_floor, permanence_floor, recipients_floor = FLOORS[part]
    assert agreement.reason_rate >= reason_floor
    assert agreement.permanence_rate >= permanence_floor
    assert agreement.recipients_rate >= recipients_floor


# --- The defects seen on real bounces the reader had never seen -------------------------------


def notice(body: str, *, headers: str = "") -> str:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\n"
        "To: notify@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"{headers}\n{body}"
    )


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


# --- Real bounces from Postfix and Exim, read against what we know caused them ----------------

# scripts/make-mta-bounces sends each scenario through a real Postfix and a real Exim; the cause
# is known, so these are checked against it, not against the reference's reading. Where two
# reasons are listed, the MTA's report cannot tell them apart (Exim says "Unrouteable address"
# for a local part it does not know as well as for a domain) or RFC 3463 and the reference name
# the same code differently (X.2.1 "mailbox disabled": suspend, or filtered).
MTA_TRUTH: dict[str, tuple[set[str], bool]] = {
    "userunknown-remote": ({"userunknown", "hostunknown"}, True),
    "userunknown-local": ({"userunknown", "hostunknown"}, True),
    "userunknown-scripted": ({"userunknown"}, True),
    "mailboxfull-local": ({"mailboxfull"}, False),
    "mailboxfull-remote": ({"mailboxfull"}, False),
    "mailboxfull-temporary": ({"mailboxfull", "expired"}, False),
    "virusdetected-localpart-mailboxfull": ({"mailboxfull"}, False),
    "hostunknown": ({"hostunknown"}, True),
    "hostunknown-postmaster": ({"hostunknown"}, True),
    "hostunknown-badmx": ({"hostunknown"}, True),
    "notaccept-nullmx": ({"notaccept"}, True),
    "expired-tempfail": ({"expired"}, False),
    "expired-refused": ({"expired", "networkerror"}, False),
    "spam-after-data": ({"spamdetected"}, False),
    "virus-after-data": ({"virusdetected"}, False),
    "size-after-data": ({"mesgtoobig"}, False),
    "dmarc-after-data": ({"policyviolation"}, False),
    "sender-rejected": ({"rejected"}, False),
    "blocked-greeting": ({"blocked"}, False),
    "relay-denied": ({"norelaying"}, False),
    "suspended-mailbox": ({"suspend", "filtered"}, False),
    "mailererror-pipe": ({"mailererror", "systemerror"}, False),
}
MTA_RECIPIENTS = {
    "two-failures": {"no-such-user@{peer}.test", "someone@nohost.test"},
    "userunknown-remote": {"no-such-user@{peer}.test"},
    "mailboxfull-remote": {"full@full.test"},
}
# Postfix gives up on a server that kept answering 451 4.3.0 "Temporary local problem" with
# Action: failed and that same status: we read the server's words (systemerror), as the
# reference does, not that the queue lifetime ran out. (Exim's warnings say "Delay reason",
# which its module reads as expired.)
MTA_KNOWN_MISSES = {
    "pf-expired-tempfail.eml",
    "pf-expired-tempfail-warning.eml",
}
_MTA_NAME_RE = re.compile(r"(pf|ex)-(.+?)(-warning(?:-\d)?)?\.eml$")


def _mta_cases():
    for name in SPLIT["mta"]:
        marks = [pytest.mark.xfail(strict=True)] if name in MTA_KNOWN_MISSES else []
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", list(_mta_cases()))
def test_mta_bounce_is_read_as_its_known_cause(name):
    mta, scenario, warning = _MTA_NAME_RE.match(name).groups()
    peer = "exim" if mta == "pf" else "postfix"
    entries = parse_bounce((FIXTURES / "mta" / name).read_bytes())

    expected_recipients = {
        address.format(peer=peer) for address in MTA_RECIPIENTS.get(scenario, set())
    }
    if expected_recipients:
        assert {entry.recipient for entry in entries} == expected_recipients
    else:
        # One failed recipient; the accepted "ok-..." addresses are never reported.
        assert len(entries) == 1, entries
        assert entries[0].recipient.endswith(".test")
        assert not entries[0].recipient.startswith("ok-")
    for entry in entries:
        if scenario == "two-failures":
            reasons, permanent = (
                ({"hostunknown"}, True)
                if entry.recipient.endswith("nohost.test")
                else MTA_TRUTH["userunknown-remote"]
            )
        else:
            reasons, permanent = MTA_TRUTH[scenario]
        if warning:
            # A delay warning: still being retried, whatever the server said.
            reasons = reasons | {"expired"}
            permanent = False
            assert entry.action == "delayed"
        assert entry.reason in reasons, (entry.recipient, entry.reason, entry.diagnostic)
        assert entry.hard_bounce is permanent


# --- Real bounces from Postfix and Exim, second round (mta-fresh/, unseen) --------------------

# The known causes, written down with the scenarios before these bounces were read. Where two or
# three reasons are listed, the report cannot tell them apart: a greylisting server's last word
# was a 4.7.1 refusal of the host, a dropped connection is also a network error, a server that
# is always busy is refused as a host, and "content ... security issue" is a filter's verdict.
MTA_FRESH_TRUTH: dict[str, tuple[set[str], bool]] = {
    "mesgtoobig-size-limit": ({"mesgtoobig"}, False),
    "mailboxfull-after-data": ({"mailboxfull"}, False),
    "expired-greylisted": ({"expired", "blocked"}, False),
    "expired-dropped-after-data": ({"expired", "networkerror"}, False),
    "securityerror-tls-required": ({"securityerror"}, False),
    "norelaying-unable-to-relay": ({"norelaying"}, False),
    "rejected-sender-domain": ({"rejected"}, False),
    "toomanyconn-greeting": ({"toomanyconn", "expired", "blocked"}, False),
    "policyviolation-content": ({"policyviolation", "securityerror", "spamdetected"}, False),
    "suspend-account-disabled": ({"suspend", "filtered"}, False),
    "userunknown-recipient-not-found": ({"userunknown"}, True),
    "blocked-reverse-dns": ({"blocked"}, False),
}
# Corrected after the one run on this part: the receiving server refuses the message after
# DATA, which answers for every recipient of the transaction, so "ok-fine" failed as well (the
# MTAs and the reference both say so); the scenario had wrongly listed it as accepted.
MTA_FRESH_RECIPIENTS = {"mailboxfull-after-data": ["jo", "ok-fine"]}
# Found on the one run and left as it is: the reference's Exim module reads any refusal at MAIL
# FROM as "onhold" (Sisimai::Lhost::Exim), a rule we port, so Exim's report of a server that
# wants STARTTLS first is not read as securityerror (the reference says onhold too).
MTA_FRESH_KNOWN_MISSES = {"ex-securityerror-tls-required.eml"}


def _mta_fresh_cases():
    for name in SPLIT["mta-fresh"]:
        marks = [pytest.mark.xfail(strict=True)] if name in MTA_FRESH_KNOWN_MISSES else []
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", list(_mta_fresh_cases()))
def test_fresh_mta_bounce_is_read_as_its_known_cause(name):
    _mta, scenario, warning = _MTA_NAME_RE.match(name).groups()
    entries = parse_bounce((FIXTURES / "mta-fresh" / name).read_bytes())

    # One failed recipient, jo@ at the scenario's domain; the accepted "ok-..." never reported.
    expected = MTA_FRESH_RECIPIENTS.get(scenario, ["jo"])
    assert sorted(entry.recipient.split("@")[0] for entry in entries) == expected, entries
    reasons, permanent = MTA_FRESH_TRUTH[scenario]
    if warning:
        reasons, permanent = reasons | {"expired"}, False
    for entry in entries:
        assert entry.action == ("delayed" if warning else "failed")
        assert entry.reason in reasons, (entry.reason, entry.diagnostic)
        assert entry.hard_bounce is permanent


# --- The reference's rules, ported as data (reference_rules.json) and a small engine ----------


def test_the_generated_rules_are_up_to_date_with_the_reference_source():
    if not Path("/usr/share/perl5/Sisimai/Lhost/Exim.pm").exists():
        pytest.skip("libsisimai-perl is not installed")
    script = Path(__file__).resolve().parents[2] / "scripts" / "extract-sisimai-rules"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr


def test_perl_end_of_string_means_the_same_in_python():
    pattern = rules.perl_regex(r"program\z")
    assert pattern.search("The Postfix program")
    assert not pattern.search("The Postfix program\n")
    assert rules.perl_regex(r"a\\z").search("a\\z")  # an escaped backslash, then a "z"
    assert rules.perl_regex("mail[ ]system", "x").search("the mail system")


@pytest.mark.parametrize(
    ("reason", "code", "hard"),
    [
        ("userunknown", "5.1.1", True),
        ("hostunknown", "", True),
        ("hasmoved", "5.1.6", True),
        ("notaccept", "5.1.10", True),
        ("notaccept", "", True),
        ("notaccept", "4.3.2", False),
        ("notaccept", "421", False),
        ("mailboxfull", "5.2.2", False),
        ("blocked", "5.7.1", False),
        ("onhold", "5.0.0", False),
        ("undefined", "5.0.0", False),
        ("delivered", "2.1.5", False),
    ],
)
def test_hard_or_soft_is_the_references_rule(reason, code, hard):
    assert rules.is_hard(reason, code) is hard
    status, reply = (code, "") if "." in code else ("", code)
    assert is_hard_bounce(reason, status=status, reply_code=reply) is hard


def test_the_status_table_is_the_references():
    names = rules.status_names()
    assert (names["5.1.1"], names["5.2.2"], names["4.4.7"]) == (
        "userunknown",
        "mailboxfull",
        "expired",
    )


EXIM_HEADERS = """\
From: Mail Delivery System <Mailer-Daemon@mail.example.org>
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1abcde-000123-Ab@mail.example.org>
"""
EXIM_BODY = "This message was created automatically by mail delivery software.\n"


def _message(text: str):
    return email.message_from_string(text, policy=email.policy.compat32)


def test_an_mta_is_known_by_its_headers_and_its_notice():
    assert lhost.detect(_message(EXIM_HEADERS + "\n" + EXIM_BODY), EXIM_BODY) == "Exim"
    # The headers fit, but the notice is not Exim's: its module would read nothing.
    assert lhost.detect(_message(EXIM_HEADERS + "\nHello\n"), "Hello\n") != "Exim"
    # A header the module excludes (Mail.ru writes Exim-like notices) rules it out.
    mailru = EXIM_HEADERS.replace("mail.example.org>", "fallback1.mail.ru>", 1)
    assert lhost.detect(_message(mailru + "\n" + EXIM_BODY), EXIM_BODY) != "Exim"


@pytest.mark.parametrize(
    ("test", "holds"),
    [
        (lhost._Test("startswith", "from", "Mail Delivery System"), True),
        (lhost._Test("endswith", "message-id", ".example.org>"), True),
        (lhost._Test("contains", "subject", "delivery failed"), True),
        (lhost._Test("equals", "subject", "Mail delivery failed"), False),
        (lhost._Test("present", "x-failed-recipients"), False),
        (lhost._Test("contains", "x-failed-recipients", ""), True),  # Perl's index("", "") is 0
    ],
)
def test_a_modules_header_tests(test, holds):
    headers = lhost._Headers(_message(EXIM_HEADERS))
    assert test.holds(headers) is holds


def test_the_subject_picks_the_modules_tried_first():
    assert lhost._subject_key("Mail delivery failed: returning message to sender") == (
        "mail-delivery"
    )
    assert lhost._subject_key("Undeliverable: Your password") == "undeliverable"
    assert lhost._order("Mail delivery failed")[0].name == "Exim"


@pytest.mark.parametrize(
    ("module", "diagnostic", "command", "reason"),
    [
        ("Exim", "Unrouteable address", "", "hostunknown"),
        ("Exim", "retry timeout exceeded", "", "expired"),
        ("Exim", "550 Mailbox is full", "", "mailboxfull"),
        ("Exim", "550 Not now", "EHLO", "blocked"),  # the module's fixed reading of the step
        ("Exim", "550 Not now", "RCPT", ""),
        ("Exim", "550 Something else", "", ""),
        ("Gmail", "Access denied (state 13).", "", "blocked"),
        # Gmail's module lets a precise status in the diagnosis replace its table's reason.
        ("Gmail", "550 550 5.7.1 Access denied (state 13).", "", "securityerror"),
        ("Gmail", "Relaying denied (state 12).", "", ""),  # "relayingdenied" is no reason
    ],
)
def test_an_mta_modules_own_table(module, diagnostic, command, reason):
    assert lhost.module_reason(module, diagnostic, command=command) == reason


@pytest.mark.parametrize(
    ("module", "diagnostic", "status", "reported", "reason"),
    [
        ("ReceivingSES", "550 5.2.0 Message Filtered", "5.2.0", "5.2.0", "filtered"),
        ("ReceivingSES", "550 5.2.2 Mailbox full", "5.2.2", "5.2.2", "mailboxfull"),  # its table
        # The report's own status, not the one quoted from the remote server...
        ("AmazonWorkMail", "554 4.4.7 Message expired <421 4.4.2 Timed out>", "4.4.2", "4.4.7",
         "expired"),
        # ... unless it says only its class: then the diagnosis's.
        ("AmazonWorkMail", "550 5.1.1 No such user", "5.1.1", "5.0.0", "userunknown"),
        ("Exim", "550 5.2.0 Message Filtered", "5.2.0", "5.2.0", ""),  # Exim has no such rule
    ],
)  # fmt: skip
def test_some_modules_name_the_status_when_their_tables_say_nothing(
    module, diagnostic, status, reported, reason
):
    assert lhost.module_reason(module, diagnostic, status=status, reported=reported) == reason


def test_an_exim_notice_is_read_with_exims_table():
    notice = f"""\
{EXIM_HEADERS}X-Failed-Recipients: jo@example.net

{EXIM_BODY}
A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  jo@example.net
    Unrouteable address
"""
    entry = only(notice)
    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@example.net",
        "hostunknown",
        True,
    )


def test_google_groups_names_its_refusal_by_its_list_of_causes():
    four = "* a\n* b\n* c\n* d\n"
    assert lhost.report_reason("GoogleGroups", four) == "rejected"
    assert lhost.report_reason("GoogleGroups", "* a\n") == "onhold"
    assert lhost.report_reason("Exim", four) == ""


def test_a_local_delivery_agent_speaks_for_itself():
    body = (
        "Your message to jo@example.net was automatically rejected:\n"
        "Quota exceeded (mailbox for user is full)\n\n"
    )
    message = _message(f"From: Mail Delivery Subsystem <MAILER-DAEMON@example.net>\n\n{body}")
    assert lhost.mda_reason(message, body) == "mailboxfull"
    other = _message(f"From: jo@example.net\n\n{body}")
    assert lhost.mda_reason(other, body) == ""


@pytest.mark.parametrize(
    ("host", "module"),
    [
        ("gmail-smtp-in.l.google.com", "GoogleApps"),
        ("example-com.mail.protection.outlook.com", "ExchangeOnline"),
        ("mx3.qq.com", "TencentQQ"),
        ("wanadoo.fr", "FrancePTT"),
        ("mx.example.net", ""),
        ("", ""),
    ],
)
def test_a_destination_is_known_by_its_host(host, module):
    assert rhost.module_for(host) == module


def _facts(diagnostic: str, status: str = "", reply_code: str = "", command: str = ""):
    return rhost.Facts(diagnostic=diagnostic, status=status, reply_code=reply_code, command=command)


@pytest.mark.parametrize(
    ("domain", "facts", "reason"),
    [
        ("cox.net", _facts("554 Rejected - AUP#CXBL"), "blocked"),
        ("cox.net", _facts("421 ESMTP server temporarily not available"), "notaccept"),
        ("charter.net", _facts("550 Refused. AUP#In-1000"), "blocked"),
        ("charter.net", _facts("550 Refused. AUP#In-1120"), "blocked"),  # a range of codes
        ("charter.net", _facts("550 Refused. AUP#In-1170"), "policyviolation"),
        ("orange.fr", _facts("550 mwinf: OFR_101 [101] Refused"), "blocked"),
        ("orange.fr", _facts("550 mwinf: OFR_201 [201] Refused"), "undefined"),
        ("i.ua", _facts("550 see http://mail.i.ua/err/2"), ""),  # not i.ua's host
        ("ezweb.ne.jp", _facts("550 <jo@ezweb.ne.jp>: User unknown"), ""),
        ("qq.com", _facts("421 Connection frequency limited"), ""),
    ],
)
def test_a_providers_own_codes_by_recipient_domain(domain, facts, reason):
    assert rhost.destination_reason(remote_host="", domain=domain, facts=facts, decided="") == (
        reason
    )


@pytest.mark.parametrize(
    ("host", "facts", "reason"),
    [
        ("mx.email.ua", _facts("550 see http://mail.i.ua/err/2"), "userunknown"),
        ("mta.ezweb.ne.jp", _facts("550 <jo@ezweb.ne.jp>: User unknown"), "userunknown"),
        ("mta.ezweb.ne.jp", _facts("550 : User unknown"), "filtered"),
        ("mx3.qq.com", _facts("421 Connection frequency limited"), "toomanyconn"),
        (
            "gmail-smtp-in.l.google.com",
            _facts("550-5.7.26 ... is not accepted due to domain's DMARC policy", "5.7.26", "550"),
            "blocked",
        ),
        (
            "x.mail.protection.outlook.com",
            _facts("550 5.7.25 The sending IP must have a reverse DNS record", "5.7.25", "550"),
            "blocked",
        ),
        (
            "x.mail.protection.outlook.com",
            _facts("451 4.7.851 Access denied, please try again later", "4.7.851", "451"),
            "blocked",
        ),
        (
            "eu.mimecast.com",
            _facts("554 Maximum email size exceeded", "5.3.4", "554"),
            "mesgtoobig",
        ),
        ("eu.mimecast.com", _facts("550 Maximum email size exceeded", "5.3.4", "550"), ""),
    ],
)
def test_a_providers_own_codes_by_remote_host(host, facts, reason):
    assert rhost.destination_reason(remote_host=host, domain="", facts=facts, decided="") == reason


def test_some_providers_keep_a_reason_already_given():
    dmarc = _facts("550 ... is not accepted due to domain's DMARC policy", "5.7.26", "550")
    google = "gmail-smtp-in.l.google.com"
    assert rhost.destination_reason(remote_host=google, domain="", facts=dmarc, decided="") == (
        "blocked"
    )
    kept = rhost.destination_reason(remote_host=google, domain="", facts=dmarc, decided="onhold")
    assert kept == ""
    cox = _facts("554 Rejected - AUP#CXBL")
    assert rhost.destination_reason(remote_host="", domain="cox.net", facts=cox, decided="onhold")


@pytest.mark.parametrize(
    ("recipient", "remote", "status", "diagnostic", "reason", "hard"),
    [
        # Checked against the reference on the same reports (scripts/sisimai-label).
        ("jo@cox.net", "mx.example.net", "5.7.1",
         "554 5.7.1 Rejected - AUP#CXBL", "blocked", False),
        ("jo@example.com", "eu-smtp-inbound-1.mimecast.com", "5.3.4",
         "554 Maximum email size exceeded", "mesgtoobig", False),
        ("jo@gmail.com", "gmail-smtp-in.l.google.com", "5.1.1",
         "550-5.7.26 ... is not accepted due to domain's DMARC policy.", "userunknown", True),
        ("jo@example.com", "mx.example.net", "4.3.2",
         "421 4.3.2 an MX or SRV record indicated no SMTP service", "notaccept", False),
    ],
)  # fmt: skip
def test_a_report_is_read_with_the_providers_codes(
    recipient, remote, status, diagnostic, reason, hard
):
    raw = dsn((recipient, status, diagnostic)).replace(b"mx.example.net", remote.encode())
    entry = only(raw)
    assert (entry.reason, entry.hard_bounce) == (reason, hard)
