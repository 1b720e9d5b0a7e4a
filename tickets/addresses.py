"""Reading the affected addresses a person pastes: one per line, comma-separated, or CSV."""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings
from email_validator import EmailNotValidError, EmailSyntaxError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

# Within a CSV cell: the other separators a pasted list uses.
_SEPARATORS = re.compile(r"[;\t]")
# Lines as the person sees and counts them in the text box. str.splitlines() also breaks at
# form feeds, vertical tabs and U+0085 (cp1252's "…" read as Latin-1), shown on one line.
_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029]")
# Only text decoded with "surrogateescape" (or JSON's "\ud800") holds these; they cannot be
# stored or shown, so they read as U+FFFD like any other undecodable byte.
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# Far longer than any address with a display name; checking a megabyte "token" costs seconds.
MAX_ENTRY_CHARS = 1000
NOTES_CHARS = 1000
# `Jane Doe <jane@x>` once csv has taken the quotes off `"Doe, Jane" <jane@x>`.
_NAME_ANGLE = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>$")
# The words a header row may use for its columns.
HEADER_NAMES = {
    "address": "address",
    "email": "address",
    "e-mail": "address",
    "email address": "address",
    "e-mail address": "address",
    "name": "name",
    "display name": "name",
    "full name": "name",
    "notes": "notes",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
}


@dataclass(frozen=True)
class ParsedAddress:
    address: str
    domain: str
    display_name: str = ""
    notes: str = ""


@dataclass(frozen=True)
class AddressProblem:
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: “{self.text}” — {self.message}"


def normalize_address(raw: str) -> ParsedAddress:
    """The normalised form of one address; raises EmailNotValidError with a readable reason.

    A bulk list holds thousands of addresses on a few domains, and checking a domain is most
    of email-validator's work. So an address whose local part is plain ASCII (letters, digits,
    `._+-`) takes its domain's checked form from a cache; anything else is checked whole. Both
    ways give the library's own answer (tests/test_properties.py compares them).
    """
    raw = raw.strip()
    local, at, domain = raw.rpartition("@")
    test_environment = settings.ALLOW_TEST_DOMAINS
    if at and len(local) <= 64 and _PLAIN_LOCAL.match(local) and local.lower() not in _LOWERED:
        checked = _domain_checked(domain, test_environment)
        if isinstance(checked, str):
            raise EmailSyntaxError(checked)
        unicode_domain, ascii_domain = checked
        address = f"{local}@{unicode_domain}"
        if len(address) <= _MAX_ADDRESS and len(local) + 1 + len(ascii_domain) <= _MAX_ADDRESS:
            return ParsedAddress(address=address, domain=ascii_domain.lower())
    result = validate_email(raw, check_deliverability=False, test_environment=test_environment)
    # Domains are case-insensitive; local parts are kept as typed (RFC 5321 2.4).
    return ParsedAddress(address=result.normalized, domain=result.ascii_domain.lower())


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*\Z")
# Local parts the library lowercases (RFC 2142: postmaster, abuse…): checked the long way.
_LOWERED = frozenset(name.lower() for name in CASE_INSENSITIVE_MAILBOX_NAMES)
_MAX_ADDRESS = 254


@functools.lru_cache(maxsize=4096)
def _domain_checked(domain: str, test_environment: bool) -> tuple[str, str] | str:
    """(normalised domain, ASCII domain), or the library's reason it is refused."""
    try:
        result = validate_email(
            f"a@{domain}", check_deliverability=False, test_environment=test_environment
        )
    except EmailNotValidError as error:
        return str(error)
    return result.domain, result.ascii_domain


def parse_address_list(text: str) -> tuple[list[ParsedAddress], list[AddressProblem]]:
    """Every valid address once, in order of appearance, and a problem per bad entry."""
    reading = read_address_rows(text)
    return reading.addresses, reading.problems


@dataclass
class AddressReading:
    """What a pasted list or an uploaded CSV holds, row by row."""

    addresses: list[ParsedAddress] = field(default_factory=list)
    problems: list[AddressProblem] = field(default_factory=list)
    # A repeat of an address seen on an earlier line: counted once, and said so.
    duplicates: list[AddressDuplicate] = field(default_factory=list)
    rows: int = 0  # lines holding something (not blank, not a comment, not the header)
    header: tuple[str, ...] = ()
    over_limit: bool = False  # more rows than `max_rows`: reading stopped there

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


@dataclass(frozen=True)
class AddressDuplicate:
    line: int
    address: str
    first_line: int

    def __str__(self) -> str:
        return (
            f"Line {self.line}: {self.address} repeats line {self.first_line}; it is listed once."
        )


def read_address_rows(text: str, *, max_rows: int | None = None) -> AddressReading:
    """Read addresses one per line, comma-separated, or as CSV rows (address, name, notes).

    Each line is read with the csv module (so `"Roe, John" <john@x>` stays one cell), then
    split at semicolons and tabs too. A first line naming its columns (address/email, name,
    notes) is a header and decides which cell is which; without one, the cell holding the
    address comes first and the name and notes follow it, or the name comes before it
    ("Jane Doe, jane@x.gov"). Past `max_rows` rows, reading stops and `over_limit` is set.
    """
    reading = AddressReading()
    seen: dict[str, int] = {}
    text = _LONE_SURROGATES.sub("\ufffd", text)
    columns: dict[str, int] | None = None
    for number, line in enumerate(_LINE_BREAKS.split(text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not reading.rows and not reading.header and (header := _header(line)):
            reading.header = header
            columns = {
                name: header.index(name) for name in ("address", "name", "notes") if name in header
            }
            continue
        reading.rows += 1
        if max_rows is not None and reading.rows > max_rows:
            reading.over_limit = True  # the rest is not read: the list is refused anyway
            break
        cells = _cells(line, columns=columns is not None)
        if cells is None:
            reading.problems.append(
                AddressProblem(number, _excerpt(line), "This line is too long to be a row.")
            )
            continue
        for entry in _entries(cells, columns):
            if entry is None:
                reason = (
                    "The address column holds no email address."
                    if columns is not None
                    else "There is no email address on this line."
                )
                reading.problems.append(AddressProblem(number, _excerpt(line), reason))
                continue
            cell, name, notes = entry
            if len(cell) > MAX_ENTRY_CHARS:
                reading.problems.append(
                    AddressProblem(number, _excerpt(cell), "This is too long for an address.")
                )
                continue
            own_name, bare = _split_name(cell)
            try:
                parsed = normalize_address(bare)
            except EmailNotValidError as error:
                shown = bare if bare and bare in line else _excerpt(line)
                reading.problems.append(AddressProblem(number, shown, str(error)))
                continue
            key = parsed.address.lower()
            if key in seen:
                reading.duplicates.append(AddressDuplicate(number, parsed.address, seen[key]))
                continue
            seen[key] = number
            reading.addresses.append(
                ParsedAddress(
                    parsed.address,
                    parsed.domain,
                    _display_name(own_name or name),
                    _display_name(notes, limit=NOTES_CHARS),
                )
            )
    return reading


def group_by_domain(addresses: list[ParsedAddress], limit: int) -> list[list[ParsedAddress]]:
    """The addresses in groups of at most `limit`, a domain kept whole where it fits in one.

    Domains in order of first appearance, each added to the first group with room for all of
    it; a domain larger than `limit` fills groups of its own.
    """
    by_domain: dict[str, list[ParsedAddress]] = {}
    for address in addresses:
        by_domain.setdefault(address.domain, []).append(address)
    groups: list[list[ParsedAddress]] = []
    for members in by_domain.values():
        while len(members) > limit:
            groups.append(members[:limit])
            members = members[limit:]
        home = next((g for g in groups if len(g) + len(members) <= limit), None)
        if home is None:
            groups.append(list(members))
        else:
            home.extend(members)
    return groups


def _header(line: str) -> tuple[str, ...] | None:
    """The column names when `line` is a header row naming an address column, else None."""
    cells = _cells(line)
    if not cells or any("@" in c for c in cells):
        return None
    names = tuple(HEADER_NAMES.get(c.strip().strip('"').lower(), "") for c in cells)
    if "address" not in names or not all(names):
        return None
    return names


def _cells(line: str, *, columns: bool = False) -> list[str] | None:
    """The cells of one row, or None when it cannot be read (a cell beyond csv's limit).

    Under a header every cell keeps its place, empty or not; else empty cells are dropped and
    a cell is split at semicolons and tabs as well.
    """
    try:
        row = next(csv.reader([line], skipinitialspace=True), [])
    except csv.Error:
        return None
    if columns:
        return [cell.strip() for cell in row]
    return [part.strip() for cell in row for part in _SEPARATORS.split(cell) if part.strip()]


def _entries(cells: list[str], columns: dict[str, int] | None):
    """(address cell, name, notes) for each address on the row; None for a row without one."""
    if columns is not None:

        def cell(name: str) -> str:
            index = columns.get(name)
            return cells[index] if index is not None and index < len(cells) else ""

        address = cell("address")
        yield (address, cell("name"), cell("notes")) if "@" in address else None
        return
    with_at = [i for i, c in enumerate(cells) if "@" in c]
    if not with_at:
        yield None
    elif len(with_at) > 1:  # a list of addresses on one line
        for i in with_at:
            yield cells[i], "", ""
    else:
        i = with_at[0]
        before, after = cells[:i], cells[i + 1 :]
        if before:  # "Jane Doe, jane@x.gov[, notes]"
            yield cells[i], " ".join(before), " ".join(after)
        else:  # CSV order: address, name, notes
            yield cells[i], after[0] if after else "", " ".join(after[1:])


def _split_name(cell: str) -> tuple[str, str]:
    """(display name, bare address) of `Name <addr>`, `"Roe, John" <addr>` or a bare address."""
    if match := _NAME_ANGLE.match(cell):
        return match["name"].strip().strip('"').strip(), match["address"].strip()
    name, bare = parseaddr(cell)
    return name, bare or cell


def _excerpt(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _display_name(text: str, *, limit: int = 200) -> str:
    """A name fit to store and show: no control characters (NUL, bell…), spaces collapsed."""
    if not text.isprintable():  # the common case, a plain name, skips the character loop
        text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(text.split())[:limit]
