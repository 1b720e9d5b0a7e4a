"""The RCPT probe against real SMTP servers on 127.0.0.1: every outcome, and never DATA."""

from __future__ import annotations

import pytest

from diagnostics.checks.smtp_rcpt import check_smtp_rcpt
from diagnostics.types import Outcome
from tests.servers import smtp as servers

# Fixtures from the shared SMTP servers module, made visible to this module's tests.
tls_files = servers.tls_files
smtp_server = servers.smtp_server
silent_server = servers.silent_server
greeting_server = servers.greeting_server
refused_port = servers.refused_port

TIMEOUT = 0.5
# Other loopback addresses share the server's port but have nothing listening: refused.
NOBODY = "127.0.0.2"


def ask(address: str, *, hosts: list[str], port: int, mail_from: str = "bounces@sender.test"):
    return check_smtp_rcpt(
        address,
        mx_hosts=hosts,
        helo="checker.sender.test",
        mail_from=mail_from,
        timeout=TIMEOUT,
        port=port,
    )


def test_accepted_recipient_passes_and_no_message_is_sent(smtp_server):
    server = smtp_server()

    result = ask("alice@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.PASS
    assert (result.check, result.subject) == ("smtp_rcpt", "alice@ok.test")
    assert result.details["reply_code"] == 250
    assert server.rcpt_seen == ["alice@ok.test"]
    assert server.data_received == 0
    steps = [s["step"] for s in result.details["attempts"][0]["steps"]]
    assert steps == ["connect", "ehlo", "mail", "rcpt", "rset", "quit"]


def test_unknown_user_fails_with_the_servers_words(smtp_server):
    server = smtp_server(unknown_users=["gone@ok.test"])

    result = ask("gone@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "recipient_unknown"
    assert result.details["reply_code"] == 550
    assert result.details["enhanced_status"] == "5.1.1"
    assert "User unknown" in result.summary
    assert server.data_received == 0


def test_greylisting_is_inconclusive(smtp_server):
    server = smtp_server(greylisted=["new@ok.test"])

    result = ask("new@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "greylisted"
    assert result.details["reply_code"] == 451


def test_refusal_on_policy_grounds_warns_instead_of_failing(smtp_server):
    reply = "550 5.7.1 <{address}>: Relay access denied"
    server = smtp_server(rcpt_replies={"far@ok.test": reply})

    result = ask("far@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "recipient_refused"
    assert result.details["bounce_class"] == "policy_block"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_refused_sender_says_nothing_about_the_address(smtp_server):
    # This server wants a login before MAIL FROM (530): our sender is refused, not the address.
    server = smtp_server(credentials=("user", "pw"), auth_require_tls=False)

    result = ask("alice@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "sender_refused"
    assert server.rcpt_seen == []


def test_null_sender_is_used_when_mail_from_is_empty(smtp_server):
    server = smtp_server()

    result = ask("alice@ok.test", hosts=[server.host], port=server.port, mail_from="")

    assert result.outcome is Outcome.PASS
    mail = next(s for s in result.details["attempts"][0]["steps"] if s["step"] == "mail")
    assert mail["code"] == 250


def test_first_answering_mx_is_asked_after_a_refused_one(smtp_server):
    server = smtp_server(unknown_users=["gone@ok.test"])

    result = ask("gone@ok.test", hosts=[NOBODY, server.host], port=server.port)

    assert result.outcome is Outcome.FAIL
    assert result.details["host"] == server.host
    assert result.details["attempts"][0]["reason"] == "connection_refused"


def test_busy_greeting_moves_on_to_the_next_mx(smtp_server, greeting_server):
    server = smtp_server()
    greeting_server("421 4.3.2 mx1 busy, try later", host=NOBODY, port=server.port)

    result = ask("alice@ok.test", hosts=[NOBODY, server.host], port=server.port)

    assert result.outcome is Outcome.PASS
    assert result.details["attempts"][0]["reason"] == "greeting_refused"


def test_no_mx_answering_is_inconclusive(silent_server, refused_port):
    silent = silent_server(port=refused_port)

    result = ask("alice@ok.test", hosts=[NOBODY, silent.host], port=silent.port)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "no_mx_answered"
    assert [a["reason"] for a in result.details["attempts"]] == ["connection_refused", "timeout"]


def test_no_mx_hosts_is_inconclusive():
    result = ask("alice@ok.test", hosts=[], port=25)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "no_mx_hosts"


def test_non_ascii_address_warns_when_the_server_lacks_smtputf8(smtp_server):
    server = smtp_server()

    result = ask("josé@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "smtputf8_unsupported"
    assert server.rcpt_seen == []


def test_non_ascii_address_is_asked_when_the_server_has_smtputf8(smtp_server):
    server = smtp_server(smtputf8=True)

    result = ask("josé@ok.test", hosts=[server.host], port=server.port)

    assert result.outcome is Outcome.PASS
    assert server.rcpt_seen == ["josé@ok.test"]
