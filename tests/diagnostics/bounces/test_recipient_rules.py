"""The general rules added after the last unseen run (docs/bounces.md, "Round 4"), each on a
message written here, not on the files whose misses pointed to them."""

from __future__ import annotations

import email
import json

from diagnostics.bounces import lhost, parse_bounce
from tests.diagnostics.bounces.helpers import dsn, notice, only


def _ses_notice(document: dict, *, fold_at: int | None = None) -> str:
    body = json.dumps(document, separators=(",", ":"))
    if fold_at:
        # Sendmail's break of an over-long line: "!", a line end, a space.
        body = "!\n ".join(body[i : i + fold_at] for i in range(0, len(body), fold_at))
    return (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
        "To: ops@example.org\n"
        "Subject: AWS Notification Message\n"
        "x-amz-sns-message-id: 4a0a2a7e-0000-4000-8000-000000000001\n"
        "Content-Type: text/plain; charset=UTF-8\n\n"
        f"{body}\n\n--\nIf you wish to stop receiving notifications from this topic, ...\n"
    )


_MAIL = {
    "source": "sender@example.org",
    "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/sender@example.org",
    "destination": ["jo@example.net"],
}


def test_an_ses_bounce_broken_over_lines_by_sendmail_names_only_the_bounced_recipient():
    document = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "jo@example.net",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
        "mail": _MAIL,
    }

    entries = parse_bounce(_ses_notice(document, fold_at=70))

    assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
        ("jo@example.net", "userunknown", True)
    ]


def test_an_ses_complaint_broken_over_lines_is_feedback_for_the_complainant():
    document = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "jo@example.net"}],
            "complaintFeedbackType": "abuse",
        },
        "mail": _MAIL,
    }

    entry = only(_ses_notice(document, fold_at=60))

    assert (entry.recipient, entry.reason, entry.bounce_class) == (
        "jo@example.net",
        "feedback",
        "complaint",
    )


def test_an_address_as_display_name_is_not_a_second_recipient():
    body = """\
A message that you sent contained one or more recipient addresses that were
incorrectly constructed:

  al@x.org <jo@example.net>: malformed address: <jo@example.net> may not follow al@x.org

This address has been ignored.
"""
    assert [e.recipient for e in parse_bounce(notice(body))] == ["jo@example.net"]


def test_an_address_in_the_reason_given_for_another_is_not_a_recipient():
    body = """\
The following address failed:

  jo@example.net: forwarding to al@example.com refused: 550 5.7.1 relaying denied
"""
    assert [e.recipient for e in parse_bounce(notice(body))] == ["jo@example.net"]


def test_two_addresses_each_heading_its_line_are_both_recipients():
    body = """\
The following addresses failed:

  jo@example.net: 550 5.1.1 user unknown
  al@example.com: 552 5.2.2 mailbox full
"""
    entries = {e.recipient: e.reason for e in parse_bounce(notice(body))}

    assert entries == {"jo@example.net": "userunknown", "al@example.com": "mailboxfull"}


def test_exims_remote_server_wording_names_the_rcpt_step():
    body = """\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  jo@example.net
    SMTP error from remote server after RCPT command:
    host: mx.example.net
    5.2.1 <jo@example.net>... User Unknown
"""
    entry = only(notice(body))

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@example.net",
        "userunknown",
        True,
    )


def test_the_readers_class_names_are_the_helpdesks():
    from diagnostics.bounces import BOUNCE_CLASSES
    from diagnostics.types import BounceClass

    assert tuple(BOUNCE_CLASSES) == tuple(str(value) for value in BounceClass)


def test_a_dsn_recipient_whose_domain_is_no_host_name_is_still_reported():
    # Added after the third unseen run (docs/bounces.md): RFC 3464 2.3.2, an rfc822 address
    # as the report gives it, even with a character no host name has.
    entry = only(dsn(("jo@#example.net", "5.1.2", "550 Host unknown")))

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@#example.net",
        "hostunknown",
        True,
    )


def test_a_dsn_recipient_field_without_an_address_gives_no_recipient():
    entries = parse_bounce(dsn(("undisclosed recipients", "5.1.1", "550 5.1.1 User unknown")))

    assert all("@" in entry.recipient for entry in entries)


def _postfix_report(diagnostic_code: str) -> bytes:
    # Postfix's own report: its notice opens the body, as the Postfix module of the reference
    # requires before it reads the delivery-status fields.
    return dsn(("jo@nowhere.example.net", "5.0.0", "x")).replace(
        b"Diagnostic-Code: smtp; x", f"Diagnostic-Code: {diagnostic_code}".encode()
    )


def test_postfixs_own_diagnostic_type_is_read_as_an_smtp_reply():
    # Added after the third unseen run: Sisimai::Lhost::Postfix takes a Diagnostic-Code typed
    # "X-Postfix" as "SMTP", so the published definitions apply ("name or service not known"
    # is hostunknown), not the X-Unix/X-Postfix mailer-error fallback.
    entry = only(_postfix_report("X-Postfix; [nowhere.example.net]: Name or service not known"))

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "jo@nowhere.example.net",
        "hostunknown",
        True,
    )


def test_a_postfix_diagnostic_naming_no_reason_is_still_a_mailer_error():
    entry = only(_postfix_report("X-Postfix; delivery via local: command died with status 75"))

    assert entry.reason == "mailererror"


def _fml_notice(
    subject: str, body: str, *, message_id: str = "<202501031010.FMLAB1234.news@example.org>"
) -> str:
    return (
        "From: news-admin@example.org\n"
        f"Subject: {subject}\n"
        "To: news-admin@example.org\n"
        f"Message-Id: {message_id}\n"
        "X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\n"
        "Content-Type: text/plain; charset=iso-2022-jp\n\n"
        f"{body}\n\nOriginal mail as follows:\n\n   From: jo@example.net\n   To: news@example.org\n"
    )


def test_an_fml_notice_names_its_recipient_and_reason_as_the_fml_module_does():
    # Added after the fourth round's run: Sisimai::Lhost::FML, hand-ported. A line ending in
    # "<address>." names the recipient; the module's table reads the notice's words.
    entry = only(
        _fml_notice(
            "NOT MEMBER article from jo@example.net (news ML)",
            "You are not a member of this mailing list <news@example.org>.\n"
            "If you know the general guide of this list, please send mail to the list.",
        )
    )

    assert (entry.recipient, entry.reason, entry.hard_bounce) == (
        "news@example.org",
        "rejected",
        False,
    )


def test_an_fml_notice_whose_words_name_nothing_is_read_by_its_subject():
    entry = only(
        _fml_notice("Loop Alert: something odd (news ML)", "Mail looped <news@example.org>.")
    )

    assert (entry.recipient, entry.reason) == ("news@example.org", "systemerror")


def test_a_notice_without_fmls_message_id_is_not_read_as_fml():
    raw = _fml_notice(
        "NOT MEMBER article from jo@example.net (news ML)",
        "You are not a member of this mailing list <news@example.org>.",
        message_id="<1@example.org>",
    )

    assert all(entry.reason != "rejected" for entry in parse_bounce(raw))


# Round five, before its unseen run: three rules ported from the reference's modules.

_SENDMAIL_TRANSCRIPT = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: notify@example.org
Subject: Returned mail: User unknown
Date: Mon, 3 Mar 2025 10:00:00 +0000

   ----- Transcript of session follows -----
While talking to mx.one.example:
>>> MAIL From:<notify@example.org>
<<< 553 <notify@example.org>... no access from mail server [192.0.2.9] which is an open relay.
554 <ana@one.example>... Remote protocol error
550 two.example (smtp)... 550 Host unknown
554 <ben@two.example>... 550 Host unknown (Authoritative answer from name server)
While talking to mx.three.example:
>>> RCPT To:<cy@three.example>
<<< 550 <cy@three.example>... User unknown
550 <cy@three.example>... User unknown
{tail}"""


def test_a_sendmail_transcript_gives_each_recipient_the_session_lines_before_its_result():
    message = _SENDMAIL_TRANSCRIPT.format(
        tail="\n   ----- Unsent message follows -----\nFrom: notify@example.org\n"
        "To: ana@one.example\nSubject: hello\n\nhello\n"
    )

    entries = {e.recipient: e for e in parse_bounce(message)}

    # ana's line says only "Remote protocol error": what the server answered before it (a refusal
    # of MAIL FROM) is its reason, not the host-unknown line that follows it.
    assert entries["ana@one.example"].hard_bounce is False
    assert entries["ana@one.example"].reason == "blocked"
    assert "open relay" in entries["ana@one.example"].diagnostic
    assert "Host unknown" not in entries["ana@one.example"].diagnostic
    assert (entries["ben@two.example"].reason, entries["ben@two.example"].hard_bounce) == (
        "hostunknown",
        True,
    )
    assert (entries["cy@three.example"].reason, entries["cy@three.example"].hard_bounce) == (
        "userunknown",
        True,
    )


_MAIL_LOCAL_REPORT = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: notify@example.org
Subject: Returned mail: Service unavailable
Date: Mon, 3 Mar 2025 10:00:00 +0000

   ----- The following addresses had permanent fatal errors -----
<jo@example.net>

   ----- Transcript of session follows -----
mail.local: unknown user: jo
554 <jo@example.net>... Service unavailable
{tail}"""


def test_sendmail_5s_module_needs_its_returned_message_else_the_local_agent_decides():
    # Without "----- Unsent message follows -----" the reference's Sendmail 5 module reads
    # nothing, no other module claims the report, and the local delivery agent's words decide.
    entries = parse_bounce(_MAIL_LOCAL_REPORT.format(tail=""))

    assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
        ("jo@example.net", "userunknown", True)
    ]


def test_with_its_returned_message_sendmail_5s_module_reads_the_report():
    tail = "\n   ----- Unsent message follows -----\nFrom: notify@example.org\n\nhello\n"

    entries = parse_bounce(_MAIL_LOCAL_REPORT.format(tail=tail))

    # The module's reading: "Service unavailable" names no reason the local agent's words
    # would have given, so the report is not read as the local agent's.
    assert [e.recipient for e in entries] == ["jo@example.net"]
    assert entries[0].reason != "userunknown"


_VERIZON = """\
Received: from mta1.vtext.com ([192.0.2.7])
\tby mx.example.org with ESMTP; Mon, 3 Mar 2025 10:00:00 +0000
From: {sender}
To: notify@example.org
Subject: Re: Your alert
Date: Mon, 3 Mar 2025 10:00:00 +0000

Error: Invalid user address

Error message below:
550 - Requested action not taken: no such user here

Message details:
  Subject: Your alert
  MAIL FROM: notify@example.org
  RCPT TO: 5555550100@vtext.com
"""


def test_verizons_sms_gateway_refusal_is_an_unknown_user():
    entries = parse_bounce(_VERIZON.format(sender="post_master@vtext.com"))

    assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
        ("5555550100@vtext.com", "userunknown", True)
    ]


def test_the_verizon_module_needs_a_vtext_relay_and_verizons_own_sender():
    def module(text: str) -> str:
        message = email.message_from_string(text)
        return lhost.detect(message, message.get_payload())

    assert module(_VERIZON.format(sender="post_master@vtext.com")) == "Verizon"
    assert module(_VERIZON.format(sender="someone@example.com")) == ""
    without_relay = _VERIZON.replace("mta1.vtext.com (", "mta1.example.com (")
    assert module(without_relay.format(sender="post_master@vtext.com")) == ""


def _auto_reply(headers: str) -> str:
    return (
        f"{headers}"
        "To: notify@example.org\n"
        "Date: Mon, 3 Mar 2025 10:00:00 +0000\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "Thank you for your message. I am away until Monday and will read it then.\n"
    )


def test_automatic_replies_are_known_by_the_reference_analysers_headers():
    marked = [
        "From: Jo <jo@example.net>\nSubject: Your alert\nAuto-Submitted: auto-generated\n",
        "From: Jo <jo@example.net>\nSubject: Your alert\nX-Auto-Response-Suppress: All, OOF\n",
        "From: Jo <jo@example.net>\nSubject: Your alert\nX-Apple-Action: vacation\n",
        "From: Jo <jo@example.net>\nSubject: Your alert\nPrecedence: auto_reply\n",
        "From: Jo <jo@example.net>\nSubject: Out of the office: Your alert\n",
        "From: Jo <jo@example.net>\nSubject: Auto Response: Your alert\n",
    ]
    for headers in marked:
        entries = parse_bounce(_auto_reply(headers))
        assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
            ("jo@example.net", "vacation", False)
        ], headers


def test_a_daemons_or_roots_automatic_message_is_no_reply_from_the_recipient():
    for headers in (
        "From: MAILER-DAEMON@example.net\nSubject: Your alert\nAuto-Submitted: auto-generated\n",
        "From: root@example.net\nSubject: Out of office: Your alert\n",
        "From: Jo <jo@example.net>\nSubject: Security information for host\n"
        "Auto-Submitted: auto-generated\n",
    ):
        assert parse_bounce(_auto_reply(headers)) == [], headers


_QMAIL = """\
From: MAILER-DAEMON@mail.example.org
To: notify@example.org
Subject: failure notice
Date: Mon, 3 Mar 2025 10:00:00 +0000

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<jo@example.net>:
192.0.2.5 does not like recipient.
Remote host said: {reply}
Giving up on 192.0.2.5.

--- Below this line is a copy of the message.

From: notify@example.org
To: jo@example.net
Subject: alert

hello
"""


def test_qmails_table_reads_the_remote_hosts_reply_not_its_own_does_not_like_recipient():
    # qmail writes "does not like recipient." for any 5xx reply at RCPT; the reference's qmail
    # module reads its table on the "Remote host said:" line alone when there is one, so a
    # refusal for spam is not an unknown user.
    spam = parse_bounce(_QMAIL.format(reply="554 5.7.1 Message rejected as spam"))
    unknown = parse_bounce(_QMAIL.format(reply="550 sorry, no mailbox here by that name. (#5.1.1)"))

    assert [(e.recipient, e.hard_bounce) for e in spam] == [("jo@example.net", False)]
    assert spam[0].reason == "spamdetected"
    assert [(e.reason, e.hard_bounce) for e in unknown] == [("userunknown", True)]


def test_without_a_remote_reply_qmails_own_words_decide():
    message = _QMAIL.replace("Remote host said: {reply}\n", "")

    entries = parse_bounce(message)

    assert [(e.recipient, e.reason, e.hard_bounce) for e in entries] == [
        ("jo@example.net", "userunknown", True)
    ]


def test_a_status_class_comes_before_another_mtas_own_words():
    # "DNS Error: Domain name not found" is what Gmail's own report says; in another server's
    # reply beside 5.7.1 the status class (RFC 3463: security or policy) decides, as the
    # reference's generic rules do; with a bare 5.0.0 the words are all there is.
    policy = parse_bounce(
        dsn(("jo@example.net", "5.7.1", "550 5.7.1 DNS Error: Domain name not found"))
    )
    bare = parse_bounce(dsn(("jo@example.net", "5.0.0", "550 DNS Error: Domain name not found")))

    assert [(e.reason, e.hard_bounce) for e in policy] == [("securityerror", False)]
    assert [(e.reason, e.hard_bounce) for e in bare] == [("hostunknown", True)]


def test_another_mtas_words_never_make_a_temporary_reply_permanent():
    # Exim's own "all relevant MX records point to non-existent hosts" means a domain without
    # mail servers in Exim's report; in another server's 4xx reply the code says "try again".
    entries = parse_bounce(
        dsn(
            (
                "jo@example.net",
                "4.0.0",
                "450 4.0.0 all relevant MX records point to non-existent hosts",
            )
        )
    )

    assert [e.hard_bounce for e in entries] == [False]


_SENDMAIL_DSN_TRANSCRIPT = """\
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: <notify@example.org>
Subject: Returned mail: see transcript for details
Date: Mon, 3 Mar 2025 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1

   ----- The following addresses had permanent fatal errors -----
<jo@example.net>
    (reason: 550 5.0.0 User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
{sent}<<< 550 5.0.0 User unknown
550 5.0.0 <jo@example.net>... User unknown

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.org

Final-Recipient: RFC822; jo@example.net
Action: failed
Status: 5.0.0
Remote-MTA: DNS; mx.example.net
Diagnostic-Code: SMTP; 550 5.0.0 User unknown

--b1--
"""


def test_a_refusal_before_any_command_is_no_verdict_on_the_recipient():
    # Sendmail shows no ">>>" command when the server refused the connection itself; the
    # recipient was never named, so "User unknown" there says nothing about the address.
    at_greeting = parse_bounce(_SENDMAIL_DSN_TRANSCRIPT.format(sent=""))
    at_rcpt = parse_bounce(_SENDMAIL_DSN_TRANSCRIPT.format(sent=">>> RCPT To:<jo@example.net>\n"))

    assert [(e.reason, e.hard_bounce) for e in at_greeting] == [("blocked", False)]
    assert [(e.reason, e.hard_bounce) for e in at_rcpt] == [("userunknown", True)]


def test_a_quoted_reply_with_no_session_line_is_a_refusal_before_any_command_too():
    # Sendmail quotes the server ("<<< 550 ...") without "... while talking to" when the
    # connection itself was refused; its module reads that step as EHLO.
    message = _SENDMAIL_DSN_TRANSCRIPT.format(sent="").replace(
        "... while talking to mx.example.net.:\n", ""
    )
    assert "while talking" not in message

    entries = parse_bounce(message)

    assert [(e.reason, e.hard_bounce) for e in entries] == [("blocked", False)]


def test_an_address_inside_the_servers_reply_is_not_a_recipient():
    message = """\
From: Mail Delivery Subsystem <mailer-daemon@mail.example.org>
To: notify@example.org
Subject: Delivery Status Notification (Failure)

Delivery to the following recipient failed permanently:

     jo@example.net

Technical details of permanent failure:
550 5.7.1 Your message was blocked by a DNSBL. If you are not a spammer, send a message from \
another address to unblock@dnsbl.example with the blocked sender's name.

   ----- Original message -----

From: notify@example.org
To: jo@example.net
Subject: alert
"""

    entries = parse_bounce(message)

    assert [(e.recipient, e.hard_bounce) for e in entries] == [("jo@example.net", False)]
