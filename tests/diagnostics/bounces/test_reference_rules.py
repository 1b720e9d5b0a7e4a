"""The reference analyser's rules, ported as data (reference_rules.json) and a small engine."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.bounces import (
    lhost,
    rhost,
    rules,
)
from diagnostics.bounces.reasons import is_hard_bounce
from tests.diagnostics.bounces.helpers import dsn, only

# --- The reference's rules, ported as data (reference_rules.json) and a small engine ----------


def test_the_generated_rules_are_up_to_date_with_the_reference_source():
    if not Path("/usr/share/perl5/Sisimai/Lhost/Exim.pm").exists():
        pytest.skip("libsisimai-perl is not installed")
    script = Path(__file__).resolve().parents[3] / "scripts" / "extract-sisimai-rules"
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
