"""The relay check against real SMTP servers on 127.0.0.1: every outcome, with short timeouts."""

from __future__ import annotations

import socket

import pytest

from diagnostics.checks.relay import RelayConfig, check_relay
from diagnostics.checks.smtp_session import stop_for_error
from diagnostics.types import Outcome
from tests.servers import smtp as servers

from ..conftest import wait_for

# Fixtures from the shared SMTP servers module, made visible to this module's tests.
tls_files = servers.tls_files
smtp_server = servers.smtp_server
silent_server = servers.silent_server
greeting_server = servers.greeting_server
refused_port = servers.refused_port

TIMEOUT = 0.5
USER, PASSWORD = "notify-relay", "correct horse battery"


def relay(server, **options) -> RelayConfig:
    defaults = {"host": server.host, "port": server.port, "starttls": False, "timeout": TIMEOUT}
    return RelayConfig(**(defaults | options))


def steps(result) -> list[str]:
    return [step["step"] for step in result.details["steps"]]


def test_plain_relay_without_tls_or_login_passes_with_banner_and_timings(smtp_server):
    server = smtp_server()

    result = check_relay(relay(server), helo="checker.test")

    assert result.outcome is Outcome.PASS
    assert result.check == "relay"
    assert result.subject == f"127.0.0.1:{server.port}"
    assert "mx.test" in result.details["banner"]
    assert steps(result) == ["connect", "ehlo", "quit"]
    assert all(isinstance(step["ms"], int) for step in result.details["steps"])
    assert result.details["steps"][1]["code"] == 250


def test_starttls_and_login_pass_and_report_tls_version(smtp_server, tls_files):
    server = smtp_server(starttls=True, credentials=(USER, PASSWORD))

    result = check_relay(
        relay(server, starttls=True, username=USER, password=PASSWORD, cafile=str(tls_files.cert))
    )

    assert result.outcome is Outcome.PASS, result.summary
    assert steps(result) == ["connect", "ehlo", "starttls", "ehlo_after_tls", "auth", "quit"]
    assert result.details["tls_version"].startswith("TLSv1")
    assert result.details["authenticated"] is True
    assert "PLAIN" in result.details["auth_mechanisms"]
    assert server.auth_attempts == [USER]
    assert server.data_received == 0


def test_required_starttls_not_offered_fails(smtp_server):
    server = smtp_server()

    result = check_relay(relay(server, starttls=True))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "starttls_not_offered"
    assert result.details["failed_step"] == "starttls"
    assert "STARTTLS" in result.summary


def test_untrusted_certificate_fails(smtp_server):
    server = smtp_server(starttls=True)

    # No cafile: the system CAs do not trust a self-signed certificate, nor would our sender.
    result = check_relay(relay(server, starttls=True))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "tls_certificate_invalid"
    assert result.details["failed_step"] == "starttls"


def test_wrong_password_fails_with_535_and_never_leaks_the_password(smtp_server, tls_files):
    server = smtp_server(starttls=True, credentials=(USER, PASSWORD))
    config = relay(
        server, starttls=True, username=USER, password="wrong one", cafile=str(tls_files.cert)
    )

    result = check_relay(config)

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "auth_rejected"
    assert "535" in result.summary
    assert "wrong one" not in repr(result) and "wrong one" not in repr(config)


def test_login_configured_but_not_offered_fails(smtp_server):
    server = smtp_server()

    result = check_relay(relay(server, username=USER, password=PASSWORD))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "auth_not_offered"


def test_auth_offered_only_after_starttls_says_to_turn_starttls_on(smtp_server):
    server = smtp_server(starttls=True, credentials=(USER, PASSWORD))

    result = check_relay(relay(server, starttls=False, username=USER, password=PASSWORD))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "auth_not_offered"
    assert "turn STARTTLS on" in result.summary


def test_refused_connection_is_a_real_failure_of_our_outbound_path(refused_port):
    result = check_relay(RelayConfig(host="127.0.0.1", port=refused_port, timeout=TIMEOUT))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "connection_refused"
    assert result.details["failed_step"] == "connect"


def test_relay_that_never_answers_is_inconclusive_after_one_timed_out_connection(silent_server):
    server = silent_server()

    result = check_relay(RelayConfig(host=server.host, port=server.port, timeout=TIMEOUT))

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "timeout"
    # It gave up on the greeting it waited for, and did not try again.
    assert result.details["failed_step"] == "connect"
    assert steps(result) == ["connect"]
    assert "timed out" in result.details["steps"][0]["error"]
    assert "no answer in time during connect" in result.summary
    wait_for(lambda: server.connections)  # the listener accepts on its own thread
    assert len(server.connections) == 1


def test_relay_that_stalls_after_its_greeting_is_inconclusive(greeting_server):
    server = greeting_server("220 relay.test ESMTP")

    result = check_relay(RelayConfig(host=server.host, port=server.port, timeout=TIMEOUT))

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "timeout"
    assert result.details["failed_step"] == "ehlo"
    assert result.details["banner"] == "relay.test ESMTP"


def test_554_greeting_fails(greeting_server):
    server = greeting_server("554 5.7.1 relay.test: your address is not allowed to connect")

    result = check_relay(RelayConfig(host=server.host, port=server.port, timeout=TIMEOUT))

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "banner_rejected"
    assert "not allowed" in result.details["banner"]


def test_421_greeting_is_inconclusive(greeting_server):
    server = greeting_server("421 4.3.2 relay.test: too busy, try again later")

    result = check_relay(RelayConfig(host=server.host, port=server.port, timeout=TIMEOUT))

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "temporary_error"


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "fail", "host_not_found"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "inconclusive", "dns_error"),
        (ConnectionRefusedError(111, "Connection refused"), "fail", "connection_refused"),
        (TimeoutError("timed out"), "inconclusive", "timeout"),
        (OSError(101, "Network is unreachable"), "inconclusive", "unreachable"),
    ],
)
def test_network_errors_are_judged_by_how_definite_they_are(error, outcome, reason):
    # DNS answers for the relay name cannot be produced without leaving 127.0.0.1, so the
    # judgement of resolver errors is checked on the errors themselves.
    stop = stop_for_error("connect", error)

    assert (str(stop.outcome), stop.reason) == (outcome, reason)


def test_config_from_settings_is_none_without_a_host(settings):
    settings.NOTIFY_RELAY_HOST = ""

    assert RelayConfig.from_settings() is None


def test_config_from_settings_reads_every_relay_setting(settings):
    settings.NOTIFY_RELAY_HOST = "smtp.relay.test"
    settings.NOTIFY_RELAY_PORT = 2525
    settings.NOTIFY_RELAY_USER = USER
    settings.NOTIFY_RELAY_PASSWORD = PASSWORD
    settings.NOTIFY_RELAY_STARTTLS = False
    settings.NOTIFY_RELAY_TIMEOUT = 3.0

    config = RelayConfig.from_settings()

    assert config == RelayConfig(
        host="smtp.relay.test",
        port=2525,
        username=USER,
        password=PASSWORD,
        starttls=False,
        timeout=3.0,
    )
    assert PASSWORD not in repr(config)
