"""Bulk filing: a CSV upload or paste; every bad row named; valid rows filed only when asked."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from email_validator import EmailNotValidError, validate_email

from tests.factories import PASSWORD, file_ticket
from tickets.addresses import group_by_domain, normalize_address, read_address_rows
from tickets.models import AffectedAddress, Ticket

pytestmark = pytest.mark.django_db

FORM = {"symptom": "all_mail_stopped", "spam_filter_checked": "on"}
CSV = (
    "address,name,notes\r\n"
    '"Roe, John" <john.roe@ok.test>,,night shift\r\n'
    "jane@ok.test,Jane Doe,front desk\r\n"
    "bob@@ok.test,Bob,typo\r\n"
    ",No Address,\r\n"
    "JANE@ok.test,Jane again,\r\n"
)


def log_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def upload(content: bytes | str, name: str = "people.csv") -> SimpleUploadedFile:
    raw = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def textarea(body: str, name: str = "addresses") -> str:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', body, re.S)
    return html.unescape(match.group(1)).lstrip("\n") if match else ""


def hidden(body: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', body)
    return match.group(1) if match else ""


def test_reading_a_csv_takes_quoted_names_notes_and_names_each_bad_row():
    reading = read_address_rows(CSV)

    assert reading.header == ("address", "name", "notes")
    assert [(a.address, a.display_name, a.notes) for a in reading.addresses] == [
        ("john.roe@ok.test", "Roe, John", "night shift"),
        ("jane@ok.test", "Jane Doe", "front desk"),
    ]
    assert [(p.line, p.text) for p in reading.problems] == [
        (4, "bob@@ok.test"),
        (5, ",No Address,"),
    ]
    assert [(d.line, d.first_line) for d in reading.duplicates] == [(6, 3)]
    assert reading.rows == 5


def test_without_a_header_the_address_comes_first_or_after_the_name():
    reading = read_address_rows("pat@ok.test,Pat Doe,desk 4\nSam Roe, sam@ok.test\ta@ok.test")
    assert [(a.address, a.display_name, a.notes) for a in reading.addresses] == [
        ("pat@ok.test", "Pat Doe", "desk 4"),
        ("sam@ok.test", "", ""),
        ("a@ok.test", "", ""),
    ]


def test_an_upload_with_bad_rows_files_nothing_and_lists_every_bad_row(client, state_admin):
    log_in(client, state_admin)
    response = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(CSV)})

    assert response.status_code == 200
    assert not Ticket.objects.exists()
    body = response.content.decode()
    report = body[body.index('id="address-report"') :]
    assert re.search(r">Line 4</th><td[^>]*>bob@@ok.test</td>", report)
    assert re.search(r">Line 5</th>", report)
    assert "Line 6: JANE@ok.test repeats line 3" in report
    # The file's text is in the list now, so nothing has to be uploaded again.
    assert textarea(body) == CSV.replace("\r\n", "\n")
    assert 'name="leave_out_bad_rows"' in body and 'type="checkbox"' in body
    assert "File the 2 valid addresses and leave out the 2 rows listed" in body


def test_the_valid_rows_are_filed_by_an_explicit_second_step(client, state_admin):
    log_in(client, state_admin)
    first = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(CSV)}).content
    body = first.decode()
    second = {
        **FORM,
        "addresses": textarea(body),
        "checked_digest": hidden(body, "checked_digest"),
        "submission_token": hidden(body, "submission_token"),
        "leave_out_bad_rows": "on",
    }

    response = client.post(reverse("tickets:file"), second, follow=True)

    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == ticket.get_absolute_url()
    rows = list(
        ticket.addresses.order_by("address").values_list("address", "display_name", "notes")
    )
    assert rows == [
        ("jane@ok.test", "Jane Doe", "front desk"),
        ("john.roe@ok.test", "Roe, John", "night shift"),
    ]
    page = response.content.decode()
    assert "2 row(s) left out (line 4, 5)" in page
    assert "1 repeated address(es) listed once" in page
    # The ticket's own record says so too, not only a message that fades.
    filed = ticket.events.get(transition="file").text
    assert "Left out of the list by choice" in filed
    assert "line 4: “bob@@ok.test”" in filed and "line 5:" in filed


def test_ticking_leave_out_for_a_list_that_changed_since_files_nothing(client, state_admin):
    log_in(client, state_admin)
    body = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(CSV)})
    body = body.content.decode()
    changed = textarea(body) + "worse@@ok.test\n"

    response = client.post(
        reverse("tickets:file"),
        {
            **FORM,
            "addresses": changed,
            "checked_digest": hidden(body, "checked_digest"),
            "leave_out_bad_rows": "on",
        },
    )

    assert response.status_code == 200 and not Ticket.objects.exists()
    assert "worse@@ok.test" in response.content.decode()


def test_a_corrected_file_replaces_the_text_of_the_one_read_before(client, state_admin):
    log_in(client, state_admin)
    body = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(CSV)})
    body = body.content.decode()
    corrected = "address,name,notes\njane@ok.test,Jane Doe,\nbob@ok.test,Bob,\n"

    response = client.post(
        reverse("tickets:file"),
        {
            **FORM,
            "addresses": textarea(body),  # the old file's text, as the page showed it
            "checked_digest": hidden(body, "checked_digest"),
            "address_file": upload(corrected),
        },
    )

    assert response.status_code == 302
    assert sorted(AffectedAddress.objects.values_list("address", flat=True)) == [
        "bob@ok.test",
        "jane@ok.test",
    ]


def test_a_clean_file_files_at_once_with_its_names_and_notes(client, state_admin):
    log_in(client, state_admin)
    text = "email,name,notes\npat@ok.test,Pat Doe,desk 4\nsam@ok.test,,\n"
    response = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(text)})

    assert response.status_code == 302
    assert AffectedAddress.objects.get(address="pat@ok.test").notes == "desk 4"
    assert AffectedAddress.objects.count() == 2


@pytest.mark.parametrize(
    ("raw", "said", "name"),
    [
        ("\ufeffaddress,name\njose@ok.test,José Núñez\n".encode(), "UTF-8", "José Núñez"),
        ("address,name\njose@ok.test,José Núñez\n".encode("cp1252"), "Windows-1252", "José Núñez"),
        (b"address,name\njose@ok.test,Jos\x81\xe9\n", "Latin-1", "Jos\x81\xe9"),
    ],
)
def test_the_encoding_is_found_and_said(client, state_admin, raw, said, name):
    log_in(client, state_admin)
    response = client.post(
        reverse("tickets:file"), {**FORM, "address_file": upload(raw)}, follow=True
    )

    address = AffectedAddress.objects.get()
    assert address.address == "jose@ok.test"
    # The byte order mark is not part of the header's first name; C1 controls become spaces.
    assert address.display_name == " ".join(name.replace("\x81", " ").split())
    assert f"was read as {said}" in response.content.decode()


@pytest.mark.parametrize(
    ("raw", "name", "said"),
    [
        (b"", "empty.csv", "is empty"),
        (b"a\x00d\x00d\x00r\x00", "utf16.csv", "NUL bytes"),
        (b"PK\x03\x04", "sheet.xlsx", "not a CSV or text file"),
        (b"x" * 3_000_000, "huge.csv", "at most 2.0 MB"),
        (b"jose@ok.test\n", "fine.csv", "There is a list in the box and a file chosen"),
    ],
)
def test_a_refused_file_is_named_and_the_pasted_list_stays(client, state_admin, raw, name, said):
    log_in(client, state_admin)
    pasted = "kept@ok.test\nalso.kept@ok.test"
    response = client.post(
        reverse("tickets:file"),
        {**FORM, "addresses": pasted, "address_file": upload(raw, name)},
    )

    assert response.status_code == 200 and not Ticket.objects.exists()
    body = html.unescape(response.content.decode())
    assert said in body
    assert textarea(response.content.decode()) == pasted


def test_a_list_longer_than_a_ticket_takes_is_filed_as_several_only_when_asked(
    client, state_admin, settings
):
    settings.TICKET_MAX_ADDRESSES = 3
    log_in(client, state_admin)
    text = "\n".join(
        [f"a{i}@alpha.test" for i in range(3)]
        + [f"b{i}@beta.test" for i in range(2)]
        + [f"c{i}@gamma.test" for i in range(2)]
    )
    first = client.post(reverse("tickets:file"), {**FORM, "addresses": text})

    body = first.content.decode()
    assert first.status_code == 200 and not Ticket.objects.exists()
    assert "7 valid addresses: a ticket takes at most 3" in body
    assert 'name="split_tickets"' in body and "File them as 3 tickets" in body

    response = client.post(
        reverse("tickets:file"),
        {
            **FORM,
            "addresses": textarea(body),
            "checked_digest": hidden(body, "checked_digest"),
            "submission_token": hidden(body, "submission_token"),
            "split_tickets": "on",
        },
        follow=True,
    )

    tickets = list(Ticket.objects.order_by("pk"))
    domains = [sorted({a.domain for a in t.addresses.all()}) for t in tickets]
    assert domains == [["alpha.test"], ["beta.test"], ["gamma.test"]]
    assert all(t.addresses.count() <= 3 for t in tickets)
    assert response.redirect_chain[-1][0] == tickets[0].get_absolute_url()
    numbers = ", ".join(t.number for t in tickets)
    assert f"3 tickets filed: {numbers}." in response.content.decode()
    assert "Ticket 2 of 3 filed from one list of 7 addresses" in tickets[1].events.get().text


def test_grouping_keeps_a_domain_whole_where_it_fits():
    reading = read_address_rows(
        "\n".join(
            [f"x{i}@big.test" for i in range(5)] + ["s@small.test", "t@tiny.test", "u@small.test"]
        )
    )
    groups = group_by_domain(reading.addresses, 2)
    assert [[a.address for a in g] for g in groups] == [
        ["x0@big.test", "x1@big.test"],
        ["x2@big.test", "x3@big.test"],
        ["x4@big.test", "t@tiny.test"],
        ["s@small.test", "u@small.test"],
    ]


def test_add_addresses_refuses_more_than_a_ticket_takes(client, state_admin, settings):
    settings.TICKET_MAX_ADDRESSES = 3
    ticket = file_ticket(state_admin, "first@ok.test")
    log_in(client, state_admin)
    url = reverse("tickets:add_addresses", kwargs={"number": ticket.number})
    text = "\n".join(f"user{i}@ok.test" for i in range(5))

    page = client.post(url, {"version": ticket.version, "addresses": text}, follow=True)

    assert "5 valid addresses: a ticket takes at most 3" in page.content.decode()
    assert 'name="split_tickets"' not in page.content.decode()
    assert ticket.addresses.count() == 1


def test_more_rows_than_a_bulk_filing_takes_are_refused(client, state_admin, settings):
    settings.BULK_FILING_MAX_ROWS = 4
    log_in(client, state_admin)
    text = "\n".join(f"user{i}@ok.test" for i in range(6))
    response = client.post(reverse("tickets:file"), {**FORM, "addresses": text})

    assert "The list has more than 4 rows" in response.content.decode()
    assert not Ticket.objects.exists()


def test_five_thousand_rows_are_read_checked_and_filed(client, state_admin, settings):
    settings.TICKET_MAX_ADDRESSES = 5000
    log_in(client, state_admin)
    text = "address,name,notes\n" + "\n".join(
        f"user{i}@agency{i % 40}.test,User {i},row {i}" for i in range(5000)
    )
    response = client.post(reverse("tickets:file"), {**FORM, "address_file": upload(text)})

    assert response.status_code == 302
    assert Ticket.objects.get().addresses.count() == 5000


def test_add_addresses_takes_a_csv_too(client, state_admin):
    ticket = file_ticket(state_admin, "first@ok.test")
    log_in(client, state_admin)
    url = reverse("tickets:add_addresses", kwargs={"number": ticket.number})
    text = "address,name,notes\nsecond@ok.test,Second,\nbad@@ok.test,,\n"

    refused = client.post(
        url, {"version": ticket.version, "address_file": upload(text)}, follow=True
    )
    body = refused.content.decode()
    assert refused.redirect_chain[0][1] == 302 and ticket.addresses.count() == 1
    assert 'id="address-report-add"' in body and "bad@@ok.test" in body

    client.post(
        url,
        {
            "version": ticket.version,
            "addresses": textarea(body),
            "checked_digest": hidden(body, "checked_digest"),
            "leave_out_bad_rows": "on",
        },
    )
    assert sorted(ticket.addresses.values_list("address", flat=True)) == [
        "first@ok.test",
        "second@ok.test",
    ]
    added = ticket.events.get(kind="addresses_added").text
    assert "Added second@ok.test" in added and "line 3: “bad@@ok.test”" in added


@pytest.mark.parametrize(
    "raw",
    [
        "sam@NorthLand.Example",
        "Postmaster@ok.test",
        "first.last+tag@ok.test",
        "x@bücher.example",
        "x@xn--bcher-kva.example",
        "a..b@ok.test",
        "a@-x.test",
        "jane@",
        "a@[192.0.2.1]",
        "a@ok..test",
        "a@" + "d" * 64 + ".test",
        "l" * 64 + "@" + ("d" * 60 + ".") * 3 + "test",
        "l" * 65 + "@ok.test",
        "a@localhost",
    ],
)
def test_the_cached_domain_check_gives_the_librarys_own_answer(raw, settings):
    """normalize_address takes a domain's checked form from a cache; the answer must not change."""
    settings.ALLOW_TEST_DOMAINS = True
    try:
        full = validate_email(raw, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        with pytest.raises(EmailNotValidError) as raised:
            normalize_address(raw)
        assert str(raised.value) == str(error)
    else:
        parsed = normalize_address(raw)
        assert parsed.address == full.normalized
        assert parsed.domain == full.ascii_domain.lower()
