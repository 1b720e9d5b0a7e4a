"""Crafted reports and notices of each kind, read into recipients, reasons and classes."""

from __future__ import annotations

import email
import json

import pytest

from diagnostics.bounces import (
    BOUNCE_CLASSES,
    REASONS,
    bounce_class_for,
    heuristics,
    parse_bounce,
    phrases,
)
from tests.diagnostics.bounces.helpers import FIXTURES, dsn, only


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


def test_the_quick_phrase_test_never_drops_a_phrase_the_tables_find():
    # phrases.candidates() skips the phrase expressions for texts without any phrase's required
    # characters; on every line of every fixture notice it must keep each phrase that matches.
    checked = 0
    for path in sorted(FIXTURES.rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        for line in heuristics.first_text_part(message).lower().split("\n"):
            wanted = [reason for reason, table in phrases.PHRASES if table.search(line)]
            if not wanted:
                continue
            checked += 1
            found = phrases.candidates(line)
            assert any(pattern.search(line) for pattern in found), (path.name, line)
    assert checked > 300
