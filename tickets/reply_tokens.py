"""Signed reply addresses: `reply+<token>@<INBOUND_REPLY_DOMAIN>`, one per person and ticket.

A mail we send about a ticket carries its recipient's reply address in `Reply-To`; a message
that comes back to that address acts for that person on that ticket, whatever its `From` says.
The token is the ticket id, the user id and an HMAC of both under SECRET_KEY, so it fits the
64 characters RFC 5321 §4.5.3.1.1 allows a local part and cannot be made up or moved to another
ticket or person.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

_SALT = "tickets.reply_tokens"
_PREFIX = "reply+"
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z]{1,13})-([0-9a-z]{16})$")


@dataclass(frozen=True)
class ReplyToken:
    ticket_id: int
    user_id: int


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(ticket_id: int, user_id: int) -> str:
    digest = salted_hmac(_SALT, f"{ticket_id}:{user_id}", algorithm="sha256").digest()
    return _b36(int.from_bytes(digest[:10], "big")).rjust(16, "0")[-16:]


def reply_token(*, ticket_id: int, user_id: int) -> str:
    return f"{_b36(ticket_id)}-{_b36(user_id)}-{_signature(ticket_id, user_id)}"


def reply_address(*, ticket_id: int, user_id: int) -> str | None:
    """The address a person replies to about a ticket; None when no inbound domain is set."""
    domain = getattr(settings, "INBOUND_REPLY_DOMAIN", "")
    if not domain:
        return None
    return f"{_PREFIX}{reply_token(ticket_id=ticket_id, user_id=user_id)}@{domain}"


def read_reply_address(address: str) -> ReplyToken | None:
    """The ticket and person an address stands for, or None when it is not a valid reply address."""
    local, _, domain = address.strip().lower().rpartition("@")
    expected = getattr(settings, "INBOUND_REPLY_DOMAIN", "").lower()
    if not expected or domain != expected or not local.startswith(_PREFIX):
        return None
    match = _TOKEN.match(local[len(_PREFIX) :])
    if match is None:
        return None
    ticket_id, user_id = int(match[1], 36), int(match[2], 36)
    if not hmac.compare_digest(match[3], _signature(ticket_id, user_id)):
        return None
    return ReplyToken(ticket_id=ticket_id, user_id=user_id)
