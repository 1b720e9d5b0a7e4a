"""Two people acting on one ticket at once: one wins, the other is told to reload."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.factories import UserFactory, file_ticket, move
from tickets import services
from tickets.models import Status
from tickets.roles import Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only meaningful on PostgreSQL (set DATABASE_URL)")


def race(attempts):
    """Run the callables at the same instant in threads; return what each raised or returned."""
    barrier = threading.Barrier(len(attempts))
    results = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait()
            results[index] = attempt()
        except Exception as error:  # noqa: BLE001 - the result under test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_staff_escalating_at_once_one_wins(people, national_office):
    other = UserFactory(
        username="national2", organisation=national_office, role=Role.NATIONAL_STAFF
    )
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    seen = ticket.version

    def attempt(actor, name, data):
        return lambda: services.ticket_transition(
            actor=actor, number=ticket.number, name=name, expected_version=seen, data=data
        )

    results = race(
        [
            attempt(people["national"], "escalate", {"text": "to vendor"}),
            attempt(other, "return_to_state", {"text": "question"}),
        ]
    )
    stale = [r for r in results if isinstance(r, services.StaleTicket)]
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 1 and len(stale) == 1, results
    ticket.refresh_from_db()
    assert ticket.status == won[0].status
    assert ticket.status in {Status.WITH_VENDOR, Status.WITH_STATE_IT}
    assert ticket.events.filter(kind="transition").exclude(transition="triage").count() == 1


def test_concurrent_comments_are_all_kept(people):
    ticket = file_ticket(people["state_admin"])
    results = race(
        [
            lambda: services.ticket_comment(
                actor=people["national"], number=ticket.number, text="A"
            ),
            lambda: services.ticket_comment(
                actor=people["state_admin"], number=ticket.number, text="B"
            ),
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert set(ticket.events.filter(kind="comment").values_list("text", flat=True)) == {"A", "B"}


def test_a_triple_click_on_file_ticket_files_once(people):
    from tickets.addresses import parse_address_list

    addresses, _ = parse_address_list("jane@ok.test")

    def submit():
        return services.ticket_file(
            actor=people["state_admin"],
            symptom="all_mail_stopped",
            addresses=addresses,
            submission_token="one-form",
            diagnose=False,
        )

    results = race([submit, submit, submit])

    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.pk for r in results}) == 1
    from tickets.models import Ticket

    assert Ticket.objects.count() == 1
