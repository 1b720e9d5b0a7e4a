"""factory_boy factories; tickets are made through the services so they are real."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from tickets import services
from tickets.addresses import parse_address_list
from tickets.models import Organisation, OrganisationKind, Symptom, Ticket, User

PASSWORD = "correct-horse-battery"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.STATE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@helpdesk.example")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted.value)[0])
        if create:
            self.save()


def file_ticket(
    actor,
    addresses: str = "jane.roe@northland.example",
    *,
    state=None,
    ready: bool = True,
    **fields,
) -> Ticket:
    """File a ticket through the service; `ready` fills what escalation needs."""
    parsed, problems = parse_address_list(addresses)
    assert not problems, problems
    if ready:
        fields.setdefault("spam_filter_checked", True)
        fields.setdefault("mail_admin_name", "Mail Team")
        fields.setdefault("mail_admin_email", "postmaster@northland.example")
    fields.setdefault("symptom", Symptom.ALL_MAIL_STOPPED)
    return services.ticket_file(actor=actor, state=state, addresses=parsed, **fields)


def move(ticket: Ticket, actor, name: str, **data) -> Ticket:
    """Take a transition from the ticket's current version."""
    ticket.refresh_from_db()
    return services.ticket_transition(
        actor=actor, number=ticket.number, name=name, expected_version=ticket.version, data=data
    )
