"""Mail we received, as the moderation page reads it."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets.inbound.body import filing_request, reply_text
from tickets.inbound.parse import parse_message
from tickets.models import (
    InboundMessage,
    InboundOutcome,
    Organisation,
    OrganisationKind,
    Ticket,
)

# A message still "received" this long after it came was interrupted (the database went away
# while it was handled): it waits for a person like the others.
INTERRUPTED_AFTER = timedelta(minutes=10)


def waiting_for_moderation() -> Q:
    return Q(outcome=InboundOutcome.MODERATION) | Q(
        outcome=InboundOutcome.RECEIVED, received_at__lt=timezone.now() - INTERRUPTED_AFTER
    )


def is_waiting(inbound: InboundMessage) -> bool:
    return InboundMessage.objects.filter(waiting_for_moderation(), pk=inbound.pk).exists()


def moderation_queue() -> QuerySet[InboundMessage]:
    """Messages waiting for national staff, oldest first (the raw bytes left out)."""
    return (
        InboundMessage.objects.filter(waiting_for_moderation())
        .defer("raw")
        .order_by("received_at", "pk")
    )


def inbound_recent(*, limit: int = 50) -> list[InboundMessage]:
    """The latest messages, whatever became of them, with their ticket and person."""
    return list(
        InboundMessage.objects.defer("raw").select_related("ticket", "person", "handled_by")[:limit]
    )


def inbound_get(*, pk: int) -> InboundMessage | None:
    return (
        InboundMessage.objects.select_related("ticket", "person", "handled_by")
        .filter(pk=pk)
        .first()
    )


def filing_states() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.STATE).order_by("name")


DRAFT_SALT = "tickets.inbound.draft"
DRAFT_MAX_AGE = 14 * 24 * 3600  # seconds a draft link works


def inbound_draft_id(*, user, token: str) -> int | None:
    """The message a draft link names, when the signature holds and the link is the user's."""
    try:
        value = signing.loads(token, salt=DRAFT_SALT, max_age=DRAFT_MAX_AGE)
        inbound_id, user_id = int(value["inbound"]), int(value["user"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return inbound_id if user_id == user.pk else None


def draft_submission_token(inbound_id: int) -> str:
    """The filing form's submission token for a draft: one ticket per draft, however often sent."""
    return f"inbound-draft:{inbound_id}"


def inbound_draft_ticket(*, user, token: str) -> Ticket | None:
    """The ticket a draft link already filed, or None (not filed yet, bad or not the user's)."""
    inbound_id = inbound_draft_id(user=user, token=token)
    if inbound_id is None:
        return None
    inbound = (
        InboundMessage.objects.defer("raw")
        .select_related("ticket")
        .filter(pk=inbound_id, person_id=user.pk, outcome=InboundOutcome.FILED)
        .first()
    )
    if inbound is not None and inbound.ticket is not None:
        return inbound.ticket
    # Filed, and the link not marked yet (the two are separate transactions).
    return Ticket.objects.filter(
        reporter=user, submission_token=draft_submission_token(inbound_id)
    ).first()


def inbound_draft_initial(*, user, token: str) -> dict[str, object] | None:
    """The filing form's values from the sender's own draft mail, or None (bad or not theirs)."""
    inbound_id = inbound_draft_id(user=user, token=token)
    if inbound_id is None:
        return None
    inbound = InboundMessage.objects.filter(
        pk=inbound_id, person_id=user.pk, outcome=InboundOutcome.DRAFT
    ).first()
    if inbound is None:
        return None
    mail = parse_message(bytes(inbound.raw))
    request = filing_request(reply_text(mail.text) or mail.text)
    initial = request.form_initial()
    if not initial["description"]:
        initial["description"] = mail.subject
    initial["submission_token"] = draft_submission_token(inbound.pk)
    return initial
