"""Reading the affected addresses a person pastes: one per line, comma-separated, or CSV."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from email_validator import EmailNotValidError, validate_email

_SEPARATORS = re.compile(r"[,;\t]")
# Lines as the person sees and counts them in the text box. str.splitlines() also breaks at
# form feeds, vertical tabs and U+0085 (cp1252's "…" read as Latin-1), shown on one line.
_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029]")
# Only text decoded with "surrogateescape" (or JSON's "\ud800") holds these; they cannot be
# stored or shown, so they read as U+FFFD like any other undecodable byte.
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# Far longer than any address with a display name; checking a megabyte "token" costs seconds.
MAX_ENTRY_CHARS = 1000


@dataclass(frozen=True)
class ParsedAddress:
    address: str
    domain: str
    display_name: str = ""


@dataclass(frozen=True)
class AddressProblem:
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: “{self.text}” — {self.message}"


def normalize_address(raw: str) -> ParsedAddress:
    """The normalised form of one address; raises EmailNotValidError with a readable reason."""
    result = validate_email(
        raw.strip(),
        check_deliverability=False,
        test_environment=settings.ALLOW_TEST_DOMAINS,
    )
    # Domains are case-insensitive; local parts are kept as typed (RFC 5321 2.4).
    return ParsedAddress(address=result.normalized, domain=result.ascii_domain.lower())


def parse_address_list(text: str) -> tuple[list[ParsedAddress], list[AddressProblem]]:
    """Every valid address once, in order of appearance, and a problem per bad entry."""
    found: dict[str, ParsedAddress] = {}
    problems: list[AddressProblem] = []
    text = _LONE_SURROGATES.sub("\ufffd", text)
    for number, line in enumerate(_LINE_BREAKS.split(text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = [t.strip() for t in _SEPARATORS.split(line) if t.strip()]
        with_at = [t for t in tokens if "@" in t]
        if not with_at:
            problems.append(
                AddressProblem(number, _excerpt(line), "There is no email address on this line.")
            )
            continue
        # A CSV row such as "Jane Doe, jane@x.gov": words beside one address name it.
        display = " ".join(t for t in tokens if "@" not in t) if len(with_at) == 1 else ""
        for token in with_at:
            if len(token) > MAX_ENTRY_CHARS:
                problems.append(
                    AddressProblem(number, _excerpt(token), "This is too long for an address.")
                )
                continue
            name, bare = parseaddr(token)
            try:
                parsed = normalize_address(bare or token)
            except EmailNotValidError as error:
                problems.append(AddressProblem(number, token, str(error)))
                continue
            key = parsed.address.lower()
            if key not in found:
                found[key] = ParsedAddress(
                    parsed.address, parsed.domain, _display_name(name or display)
                )
    return list(found.values()), problems


def _excerpt(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _display_name(text: str) -> str:
    """A name fit to store and show: no control characters (NUL, bell…), spaces collapsed."""
    printable = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(printable.split())[:200]
