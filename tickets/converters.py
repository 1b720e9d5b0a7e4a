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
