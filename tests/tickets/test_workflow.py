"""The transition table: every allowed move per role works, every other is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from diagnostics.types import Owner
from tests.factories import file_ticket, move
from tickets import services
from tickets.models import AddressStatus, AttachmentKind, EventKind, Status
from tickets.roles import Role
from tickets.workflow import STATUS_OWNER, TRANSITIONS

pytestmark = pytest.mark.django_db

ROLE_FIXTURE = {
    "state_admin": "state_admin",
    "national_staff": "national",
    "vendor_liaison": "liaison",
}

ROLE_FIXTURE_ROLE = {role: Role(role) for role in ROLE_FIXTURE}

VALID_DATA = {
    "triage": {},
    "return_to_state": {"text": "Please check the quarantine."},
    "resubmit": {"spam_filter_checked": True, "text": "Checked, nothing there."},
    "escalate": {"text": "Please look these up."},
    "hand_back": {},
    "reactivate": {},
    "confirm": {
        "hard_bounce_prevention_affirmed": True,
        "delivery_override_reason": "The user phoned: mail arrives.",
    },
    "still_failing": {"text": "Still nothing."},
    "resolve": {"cause": "address_typo", "resolution": "Profile corrected."},
    "withdraw": {},
    "close": {},
    "reopen": {"text": "It is back."},
}


def record_findings(ticket, liaison, *, suppressed: bool, days_ago: int = 60):
    for address in ticket.addresses.all():
        services.address_record_finding(
            actor=liaison,
            number=ticket.number,
            address_id=address.pk,
            suppressed=suppressed,
            suppressed_at=timezone.now() - timedelta(days=days_ago) if suppressed else None,
            reason="hard bounce" if suppressed else "",
            bounce_text="550 5.1.1 user unknown" if suppressed else "",
        )
        if suppressed:
            services.address_reactivate(actor=liaison, number=ticket.number, address_id=address.pk)


def ticket_in(status: str, people, *, transition: str = "") -> object:
    """A ticket brought to `status` through the workflow itself."""
    admin, national, liaison = people["state_admin"], people["national"], people["liaison"]
    if status == Status.WITH_STATE_IT:
        return file_ticket(
            admin, ready=False, mail_admin_name="Mail Team", mail_admin_email="pm@northland.example"
        )
    ticket = file_ticket(admin)
    if status == Status.NEW:
        return ticket
    if status in (Status.RESOLVED, Status.CLOSED):
        move(ticket, national, "resolve", **VALID_DATA["resolve"])
        if status == Status.CLOSED:
            move(ticket, national, "close")
        return ticket
    move(ticket, national, "triage")
    if status == Status.TRIAGE:
        return ticket
    move(ticket, national, "escalate")
    if status == Status.WITH_VENDOR:
        # Prepare what the vendor's own transitions need.
        record_findings(ticket, liaison, suppressed=transition == "reactivate")
        return ticket
    record_findings(ticket, liaison, suppressed=True)
    move(ticket, liaison, "reactivate")
    assert status == Status.AWAITING_CONFIRMATION
    return ticket


CASES = [
    (name, source, role)
    for name, t in TRANSITIONS.items()
    for source in sorted(t.sources)
    for role in ROLE_FIXTURE
]


@pytest.mark.parametrize(("name", "source", "role"), CASES)
def test_transition_table_is_enforced_per_role(name, source, role, people, request):
    transition = TRANSITIONS[name]
    ticket = ticket_in(source, people, transition=name)
    ticket.refresh_from_db()
    assert ticket.status == source
    actor = request.getfixturevalue(ROLE_FIXTURE[role])
    if role in {r.value for r in transition.roles}:
        moved = move(ticket, actor, name, **VALID_DATA[name])
        assert moved.status == transition.target
        event = ticket.events.order_by("-pk").first()
        assert (event.kind, event.transition, event.from_status, event.to_status) == (
            EventKind.TRANSITION,
            name,
            source,
            transition.target,
        )
        assert event.actor == actor
    else:
        with pytest.raises((services.TransitionNotAllowed, Http404)):
            move(ticket, actor, name, **VALID_DATA[name])
        ticket.refresh_from_db()
        assert ticket.status == source


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_transition_from_a_wrong_status_is_refused(name, people):
    transition = TRANSITIONS[name]
    wrong = next(s for s in Status.values if s not in transition.sources)
    ticket = ticket_in(wrong, people)
    actor = people["national"] if "national_staff" in transition.roles else people["state_admin"]
    if "vendor_liaison" in transition.roles and wrong != Status.WITH_VENDOR:
        actor = people[
            "national"
        ]  # the liaison cannot even see it; national gets the clear refusal
    with pytest.raises((services.TransitionNotAllowed, Http404)):
        move(ticket, actor, name, **VALID_DATA[name])


def test_every_status_has_an_owner():
    assert set(STATUS_OWNER) == set(Status.values)
    assert STATUS_OWNER[Status.WITH_VENDOR] == Owner.VENDOR


def test_filing_without_spam_filter_check_starts_with_state_it(state_admin):
    ticket = file_ticket(state_admin, ready=False)
    assert ticket.status == Status.WITH_STATE_IT
    assert ticket.number == f"DT-{ticket.pk:06d}"


def test_escalate_needs_the_domain_mail_admin_contact(people):
    ticket = file_ticket(people["state_admin"], ready=False, spam_filter_checked=True)
    move(ticket, people["national"], "triage")
    with pytest.raises(services.GuardFailed) as error:
        move(ticket, people["national"], "escalate")
    assert "administers mail" in str(error.value)
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGE


def test_resubmit_needs_the_spam_filter_affirmation(people):
    ticket = ticket_in(Status.WITH_STATE_IT, people)
    with pytest.raises(services.GuardFailed, match="spam filter"):
        move(ticket, people["state_admin"], "resubmit", text="Done?")
    moved = move(ticket, people["state_admin"], "resubmit", spam_filter_checked=True)
    assert moved.status == Status.TRIAGE and moved.spam_filter_checked


def test_return_to_state_needs_a_question(people):
    ticket = ticket_in(Status.TRIAGE, people)
    with pytest.raises(services.GuardFailed, match="message"):
        move(ticket, people["national"], "return_to_state", text="")


def test_hand_back_needs_a_finding_for_every_address(people):
    ticket = file_ticket(people["state_admin"], "a@northland.example, b@northland.example")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    first = ticket.addresses.first()
    services.address_record_finding(
        actor=people["liaison"], number=ticket.number, address_id=first.pk, suppressed=False
    )
    with pytest.raises(services.GuardFailed, match="No vendor finding yet"):
        move(ticket, people["liaison"], "hand_back")


def test_reactivation_within_30_days_needs_the_deactivation_logs(people):
    liaison = people["liaison"]
    ticket = ticket_in(Status.TRIAGE, people)
    move(ticket, people["national"], "escalate")
    record_findings(ticket, liaison, suppressed=True, days_ago=10)
    with pytest.raises(services.GuardFailed, match="Deactivation logs are owed"):
        move(ticket, liaison, "reactivate")
    address = ticket.addresses.get()
    services.attachment_add(
        actor=liaison,
        number=ticket.number,
        upload=SimpleUploadedFile("deactivation.log", b"2026-11-12 550 5.1.1 user unknown"),
        kind=AttachmentKind.DEACTIVATION_LOG,
        address_id=address.pk,
    )
    assert move(ticket, liaison, "reactivate").status == Status.AWAITING_CONFIRMATION


def test_reactivation_refused_while_an_address_is_still_suppressed(people):
    liaison = people["liaison"]
    ticket = ticket_in(Status.TRIAGE, people)
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    services.address_record_finding(
        actor=liaison,
        number=ticket.number,
        address_id=address.pk,
        suppressed=True,
        suppressed_at=timezone.now() - timedelta(days=90),
    )
    with pytest.raises(services.GuardFailed, match="Still suppressed"):
        move(ticket, liaison, "reactivate")


def test_confirm_needs_proof_of_delivery_or_a_reason(people):
    ticket = ticket_in(Status.AWAITING_CONFIRMATION, people)
    admin = people["state_admin"]
    with pytest.raises(services.GuardFailed, match="Delivery is not proven"):
        move(ticket, admin, "confirm", hard_bounce_prevention_affirmed=True)
    with pytest.raises(services.GuardFailed, match="hard-bounce prevention"):
        move(ticket, admin, "confirm", delivery_override_reason="phoned")
    address = ticket.addresses.get()
    probe = services.probe_send(actor=admin, number=ticket.number, address_id=address.pk)
    services.probe_confirm(token=probe.token)
    address.refresh_from_db()
    assert address.status == AddressStatus.DELIVERY_CONFIRMED
    moved = move(ticket, admin, "confirm", hard_bounce_prevention_affirmed=True)
    assert moved.status == Status.RESOLVED and moved.hard_bounce_prevention_affirmed


def test_reopen_refused_after_the_window(people, settings):
    ticket = ticket_in(Status.RESOLVED, people)
    settings.REOPEN_WINDOW_DAYS = 0
    with pytest.raises(services.GuardFailed, match="file a new ticket"):
        move(ticket, people["state_admin"], "reopen", text="back")


def test_failed_guard_changes_nothing(people):
    ticket = ticket_in(Status.AWAITING_CONFIRMATION, people)
    ticket.refresh_from_db()
    before = (ticket.status, ticket.version, ticket.events.count())
    with pytest.raises(services.GuardFailed):
        move(ticket, people["state_admin"], "confirm", hard_bounce_prevention_affirmed=True)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.events.count()) == before
    assert not ticket.hard_bounce_prevention_affirmed


def test_a_stale_version_is_refused_and_nothing_is_lost(people):
    ticket = ticket_in(Status.TRIAGE, people)
    ticket.refresh_from_db()
    seen_version = ticket.version
    services.ticket_transition(
        actor=people["national"],
        number=ticket.number,
        name="escalate",
        expected_version=seen_version,
        data={},
    )
    with pytest.raises(services.StaleTicket, match="changed while you were looking"):
        services.ticket_transition(
            actor=people["national"],
            number=ticket.number,
            name="escalate",
            expected_version=seen_version,
            data={},
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.WITH_VENDOR
    assert ticket.events.filter(transition="escalate").count() == 1


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("role", sorted(ROLE_FIXTURE))
def test_page_offers_exactly_the_allowed_transitions(status, role, people, request, client):
    from tests.factories import PASSWORD
    from tickets.workflow import transitions_from

    ticket = ticket_in(status, people)
    actor = request.getfixturevalue(ROLE_FIXTURE[role])
    assert client.login(username=actor.username, password=PASSWORD)
    response = client.get(ticket.get_absolute_url())
    if response.status_code == 404:
        assert role == "vendor_liaison"  # never escalated: out of the vendor's sight
        return
    offered = set(re.findall(r'id="transition-([a-z_]+)"', response.content.decode()))
    ticket.refresh_from_db()
    assert offered == {t.name for t in transitions_from(ticket.status, ROLE_FIXTURE_ROLE[role])}
