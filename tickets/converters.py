"""URL converters: a path segment that is not a ticket number or a token never reaches a view.

Anything else (a NUL byte, a quote, a very long string) is a plain 404 before any query runs.
"""

from __future__ import annotations

from django.urls import register_converter


class TicketNumberConverter:
    regex = r"DT-\d{1,12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TokenConverter:
    """A probe link's token (`secrets.token_urlsafe(32)`: 43 URL-safe characters)."""

    regex = r"[A-Za-z0-9_-]{16,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TicketNumberConverter, "ticket")
register_converter(TokenConverter, "token")


class DomainConverter:
    """A recipient domain as addresses store it (ASCII, IDNs as A-labels), at most 253 long."""

    regex = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"

    def to_python(self, value: str) -> str:
        return value.lower()

    def to_url(self, value: str) -> str:
        return value


class RowIdConverter:
    """A row id short enough for any integer column."""

    regex = r"[1-9][0-9]{0,11}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(DomainConverter, "domain")
register_converter(RowIdConverter, "row_id")
