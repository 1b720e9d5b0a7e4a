"""What people and mail servers write is shown as text, never as markup: on the ticket page and
in the HTML notification mail.

The description, a comment, a transition's message, the diagnostic of a pasted bounce, the bounce
text of a vendor finding and an uploaded message's file name each carry a script tag and an
attribute break-out. Each must appear escaped, and never as written, in the page and in the mail.
(The property tests of the same input are in tests/test_properties.py.)
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tests.factories import PASSWORD, file_ticket, move
from tests.tickets.test_diagnosis import DSN
from tickets import services
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import mail as ticket_mail

pytestmark = pytest.mark.django_db

ADDRESS = "jane@ok.test"


def hostile(where: str) -> str:
    """Markup that would run or break out of an attribute if it were not escaped."""
    return (
        f'{where} <script>alert("{where}")</script> "onmouseover="alert(1)" '
        "<img src=x onerror=alert(2)>"
    )


def assert_shown_escaped(html: str, text: str) -> None:
    for raw in ("<script>", "<img src=x", '"onmouseover="'):
        assert raw not in html, f"{raw!r} reached the HTML unescaped"
    assert escape(text) in html, f"{text[:20]!r} is missing from the HTML"


def page(client, user, ticket: Ticket) -> str:
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def html_mail(event: TicketEvent) -> str:
    """The HTML alternative of the event's notification, sent by the real service."""
    TicketEvent.objects.filter(pk=event.pk).update(notified_at=None)  # also events not mailed
    mail.outbox.clear()
    assert ticket_mail.event_notify(event_id=event.pk) > 0
    (message,) = mail.outbox
    ((content, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return content


def test_description_comment_and_message_are_escaped_on_the_page_and_in_the_mail(client, people):
    description, comment, message = hostile("Described"), hostile("Commented"), hostile("Returned")
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    filed = client.post(
        reverse("tickets:file"),
        {
            "symptom": "all_mail_stopped",
            "addresses": ADDRESS,
            "description": description,
            "spam_filter_checked": "on",
            "mail_admin_name": "Mail Team",
            "mail_admin_email": "postmaster@ok.test",
        },
    )
    assert filed.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.description == description  # kept as written: escaping is the template's job
    move(ticket, people["national"], "triage")
    # National staff comment, then send the ticket back: the state admin is mailed both.
    assert client.login(username=people["national"].username, password=PASSWORD)
    commented = client.post(reverse("tickets:comment", args=[ticket.number]), {"text": comment})
    assert commented.status_code == 302
    move(ticket, people["national"], "return_to_state", text=message)

    shown = page(client, people["national"], ticket)
    for text in (description, comment, message):
        assert_shown_escaped(shown, text)

    for kind, text in ((EventKind.COMMENT, comment), (EventKind.TRANSITION, message)):
        event = ticket.events.get(kind=kind, text=text)
        assert_shown_escaped(html_mail(event), text)
        assert text in mail.outbox[0].body  # the plain-text part says it as written


def test_bounce_text_and_message_names_are_escaped_on_the_page_and_in_the_mail(client, people):
    ticket = file_ticket(people["state_admin"], ADDRESS)
    diagnostic, name = hostile("Diagnosed"), hostile("Named").replace("/", "") + ".eml"
    dsn = DSN.format(date="Mon, 2 Mar 2026 10:00:00 +0000", address=ADDRESS).replace(
        f"<{ADDRESS}>: Recipient address rejected: User unknown", diagnostic
    )
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    upload = SimpleUploadedFile(name, dsn.encode(), content_type="message/rfc822")
    answer = client.post(reverse("tickets:bounce", args=[ticket.number]), {"file": upload})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert ticket.attachments.get().original_name == name

    # A vendor liaison's finding, with the bounce text the vendor's console showed.
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    bounce_text = hostile("Vendor")
    services.address_record_finding(
        actor=people["liaison"],
        number=ticket.number,
        address_id=ticket.addresses.get().pk,
        suppressed=True,
        suppressed_at=timezone.now(),
        reason="hard bounce",
        bounce_text=bounce_text,
    )

    shown = page(client, people["national"], ticket)
    for text in (diagnostic, name, bounce_text):
        assert_shown_escaped(shown, text)

    bounce = ticket.events.get(kind=EventKind.BOUNCE, text__contains="Diagnosed")
    assert_shown_escaped(html_mail(bounce), diagnostic)
    attachment = ticket.events.filter(text__contains=name).first()
    if attachment is not None:  # the bounce's own event names the file when it is not this one
        assert_shown_escaped(html_mail(attachment), name)
