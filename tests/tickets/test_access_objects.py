"""Objects named in requests: ids of another ticket (IDOR), fields nobody may set (mass
assignment), and searches and filters that must find nothing of another state."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from tests.tickets.access import TICKETS, build_world, leaked, send
from tickets.models import AffectedAddress, Attachment, DeliveryProbe, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(people, state, other_state, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "100000/minute")
    return build_world(people, state, other_state)


def snapshot(ticket) -> dict:
    ticket.refresh_from_db()
    return {f: getattr(ticket, f) for f in ("status", "state_id", "reporter_id", "number")} | {
        "version": ticket.version,
        "addresses": sorted(ticket.addresses.values_list("address", "status")),
        "attachments": ticket.attachments.count(),
    }


# --- IDOR: an id of another ticket, through a ticket of one's own -----------------------------
# (route, who asks, the ticket in the URL, the ticket the id belongs to). Every one is 404 and
# leaves the other ticket as it was; national staff see both tickets and still get 404.
ADDRESS_IDOR = [
    ("tickets:finding", "liaison", "with_vendor", "own"),
    ("tickets:finding", "national", "with_vendor", "foreign"),
    ("tickets:reactivate", "liaison", "with_vendor", "past_vendor"),
    ("tickets:vendor_lookup", "liaison", "with_vendor", "foreign"),
    ("tickets:vendor_reactivate", "national", "with_vendor", "own"),
    ("tickets:probe_send", "state_admin", "own", "foreign"),
    ("tickets:probe_send", "national", "own", "with_vendor"),
    ("ticket-finding", "liaison", "with_vendor", "own"),
    ("ticket-finding", "national", "with_vendor", "foreign"),
    ("ticket-reactivate", "national", "with_vendor", "past_vendor"),
]


def test_an_address_id_of_another_ticket_is_404(world):
    problems = []
    for route, role, via, target in ADDRESS_IDOR:
        api = not route.startswith("tickets:")
        client = world.api_client(role) if api else world.page_client(role)
        number, address_id = world.tickets[via].number, world.addresses[target].pk
        url = reverse(route, kwargs={"number": number, "address_id": address_id})
        before = (snapshot(world.tickets[via]), snapshot(world.tickets[target]))
        probes = DeliveryProbe.objects.count()
        data = {"suppressed": False} if api else {"suppressed": "no"}
        response = send(client, "POST", url, data, api=api)
        case = f"{route} as {role} via {via} to {target}"
        if response.status_code != 404:
            problems.append(f"{case}: {response.status_code}")
        if found := leaked(response, world.strings(target) - world.strings(via), echo=(url,)):
            problems.append(f"{case} shows {sorted(found)}")
        after = (snapshot(world.tickets[via]), snapshot(world.tickets[target]))
        if after != before or DeliveryProbe.objects.count() != probes:
            problems.append(f"{case} changed something")
    assert not problems, "\n".join(problems)


ATTACHMENT_IDOR = [
    ("state_admin", "own", "foreign"),
    ("national", "own", "foreign"),
    ("liaison", "with_vendor", "past_vendor"),
]


def test_an_attachment_id_of_another_ticket_is_404(world):
    for role, via, target in ATTACHMENT_IDOR:
        number, attachment_id = world.tickets[via].number, world.attachments[target].pk
        url = reverse(
            "tickets:attachment", kwargs={"number": number, "attachment_id": attachment_id}
        )
        response = send(world.page_client(role), "GET", url)
        assert response.status_code == 404, (role, via, target)
        assert TICKETS[target][1] not in response.text_seen


def test_an_upload_cannot_be_pinned_to_an_address_of_another_ticket(world):
    url = reverse("tickets:attach", kwargs={"number": world.tickets["own"].number})
    foreign = world.addresses["foreign"]
    data = {"file": SimpleUploadedFile("log.txt", b"x"), "kind": "other", "address": foreign.pk}
    response = world.page_client("state_admin").post(url, data)
    assert response.status_code == 302  # refused: back to the ticket (PRG)
    assert not Attachment.objects.filter(address=foreign).exists()
    assert world.tickets["own"].attachments.count() == 1


# --- Mass assignment: fields no form or API body may set --------------------------------------
def forged(world) -> dict:
    """What an attacker adds to any body: status, state, reporter, number, version, ticket."""
    return {
        "status": "closed",
        "state": world.states["south"].pk,
        "reporter": world.users["national"].pk,
        "number": "DT-999999",
        "ticket": world.tickets["foreign"].pk,
        "created_at": "2001-01-01T00:00:00Z",
    }


def test_filing_by_page_ignores_forged_fields(world):
    data = forged(world) | {"symptom": "all_mail_stopped", "addresses": "new@fresh.example"}
    response = world.page_client("state_admin").post(reverse("tickets:file"), data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(addresses__address="new@fresh.example")
    assert ticket.number != "DT-999999"
    assert ticket.state == world.states["north"]
    assert ticket.reporter == world.users["state_admin"]
    assert ticket.status == "with_state_it"  # the spam filter is not checked yet
    assert ticket.version == 1


@pytest.mark.parametrize("role", ["state_admin", "national"])
def test_filing_by_api_ignores_forged_fields(world, role):
    data = forged(world) | {
        "symptom": "all_mail_stopped",
        "addresses": ["new@fresh.example"],
        "spam_filter_checked": True,
        "version": 42,
    }
    if role == "national":
        data["state"] = world.states["north"].pk  # its own choice to make
    response = world.api_client(role).post("/api/tickets/", data, format="json")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(addresses__address="new@fresh.example")
    assert response.json()["number"] == ticket.number != "DT-999999"
    assert (ticket.state, ticket.reporter) == (world.states["north"], world.users[role])
    assert (ticket.status, ticket.version) == ("new", 1)


def test_a_page_transition_ignores_forged_fields(world):
    own = world.tickets["own"]
    before = snapshot(own)
    data = forged(world) | {f"triage-{k}": v for k, v in forged(world).items()}
    data |= {"triage-version": own.version, "triage-text": "Taking it."}
    url = reverse("tickets:transition", kwargs={"number": own.number, "name": "triage"})
    assert world.page_client("national").post(url, data).status_code == 302
    after = snapshot(own)
    assert after == before | {"status": "triage", "version": before["version"] + 1}


def test_an_api_transition_ignores_forged_fields(world):
    own = world.tickets["own"]
    before = snapshot(own)
    data = forged(world) | {"version": own.version, "text": "Taking it."}
    url = f"/api/tickets/{own.number}/transitions/triage/"
    response = world.api_client("national").post(url, data, format="json")
    assert response.status_code == 200
    assert snapshot(own) == before | {"status": "triage", "version": before["version"] + 1}


def test_a_forged_version_is_refused_not_written(world):
    own = world.tickets["own"]
    before = snapshot(own)
    url = f"/api/tickets/{own.number}/transitions/withdraw/"
    response = world.api_client("state_admin").post(
        url, {"version": own.version + 10}, format="json"
    )
    assert response.status_code == 409
    assert snapshot(own) == before


def test_api_writes_on_addresses_and_comments_ignore_forged_fields(world):
    client = world.api_client("national")
    vendor, foreign = world.tickets["with_vendor"], world.tickets["foreign"]
    foreign_before = snapshot(foreign)
    number = vendor.number
    data = forged(world) | {"addresses": ["more@vendor-case.example"], "version": vendor.version}
    assert client.post(f"/api/tickets/{number}/addresses/", data, format="json").status_code == 201
    data = forged(world) | {"text": "Note.", "actor": world.users["liaison"].pk, "kind": "finding"}
    answer = client.post(f"/api/tickets/{number}/comments/", data, format="json")
    assert answer.status_code == 201
    assert (answer.json()["kind"], answer.json()["actor"]) == (
        "comment",
        str(world.users["national"]),
    )
    address = world.addresses["with_vendor"]
    data = forged(world) | {
        "suppressed": False,
        "address": "evil@x.example",
        "status": "reactivated",
    }
    url = f"/api/tickets/{number}/addresses/{address.pk}/finding/"
    assert client.post(url, data, format="json").status_code == 200
    address.refresh_from_db()
    assert (address.address, address.status) == (TICKETS["with_vendor"][0], "not_suppressed")
    vendor.refresh_from_db()
    assert (vendor.status, vendor.state, vendor.number) == (
        "with_vendor",
        world.states["north"],
        number,
    )
    assert snapshot(foreign) == foreign_before
    assert not AffectedAddress.objects.filter(address="evil@x.example").exists()


# --- Search and filters: nothing of another state, by any of its words -----------------------
SEARCHES = [
    ("state_admin", "foreign"),
    ("other_state_admin", "own"),
    ("liaison", "own"),
    ("liaison", "foreign"),
    ("no_role", "with_vendor"),
]


def test_searching_for_a_hidden_ticket_finds_nothing(world):
    for role, hidden in SEARCHES:
        ticket = world.tickets[hidden]
        address = TICKETS[hidden][0]
        page, api = world.page_client(role), world.api_client(role)
        for term in (ticket.number, address, address.split("@")[1], ticket.state.name):
            case = (role, hidden, term)
            response = send(page, "GET", reverse("tickets:list"), {"q": term})
            assert response.status_code == 200, case
            assert not leaked(response, world.secrets(role), echo=(term,)), case
            assert "No tickets." in response.text_seen, case
            response = send(api, "GET", "/api/tickets/", {"q": term})
            assert response.json()["count"] == 0, case
            assert not leaked(response, world.secrets(role), echo=(term,)), case


STATES_OFFERED = {
    "state_admin": {"north"},
    "other_state_admin": {"south"},
    "national": {"north", "south"},
    "liaison": {"north"},  # the state of the tickets it worked on
    "no_role": set(),
}


def test_the_state_filter_offers_only_states_in_reach(world):
    for role, offered in STATES_OFFERED.items():
        body = send(world.page_client(role), "GET", reverse("tickets:list")).text_seen
        for key, state in world.states.items():
            assert (f">{state.name}</option>" in body) == (key in offered), (role, state.name)


def test_filtering_by_a_state_out_of_reach_is_refused_without_naming_it(world):
    south = world.states["south"]
    page = send(
        world.page_client("state_admin"), "GET", reverse("tickets:list"), {"state": south.pk}
    )
    # The filter is refused (and the list left unfiltered): the same as for a state that is not.
    assert page.status_code == 200 and "Select a valid choice" in page.text_seen
    assert not leaked(page, world.secrets("state_admin"))
    api = send(world.api_client("state_admin"), "GET", "/api/tickets/", {"state": south.pk})
    assert api.status_code == 400  # the same answer as for a state that does not exist
    assert not leaked(api, world.secrets("state_admin"))
    missing = send(world.api_client("state_admin"), "GET", "/api/tickets/", {"state": 10**6})
    assert missing.status_code == 400


def test_filing_an_address_on_another_states_ticket_names_no_ticket(world):
    foreign_address = TICKETS["foreign"][0]
    data = {
        "symptom": "all_mail_stopped",
        "addresses": foreign_address,
        "spam_filter_checked": "on",
    }
    response = send(world.page_client("state_admin"), "POST", reverse("tickets:file"), data)
    assert response.status_code == 302  # filed: no "already on an open ticket" question
    assert world.tickets["foreign"].number not in response.text_seen
