"""The API answers what its OpenAPI schema says, as each role: fuzzed with schemathesis.

Every operation of `/api/schema/` is driven in process (WSGI, no server) with cases that fit
the schema and cases that break it, as a state admin, national staff and the vendor liaison,
against tickets in several states. Schemathesis' response checks must all hold: no 5xx, only
documented status codes, content types and headers, and bodies that match their schema.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import file_ticket, move
from tickets import services
from tickets.models import AffectedAddress, Cause, EventKind, Status

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Per operation, role and mode (valid / invalid input): 3 roles x 12 operations x 2 modes, in
# about 30 s on two cores. A longer hunt, locally: SCHEMA_FUZZ_EXAMPLES=300 SCHEMA_FUZZ_SEED=7.
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20261201"))
UNKNOWN_TICKET = "DT-999999"
JSON = "application/json"


@dataclass
class Fuzzed:
    cases: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def wsgi_app():
    # As Django's test client does: a request must not close the test's connection, which
    # holds the transaction every seeded row lives in.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(monkeypatch):
    # 429 is documented (and checked by test_throttled_answer_is_documented); here it would
    # only hide the answers behind it once a role has made its 600 calls of the minute.
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": None}
    )


def seed_tickets(people) -> list[str]:
    """Tickets in every stage, Northland's and one of Southport's; returns their numbers."""
    admin, national, vendor = people["state_admin"], people["national"], people["liaison"]
    fresh = file_ticket(admin, "new@northland.example")
    asked = file_ticket(admin, "asked@northland.example")
    move(asked, national, "return_to_state", text="Which server?")
    triaged = file_ticket(admin, "triaged@northland.example")
    move(triaged, national, "triage")
    with_vendor = file_ticket(admin, "a@northland.example, b@northland.example")
    move(with_vendor, national, "triage")
    move(with_vendor, national, "escalate")
    reactivated = file_ticket(admin, "gone@northland.example")
    move(reactivated, national, "triage")
    move(reactivated, national, "escalate")
    address = reactivated.addresses.get()
    services.address_record_finding(
        actor=vendor,
        number=reactivated.number,
        address_id=address.pk,
        suppressed=True,
        suppressed_at=timezone.now() - timedelta(days=90),
        reason="Hard bounce",
        bounce_text="550 5.1.1 user unknown",
        source="api",
    )
    services.address_reactivate(
        actor=vendor, number=reactivated.number, address_id=address.pk, source="api"
    )
    move(reactivated, vendor, "reactivate", text="Done")
    # A line the system wrote: its `actor` is null.
    services.ticket_note(ticket=reactivated, kind=EventKind.REMINDER, text="Still waiting.")
    resolved = file_ticket(admin, "fixed@northland.example")
    move(resolved, national, "resolve", cause=Cause.choices[0][0], resolution="Fixed the MX.")
    withdrawn = file_ticket(admin, "never@northland.example")
    move(withdrawn, admin, "withdraw")
    foreign = file_ticket(people["foreign_admin"], "x@southport.example")
    tickets = [fresh, asked, triaged, with_vendor, reactivated, resolved, withdrawn, foreign]
    for ticket in tickets:
        ticket.refresh_from_db()
    assert {t.status for t in tickets} == set(Status)
    return [t.number for t in tickets]


def targets(numbers: list[str], with_address: bool) -> list[dict]:
    """Path parameters that reach real rows (and a few that reach nothing)."""
    if not with_address:
        return [{"number": n} for n in [*numbers, UNKNOWN_TICKET]]
    pairs = AffectedAddress.objects.filter(ticket__number__in=numbers)
    found = [
        {"number": a.ticket.number, "address_id": a.pk} for a in pairs.select_related("ticket")
    ]
    # An address that exists, asked for through another ticket, is 404 like a missing one.
    return [*found, {"number": numbers[0], "address_id": found[-1]["address_id"]}]


def valid_bodies(state_id: int) -> dict[str, list[dict]]:
    """Bodies the services accept, which random data seldom hits (real addresses, a state)."""
    addresses = ["pat@northland.example", "Jo Doe <jo@northland.example>"]
    return {
        "POST /api/tickets/": [
            {"symptom": "all_mail_stopped", "addresses": addresses, "state": state_id},
            {"symptom": "password_mail_missing", "addresses": "new@northland.example"},
        ],
        "POST /api/tickets/{number}/addresses/": [{"addresses": ["more@northland.example"]}],
        "POST /api/tickets/{number}/addresses/{address_id}/finding/": [
            {"suppressed": False},
            {"suppressed": True, "suppressed_at": "2026-01-02T03:04:05Z", "reason": "Bounce"},
        ],
        "POST /api/tickets/{number}/transitions/{name}/": [
            {"text": "Please look", "cause": "other", "resolution": "Fixed"},
            {"version": 1, "text": "Acting on an old version"},
        ],
    }


def fuzz(schema, token: str, numbers: list[str], bodies: dict[str, list[dict]]) -> Fuzzed:
    fuzzed = Fuzzed()
    headers = {"Authorization": f"Token {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        path_targets = (
            targets(numbers, "{address_id}" in operation.path)
            if "{number}" in operation.path
            else [{}]
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = []
            if mode is GenerationMode.POSITIVE:
                # Real tickets and addresses, with generated bodies and with valid ones.
                for body in [None, *bodies.get(operation.label, [])]:
                    extra = {} if body is None else {"body": body, "media_type": JSON}
                    strategies.append(
                        st.sampled_from(path_targets).flatmap(
                            lambda p, op=operation, kw=extra: op.as_strategy(
                                generation_mode=GenerationMode.POSITIVE, path_parameters=p, **kw
                            )
                        )
                    )
            # Anything the schema allows (or, negative, breaks), wherever it points.
            strategies.append(operation.as_strategy(generation_mode=mode))

            @seed(SEED)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            @given(case=st.one_of(strategies))
            def run(case):
                fuzzed.cases += 1
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                fuzzed.statuses.setdefault(case.operation.label, set()).add(response.status_code)

            try:
                run()
            # schemathesis' FailureGroup is a BaseExceptionGroup; collect it with the rest.
            except (BaseExceptionGroup, Exception) as exc:
                fuzzed.failures.append(f"{operation.label} [{mode.value}]\n{exc}")
    return fuzzed


@pytest.fixture
def api_schema(wsgi_app, unthrottled):
    return schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)


@pytest.mark.parametrize("role", ["state_admin", "national", "liaison"])
def test_every_answer_conforms_to_the_schema(role, people, api_schema):
    numbers = seed_tickets(people)
    token, _ = Token.objects.get_or_create(user=people[role])
    fuzzed = fuzz(
        api_schema, token.key, numbers, valid_bodies(people["state_admin"].organisation_id)
    )
    print(f"{role}: {fuzzed.cases} cases; statuses {fuzzed.statuses}")
    assert not fuzzed.failures, "\n\n".join(fuzzed.failures)
    # The seeded tickets were reached, not only 404s for numbers that exist nowhere.
    unreached = [op for op, seen in fuzzed.statuses.items() if op[:3] == "GET" and 200 not in seen]
    assert not unreached, fuzzed.statuses


def test_without_a_token_every_operation_answers_a_documented_401(api_schema, people):
    numbers = seed_tickets(people)
    statuses = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        known = {"number": numbers[0], "address_id": 1, "name": "withdraw"}
        path = {name: value for name, value in known.items() if f"{{{name}}}" in operation.path}
        response = operation.Case(path_parameters=path).call_and_validate(checks=CHECKS)
        statuses.add(response.status_code)
    assert statuses == {401}


def test_throttled_answer_is_documented(api_schema, people, monkeypatch):
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "1/hour"}
    )
    token, _ = Token.objects.get_or_create(user=people["national"])
    operation = api_schema["/api/tickets/"]["GET"]
    statuses = []
    for _ in range(3):  # the first call may still be allowed, whatever an earlier run left
        response = operation.Case().call_and_validate(
            headers={"Authorization": f"Token {token.key}"}, checks=CHECKS
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert int(response.headers["retry-after"][0]) > 0
