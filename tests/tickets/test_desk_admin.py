"""The narrowed admin of national office staff, and its audit log."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from tests.factories import UserFactory, file_ticket
from tickets.models import CannedReply
from tickets.roles import Role, role_of

pytestmark = pytest.mark.django_db


def _inline_management(prefix: str, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(initial),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_national_staff_get_the_admin_with_their_models_only(client, people):
    client.force_login(people["national"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    for shown in (
        "Organisations",
        "Mail domains",
        "Users",
        "Canned replies",
        "Tickets",
        "Audit log",
    ):
        assert shown in page, shown
    for hidden in ("Groups", "Tokens", "Access attempts"):
        assert hidden not in page, hidden
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


@pytest.mark.parametrize("role", ["state_admin", "liaison"])
def test_state_admins_and_liaisons_get_no_admin_even_as_staff(client, people, role):
    user = people[role]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_change_in_the_admin_is_in_the_audit_log(client, people, state):
    client.force_login(people["national"])
    url = reverse("admin:tickets_organisation_change", args=[state.pk])
    response = client.post(
        url, {"name": "Northland Agency", "kind": "state", **_inline_management("mail_domains")}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    state.refresh_from_db()
    assert state.name == "Northland Agency"
    entry = LogEntry.objects.get(object_id=str(state.pk), action_flag=CHANGE)
    assert entry.user == people["national"]
    assert "Name" in entry.get_change_message()
    log = client.get(reverse("admin:tickets_auditlogentry_changelist")).content.decode()
    assert "Northland Agency" in log and "Changed Name" in log


def test_canned_replies_are_edited_in_the_admin_and_logged(client, people):
    client.force_login(people["national"])
    response = client.post(
        reverse("admin:tickets_cannedreply_add"),
        {
            "title": "Try a resend",
            "body": "Please ask the user to request a new reset mail.",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    reply = CannedReply.objects.get(title="Try a resend")
    assert LogEntry.objects.filter(object_id=str(reply.pk), user=people["national"]).exists()


def test_the_seeded_canned_replies_are_there():
    titles = set(CannedReply.objects.values_list("title", flat=True))
    assert {
        "Spam filter checklist",
        "Hard bounce statement",
        "Alternate mailbox workaround",
    } <= titles


def test_national_staff_read_tickets_but_do_not_change_them(client, people):
    ticket = file_ticket(people["state_admin"])
    client.force_login(people["national"])
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"subject": "Changed"}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.subject != "Changed"


def test_national_staff_manage_only_the_people_of_states(client, people):
    client.force_login(people["national"])
    listed = client.get(reverse("admin:tickets_user_changelist")).content.decode()
    assert people["state_admin"].username in listed
    assert f">{people['liaison'].username}<" not in listed
    other = people["liaison"]
    response = client.get(reverse("admin:tickets_user_change", args=[other.pk]))
    assert response.status_code == 302  # not among the users they may see: "does not exist"
    admin = people["state_admin"]
    url = reverse("admin:tickets_user_change", args=[admin.pk])
    form = client.get(url).context["adminform"].form
    assert "is_superuser" not in form.fields and "groups" not in form.fields
    response = client.post(
        url,
        {
            "username": admin.username,
            "first_name": "Nora",
            "last_name": "North",
            "email": "nora@northland.example",
            "organisation": admin.organisation_id,
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    admin.refresh_from_db()
    assert (admin.email, admin.is_superuser, admin.is_staff) == (
        "nora@northland.example",
        False,
        False,
    )
    assert LogEntry.objects.filter(object_id=str(admin.pk), user=people["national"]).exists()


def test_superusers_keep_the_whole_admin(client, db):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 200
    assert client.get(reverse("admin:tickets_auditlogentry_changelist")).status_code == 200


def test_national_staff_add_a_state_admin_and_nothing_else(client, people):
    client.force_login(people["national"])
    url = reverse("admin:tickets_user_add")
    form = client.get(url).context["adminform"].form
    assert "groups" not in form.fields and "is_superuser" not in form.fields
    assert "is_staff" not in form.fields
    state = people["state_admin"].organisation
    # Only states are offered, and a state, an address and a password are required.
    offered = {choice.value for choice, _ in form.fields["organisation"].choices if choice}
    assert offered == set(type(state).objects.filter(kind=state.kind).values_list("pk", flat=True))
    missing = client.post(url, {"username": "nell", "usable_password": "true"})
    assert (
        missing.status_code == 200
        and not type(people["national"]).objects.filter(username="nell").exists()
    )
    response = client.post(
        url,
        {
            "username": "nell",
            "usable_password": "true",
            "password1": "A-long-enough-passphrase-9",
            "password2": "A-long-enough-passphrase-9",
            "first_name": "Nell",
            "last_name": "North",
            "email": "nell@northland.example",
            "organisation": state.pk,
            "is_superuser": "on",
            "is_staff": "on",
            "groups": ["1"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    nell = type(people["national"]).objects.get(username="nell")
    assert (nell.organisation, nell.email, nell.is_staff, nell.is_superuser) == (
        state,
        "nell@northland.example",
        False,
        False,
    )
    assert role_of(nell) == Role.STATE_ADMIN
    assert nell.check_password("A-long-enough-passphrase-9")
    assert LogEntry.objects.filter(object_id=str(nell.pk), user=people["national"]).exists()
    # A liaison's organisation is not a state: refused.
    refused = client.post(
        url,
        {
            "username": "vic",
            "usable_password": "true",
            "password1": "A-long-enough-passphrase-9",
            "password2": "A-long-enough-passphrase-9",
            "email": "vic@vendor.example",
            "organisation": people["liaison"].organisation_id,
        },
    )
    assert refused.status_code == 200
    assert not type(people["national"]).objects.filter(username="vic").exists()
