"""Mail we receive: replies become comments, state admins file by mail, nobody acts by `From`.

Every message goes through `services.inbound_receive`, the one service both ways in (the
vendor's webhook and the polled mailbox) call. DKIM signatures are checked against the local
DNS server (tests/servers/dns.py), which serves the public half of keys made here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.core.cache import cache
from django.utils import timezone

from diagnostics.models import BounceEvent
from tests.factories import file_ticket
from tests.tickets.inbound_mail import (
    REPLY_DOMAIN,
    DkimKey,
    comments,
    dsn,
    message,
    our_message_id,
    thread_reply,
)
from tickets import services
from tickets.models import (
    EventKind,
    InboundMessage,
    InboundOutcome,
    InboundTrust,
    Status,
    Ticket,
)
from tickets.reply_tokens import reply_address
from tickets.selectors.inbound import moderation_queue

pytestmark = pytest.mark.django_db

QUOTED_REPLY = """Yes, we checked the quarantine: nothing held.

--
Nora Nell
Northland IT

On Mon, 23 Nov 2026 at 10:00, Delivery Tickets <helpdesk@sender.test> wrote:
> Please check your spam filter and quarantine.
> Thanks
"""


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    settings.INBOUND_RATE_LIMIT = 20
    settings.INBOUND_TRUSTED_AUTHSERV_IDS = ["mx.helpdesk.test"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(nora):
    return file_ticket(nora, "jane.roe@agency.northland.test")


def receive(raw: bytes, source: str = "imap") -> InboundMessage:
    return services.inbound_receive(raw=raw, source=source)


# --- Replies --------------------------------------------------------------------------------


def test_reply_to_the_signed_address_is_a_comment_without_quote_or_signature(client, nora, ticket):
    raw = message(
        sender="Someone Else <whoever@elsewhere.test>",  # From proves nothing; the token does
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        subject=f"Re: [{ticket.number}] Question from the national office",
        text=QUOTED_REPLY,
    )
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.COMMENTED
    assert inbound.trust == InboundTrust.REPLY_TOKEN
    assert inbound.person == nora and inbound.ticket == ticket
    event = ticket.events.get(kind=EventKind.COMMENT)
    assert event.actor == nora
    assert event.text == "Yes, we checked the quarantine: nothing held."
    client.force_login(nora)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Yes, we checked the quarantine: nothing held." in page
    assert "Please check your spam filter" not in event.text


def test_a_forged_reply_address_is_moderated(nora, ticket):
    good = reply_address(ticket_id=ticket.pk, user_id=nora.pk)
    forged = good[:-12] + ("0" if good[-12] != "0" else "1") + good[-11:]
    inbound = receive(message(sender=nora.email, to=forged, text="Close it."))
    assert inbound.outcome == InboundOutcome.MODERATION
    assert comments(ticket) == []


def test_spoofed_from_without_token_or_signature_changes_nothing(nora, ticket):
    before = list(ticket.events.values_list("pk", flat=True))
    raw = thread_reply(
        ticket,
        nora.email,
        "Please withdraw this ticket.",
        headers={"References": our_message_id(ticket)},
    )
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "Nothing proves the sender" in inbound.reason
    assert inbound.person is None
    ticket.refresh_from_db()
    assert list(ticket.events.values_list("pk", flat=True)) == before
    assert ticket.status == Status.NEW


def test_a_valid_dkim_signature_of_the_senders_domain_acts(dns_server, nora, ticket):
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(
        thread_reply(ticket, nora.email, "The users are all on the agency.northland.test domain.")
    )
    inbound = receive(raw)
    assert inbound.trust == InboundTrust.DKIM, inbound.reason
    assert inbound.outcome == InboundOutcome.COMMENTED
    assert comments(ticket) == ["The users are all on the agency.northland.test domain."]


def test_a_dkim_signature_broken_in_transit_does_not_act(dns_server, nora, ticket):
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(thread_reply(ticket, nora.email, "Original words."))
    inbound = receive(raw.replace(b"Original words.", b"Changed words!!"))
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "did not verify" in inbound.reason
    assert comments(ticket) == []


def test_a_dkim_signature_of_another_domain_does_not_vouch_for_from(dns_server, nora, ticket):
    key = DkimKey(dns_server, "attacker.test")
    raw = key.sign(thread_reply(ticket, nora.email, "Withdraw it."))
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.MODERATION
    assert comments(ticket) == []


def test_dmarc_pass_from_the_trusted_receiving_server_acts(nora, ticket):
    raw = thread_reply(
        ticket,
        nora.email,
        "Checked again today.",
        headers={
            "Authentication-Results": "mx.helpdesk.test; spf=pass smtp.mailfrom=northland.test;"
            " dkim=pass header.d=northland.test; dmarc=pass header.from=northland.test",
        },
    )
    inbound = receive(raw)
    assert inbound.trust == InboundTrust.AUTHENTICATION_RESULTS
    assert comments(ticket) == ["Checked again today."]


def test_authentication_results_from_an_untrusted_server_prove_nothing(nora, ticket):
    raw = thread_reply(
        ticket,
        nora.email,
        "Trust me.",
        headers={
            "Authentication-Results": "mx.attacker.test; dmarc=pass header.from=northland.test",
        },
    )
    assert receive(raw).outcome == InboundOutcome.MODERATION
    assert comments(ticket) == []


def test_a_subject_number_without_our_message_id_names_no_ticket(dns_server, nora, ticket):
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(
        message(
            sender=nora.email,
            to="helpdesk@sender.test",
            subject=f"Re: [{ticket.number}] Status",
            text="No references here.",
        )
    )
    inbound = receive(raw)
    # A state admin's message naming no ticket is a filing request; this one has no address.
    assert inbound.outcome == InboundOutcome.REFUSED
    assert comments(ticket) == []


def test_a_state_admin_cannot_comment_on_another_states_ticket_by_mail(
    dns_server, nora, foreign_admin
):
    foreign = file_ticket(foreign_admin, "sam@southport.test")
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(thread_reply(foreign, nora.email, "Let me in."))
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "cannot see" in inbound.reason
    assert comments(foreign) == []


# --- Automatic mail, loops, limits ----------------------------------------------------------


def test_an_auto_reply_loop_is_recorded_and_never_answered(nora, ticket):
    address = reply_address(ticket_id=ticket.pk, user_id=nora.pk)
    for round_ in range(5):
        raw = message(
            sender=nora.email,
            to=address,
            subject=f"Automatic reply: [{ticket.number}] Question",
            text="I am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
            message_id=f"<auto-{round_}@northland.test>",
        )
        assert receive(raw).outcome == InboundOutcome.IGNORED
    assert comments(ticket) == []
    assert InboundMessage.objects.filter(outcome=InboundOutcome.IGNORED).count() == 5
    assert django_mail.outbox == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"X-Autoreply": "yes"},
        {"Return-Path": "<>"},
        {"X-Loop": "sender.test"},
    ],
)
def test_automatic_mail_is_recognised(nora, ticket, headers):
    raw = message(
        sender=nora.email,
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        text="Automatic.",
        headers=headers,
    )
    assert receive(raw).outcome == InboundOutcome.IGNORED
    assert comments(ticket) == []


def test_our_own_message_coming_back_is_a_loop(nora, ticket):
    raw = message(
        sender="helpdesk@sender.test",
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        text="Echo.",
        message_id=our_message_id(ticket),
    )
    assert receive(raw).outcome == InboundOutcome.IGNORED


def test_a_mail_storm_from_one_sender_goes_to_moderation(settings, nora, ticket):
    settings.INBOUND_RATE_LIMIT = 3
    address = reply_address(ticket_id=ticket.pk, user_id=nora.pk)
    outcomes = [
        receive(message(sender=nora.email, to=address, text=f"Note {n}.")).outcome for n in range(5)
    ]
    assert outcomes == [InboundOutcome.COMMENTED] * 3 + [InboundOutcome.MODERATION] * 2
    assert len(comments(ticket)) == 3


def test_the_same_message_twice_acts_once(nora, ticket):
    raw = message(
        sender=nora.email,
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        text="Only once.",
        message_id="<once@northland.test>",
    )
    first, second = receive(raw), receive(raw, source="anymail:postmark")
    assert first.pk == second.pk
    assert comments(ticket) == ["Only once."]
    assert InboundMessage.objects.count() == 1


def test_an_unreadable_message_is_kept_for_moderation():
    inbound = receive(b"\x00\x01 this is not a message")
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "could not be read" in inbound.reason
    assert bytes(inbound.raw) == b"\x00\x01 this is not a message"


def test_an_oversized_message_is_kept_cut_and_moderated(settings, nora, ticket):
    settings.INBOUND_MAX_BYTES = 2000
    raw = message(
        sender=nora.email,
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        text="x" * 5000,
    )
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.MODERATION
    assert inbound.truncated and len(bytes(inbound.raw)) == 2000 and inbound.size == len(raw)
    assert comments(ticket) == []


# --- Bounces ---------------------------------------------------------------------------------


def test_a_forwarded_bounce_is_analysed_on_the_ticket(nora, ticket):
    raw = message(
        sender=nora.email,
        to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
        subject=f"Fwd: Undelivered Mail [{ticket.number}]",
        text="Here is the bounce our server sent.",
        attach=[(dsn(recipient="jane.roe@agency.northland.test"), "message/rfc822")],
    )
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.BOUNCE, inbound.reason
    bounce = ticket.events.get(kind=EventKind.BOUNCE)
    assert bounce.actor == nora
    assert "jane.roe@agency.northland.test" in bounce.text and "5.1.1" in bounce.text
    assert BounceEvent.objects.filter(address="jane.roe@agency.northland.test").exists()
    assert comments(ticket) == ["Here is the bounce our server sent."]


def test_a_pasted_bounce_is_analysed_on_the_ticket(nora, ticket):
    pasted = (
        "This is the mail system at host mx.agency.northland.test.\n\n"
        "<jane.roe@agency.northland.test>: host mx.agency.northland.test said:\n"
        "    550 5.1.1 <jane.roe@agency.northland.test>: Recipient address rejected:\n"
        "    User unknown in local recipient table\n"
    )
    raw = message(
        sender=nora.email, to=reply_address(ticket_id=ticket.pk, user_id=nora.pk), text=pasted
    )
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.BOUNCE, inbound.reason
    assert ticket.events.filter(kind=EventKind.BOUNCE).count() == 1


# --- Filing by mail --------------------------------------------------------------------------


FILING = """Symptom: All mail stopped
Spam filter checked: yes
Mail admin: Ivy Admin <ivy@it.northland.test>
Description: Since Monday nobody at the agency gets our notices.
Addresses:
ann.one@agency.northland.test
bob.two@agency.northland.test
"""


def test_a_state_admin_files_a_ticket_by_mail(
    dns_server, nora, state, django_capture_on_commit_callbacks
):
    key = DkimKey(dns_server, "northland.test")
    with django_capture_on_commit_callbacks(execute=True):
        inbound = receive(
            key.sign(
                message(
                    sender=nora.email,
                    to="helpdesk@sender.test",
                    subject="Agency users get nothing",
                    text=FILING,
                )
            )
        )
    assert inbound.outcome == InboundOutcome.FILED, inbound.reason
    ticket = inbound.ticket
    assert ticket.status == Status.NEW and ticket.state == state and ticket.reporter == nora
    assert sorted(ticket.addresses.values_list("address", flat=True)) == [
        "ann.one@agency.northland.test",
        "bob.two@agency.northland.test",
    ]
    assert ticket.mail_admin_email == "ivy@it.northland.test"
    assert ticket.description == "Since Monday nobody at the agency gets our notices."
    answers = [m for m in django_mail.outbox if m.to == [nora.email]]
    assert len(answers) == 1
    assert ticket.number in answers[0].body
    assert answers[0].extra_headers["Auto-Submitted"] == "auto-replied"
    inbound.refresh_from_db()
    assert inbound.answered_at is not None


def test_a_filing_mail_with_bad_lines_is_answered_line_by_line(
    dns_server, nora, django_capture_on_commit_callbacks
):
    key = DkimKey(dns_server, "northland.test")
    text = "Addresses:\nann.one@agency.northland.test\nbob@@agency.northland.test\njust words\n"
    with django_capture_on_commit_callbacks(execute=True):
        inbound = receive(
            key.sign(message(sender=nora.email, to="helpdesk@sender.test", text=text))
        )
    assert inbound.outcome == InboundOutcome.REFUSED
    assert Ticket.objects.count() == 0
    (answer,) = django_mail.outbox
    assert "Line 2: “bob@@agency.northland.test”" in answer.body
    assert "Line 3: “just words” — There is no email address on this line." in answer.body
    assert "ann.one" not in answer.body.split("Each line below")[1].split("Write one")[0]


def test_filing_by_mail_without_the_spam_filter_check_starts_with_state_it(dns_server, nora):
    key = DkimKey(dns_server, "northland.test")
    text = "Symptom: Some notifications missing\nann@agency.northland.test"
    inbound = receive(key.sign(message(sender=nora.email, to="helpdesk@sender.test", text=text)))
    assert inbound.outcome == InboundOutcome.FILED
    assert inbound.ticket.status == Status.WITH_STATE_IT
    assert inbound.ticket.symptom == "some_missing"


def test_a_filing_mail_without_a_symptom_is_a_draft_she_confirms_by_link(
    client, dns_server, nora, state_admin, foreign_admin, django_capture_on_commit_callbacks
):
    key = DkimKey(dns_server, "northland.test")
    text = "Spam filter checked: yes\nAddresses:\nann.one@agency.northland.test\n"
    with django_capture_on_commit_callbacks(execute=True):
        inbound = receive(
            key.sign(
                message(sender=nora.email, to="helpdesk@sender.test", subject="Agency", text=text)
            )
        )
    assert inbound.outcome == InboundOutcome.DRAFT
    assert Ticket.objects.count() == 0
    (answer,) = django_mail.outbox
    link = next(word for word in answer.body.split() if "/tickets/new/?draft=" in word)
    path = link.split("://", 1)[1].split("/", 1)[1]
    # Only for her: another state admin opening the link gets an empty form.
    client.force_login(foreign_admin)
    assert "ann.one@agency.northland.test" not in client.get("/" + path).content.decode()
    client.force_login(nora)
    page = client.get("/" + path)
    form = page.context["form"]
    assert form.initial["addresses"] == "ann.one@agency.northland.test"
    assert form.initial["spam_filter_checked"] is True
    assert form.initial["description"] == "Agency"
    # She chooses the symptom and files: the form's own rules and service do the rest.
    response = client.post(
        "/tickets/new/",
        {
            **{k: v for k, v in form.initial.items() if v not in (None, False, "")},
            "symptom": "all_mail_stopped",
            "spam_filter_checked": "on",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.reporter == nora
    assert ticket.status == Status.NEW


def test_national_staff_do_not_file_by_mail(dns_server, national):
    national.email = "nat@national.test"
    national.save(update_fields=["email"])
    key = DkimKey(dns_server, "national.test")
    inbound = receive(
        key.sign(message(sender=national.email, to="helpdesk@sender.test", text=FILING))
    )
    assert inbound.outcome == InboundOutcome.MODERATION
    assert Ticket.objects.count() == 0


def test_an_unknown_but_signed_sender_waits_in_moderation(dns_server, nora):
    key = DkimKey(dns_server, "northland.test")
    inbound = receive(
        key.sign(message(sender="stranger@northland.test", to="helpdesk@sender.test", text=FILING))
    )
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "not the address of one active user" in inbound.reason
    assert Ticket.objects.count() == 0


def test_a_message_whose_handling_crashes_waits_in_moderation(monkeypatch, nora, ticket):
    def broken(mail, decision):
        raise RuntimeError("a bug")

    monkeypatch.setattr("tickets.services.inbound._act", broken)
    raw = message(sender=nora.email, to=reply_address(ticket_id=ticket.pk, user_id=nora.pk))
    inbound = receive(raw)
    assert inbound.outcome == InboundOutcome.MODERATION
    assert "Handling failed (RuntimeError: a bug)" in inbound.reason
    assert bytes(inbound.raw) == raw


def test_a_message_interrupted_while_handled_reaches_moderation(national, nora, ticket):
    raw = message(sender=nora.email, to="helpdesk@sender.test", text="Interrupted.")
    stuck = InboundMessage.objects.create(source="imap", raw=raw, sender=nora.email)
    assert stuck not in moderation_queue()
    InboundMessage.objects.filter(pk=stuck.pk).update(
        received_at=timezone.now() - timedelta(minutes=11)
    )
    assert stuck in moderation_queue()
    services.inbound_assign(actor=national, inbound_id=stuck.pk, number=ticket.number)
    assert "Interrupted." in ticket.events.get(kind=EventKind.COMMENT).text


def test_a_reply_to_the_tickets_first_mail_as_our_mail_names_it_is_a_comment(nora, ticket):
    """The outgoing side's own ids: the first mail's has no suffix, later ones do."""
    from tickets.services.mail import ticket_root_id

    root = ticket_root_id(ticket)
    raw = message(
        sender=nora.email,
        to="helpdesk@sender.test",
        subject=f"Re: [{ticket.number}] Filed",
        text="Our IT checked the filter.",
        headers={
            "In-Reply-To": root,
            "References": root,
            "Authentication-Results": "mx.helpdesk.test; dmarc=pass header.from=northland.test",
        },
    )
    assert receive(raw).trust == InboundTrust.AUTHENTICATION_RESULTS
    assert comments(ticket) == ["Our IT checked the filter."]
