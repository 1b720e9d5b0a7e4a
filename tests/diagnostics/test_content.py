"""The content check: our mail scored by a real spamd (network tests off), and what it says.

spamd is Debian's (`scripts/test-services` installs it); one process serves this module.
"""

from __future__ import annotations

import socket
import threading

import pytest

from diagnostics.content import (
    SpamdServer,
    check_content,
    content_latest,
    content_store,
    parse_report,
    sample_messages,
)
from diagnostics.runner import run_checks
from diagnostics.types import Cause, Outcome
from diagnostics.verdict import verdict_for
from tests.conftest import service_missing
from tests.diagnostics.verdict.builders import ADDRESS, days_ago, delivery_result, healthy
from tests.servers.spamd import SpamdProcess, free_tcp_port, spamd_installed

# No Date, no Message-ID, a subject in capitals and no text: rules that fire without the network.
SPAMMY = b"From: alerts@sender.test\r\nTo: user@example.org\r\nSubject: ACT NOW FREE MONEY\r\n\r\n"
TRIPPED = {"MISSING_DATE", "MISSING_MID", "SUBJ_ALL_CAPS", "EMPTY_MESSAGE"}


@pytest.fixture(scope="module")
def spamd():
    if not spamd_installed():
        service_missing("spamd is not installed (Debian package spamd; scripts/test-services)")
    with SpamdProcess() as process:
        yield process


class DictCache:
    """Django's cache API, enough of it: get and set with a timeout."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout=None):
        self.data[key] = value

    def delete(self, key):
        self.data.pop(key, None)


def test_a_message_built_to_trip_rules_fails_with_each_rule_and_its_meaning(spamd):
    result = check_content([("crafted", SPAMMY)], server=spamd.server)

    assert result.outcome is Outcome.FAIL
    message = result.details["messages"][0]
    assert message["is_spam"] is True
    assert message["score"] >= message["threshold"] == result.details["threshold"]
    hits = {rule["rule"]: rule for rule in message["rules"]}
    assert set(hits) >= TRIPPED
    # The meaning is SpamAssassin's own description, read from its report.
    assert "Date" in hits["MISSING_DATE"]["description"]
    assert "capitals" in hits["SUBJ_ALL_CAPS"]["description"]
    assert hits["MISSING_DATE"]["hint"]  # and our advice for the rules that commonly fire
    assert sum(r["score"] for r in message["rules"]) == pytest.approx(message["score"], abs=0.05)
    assert "crafted" in result.summary


def test_each_notification_template_is_rendered_and_scored(spamd):
    messages = sample_messages()

    result = check_content(messages, server=spamd.server)

    assert [m["name"] for m in result.details["messages"]] == ["event", "probe", "recurrence"]
    for message in result.details["messages"]:
        rules = {r["rule"] for r in message["rules"]}
        # Sent through Django's mail classes: the header rules a hand-built message trips stay off.
        assert not rules & {"MISSING_DATE", "MISSING_MID", "EMPTY_MESSAGE", "MISSING_SUBJECT"}
        assert message["score"] < message["threshold"]
    worst = max(m["score"] for m in result.details["messages"])
    expected = Outcome.WARN if worst >= 2.5 else Outcome.PASS
    assert result.outcome is expected


def test_a_warning_below_spams_threshold_at_the_configured_score(spamd):
    # A date and some text: only the capitals and the missing Message-ID are left.
    calmer = SPAMMY.replace(
        b"\r\n\r\n", b"\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nYour request is open.\r\n"
    )
    score = check_content([("calmer", calmer)], server=spamd.server).details["score"]

    result = check_content([("calmer", calmer)], server=spamd.server, warn_at=score - 0.1)

    assert score < result.details["threshold"]
    assert result.outcome is Outcome.WARN


def test_spamd_not_answering_is_inconclusive_with_the_reason():
    port = free_tcp_port()  # nothing listens there

    result = check_content(sample_messages(), server=SpamdServer(port=port, timeout=2))

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "spamd_unavailable"
    assert f"127.0.0.1:{port} is not answering" in result.summary


def test_a_server_that_is_not_spamd_is_inconclusive():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_nonsense() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer_nonsense, daemon=True)
    thread.start()
    try:
        result = check_content([("crafted", SPAMMY)], server=SpamdServer(port=port, timeout=5))
    finally:
        thread.join(5)
        listener.close()

    assert result.outcome is Outcome.INCONCLUSIVE
    assert "not spamd" in result.summary


def test_a_silent_server_is_a_timeout_not_a_hang():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        server = SpamdServer(port=listener.getsockname()[1], timeout=0.5)
        result = check_content([("crafted", SPAMMY)], server=server)
    finally:
        listener.close()

    assert result.outcome is Outcome.INCONCLUSIVE
    assert "did not answer within 0.5 s" in result.summary


def test_wrapped_rule_descriptions_are_joined():
    report = (
        "Content analysis details:   (3.1 points, 5.0 required)\n\n"
        " pts rule name              description\n"
        "---- ---------------------- --------------------------------------------------\n"
        " 2.7 MISSING_DATE           Missing Date: header\n"
        " 0.4 SOME_LONG_RULE         A description that SpamAssassin wraps onto\n"
        "                            a second line\n"
        "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
    )

    hits = parse_report(report)

    assert [(h.rule, h.score) for h in hits] == [
        ("MISSING_DATE", 2.7),
        ("SOME_LONG_RULE", 0.4),
        ("NO_RELAYS", -0.0),
    ]
    assert hits[1].description == "A description that SpamAssassin wraps onto a second line"


def test_a_high_stored_score_joins_a_run_and_the_overdue_probe_advice(spamd, resolver, sender):
    cache = DictCache()
    content_store(
        cache, check_content([("probe", SPAMMY)], server=spamd.server), scored_at="2026-01-01"
    )

    report = run_checks([], resolver=resolver, sender=sender, cache=cache)
    content = [r for r in report.sender if r.check == "content"]
    assert [r.outcome for r in content] == [Outcome.FAIL]

    delivery = delivery_result(probe_sent_at=days_ago(4), overdue=True)
    verdict = verdict_for(ADDRESS, [*healthy(delivery=delivery), *content])
    assert verdict.cause is Cause.SPAM_FILTER
    assert "Our content may be filtered too" in verdict.next_step
    assert "MISSING_DATE" in verdict.next_step

    plain = verdict_for(ADDRESS, healthy(delivery=delivery))
    assert "Our content may be filtered" not in plain.next_step


def test_a_low_score_or_no_score_adds_nothing_to_the_advice(spamd, resolver, sender):
    cache = DictCache()
    content_store(
        cache, check_content(sample_messages(), server=spamd.server), scored_at="2026-01-01"
    )
    stored, scored_at = content_latest(cache)
    assert scored_at == "2026-01-01"
    delivery = delivery_result(probe_sent_at=days_ago(4), overdue=True)

    verdict = verdict_for(ADDRESS, [*healthy(delivery=delivery), stored])
    if stored.outcome is Outcome.PASS:
        assert "Our content may be filtered" not in verdict.next_step

    unscored = check_content(sample_messages(), server=SpamdServer(port=free_tcp_port()))
    content_store(cache, unscored, scored_at="2026-01-02")
    report = run_checks([], resolver=resolver, sender=sender, cache=cache)
    assert not [r for r in report.sender if r.check == "content"]  # inconclusive: left out
