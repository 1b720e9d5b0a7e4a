"""A spamc client: SpamAssassin's spamd asked for a REPORT on one message, over TCP.

The protocol (SPAMC/1.5) is a request line, a Content-length and a User header, a blank line
and the message; spamd answers a status line, a `Spam: True ; 6.0 / 5.0` header and the
report, whose table lists each rule that fired with its points and description.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any

_HEADER_LINE = re.compile(r"^\s*pts\s+rule name\s+description", re.IGNORECASE)
_RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*?)\s*$")
_SPAM_HEADER = re.compile(
    r"^(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE
)


class SpamdError(Exception):
    """spamd could not be asked, or answered something that is not a report."""


@dataclass(frozen=True)
class RuleHit:
    rule: str
    score: float
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "score": self.score, "description": self.description}


@dataclass(frozen=True)
class MessageScore:
    score: float
    threshold: float
    is_spam: bool
    rules: tuple[RuleHit, ...] = field(default=())


@dataclass(frozen=True)
class SpamdServer:
    """Where spamd listens, and how long one message may take."""

    host: str = "127.0.0.1"
    port: int = 783
    timeout: float = 30.0

    @property
    def subject(self) -> str:
        return f"spamd {self.host}:{self.port}"


def server_from_settings() -> SpamdServer:
    from django.conf import settings

    return SpamdServer(
        host=settings.CONTENT_SPAMD_HOST,
        port=settings.CONTENT_SPAMD_PORT,
        timeout=settings.CONTENT_SPAMD_TIMEOUT,
    )


def score_message(raw: bytes, *, server: SpamdServer) -> MessageScore:
    """Ask spamd for a REPORT on `raw` (a whole RFC 5322 message); raises SpamdError."""
    request = (
        b"REPORT SPAMC/1.5\r\n"
        + f"Content-length: {len(raw)}\r\n".encode()
        + b"User: deliverytickets\r\n\r\n"
        + raw
    )
    deadline = time.monotonic() + server.timeout
    try:
        with socket.create_connection((server.host, server.port), timeout=server.timeout) as conn:
            conn.sendall(request)
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except TimeoutError as error:
        raise SpamdError(f"{server.subject} did not answer within {server.timeout:g} s") from error
    except OSError as error:
        raise SpamdError(f"{server.subject} is not answering ({error})") from error
    return parse_response(b"".join(chunks), subject=server.subject)


def parse_response(data: bytes, *, subject: str = "spamd") -> MessageScore:
    """Read spamd's answer to REPORT: the status line, the Spam header and the report table."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(None, 2) if lines and lines[0] else []
    if len(status) < 2 or not status[0].startswith("SPAMD/"):
        raise SpamdError(f"{subject} answered something that is not spamd ({lines[:1]!r})")
    if status[1] != "0":
        raise SpamdError(f"{subject} refused the message: {' '.join(status[1:])}")
    verdict = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "spam":
            verdict = _SPAM_HEADER.match(value.strip())
    if verdict is None:
        raise SpamdError(f"{subject} sent no score (no Spam header)")
    return MessageScore(
        score=float(verdict.group(2)),
        threshold=float(verdict.group(3)),
        is_spam=verdict.group(1).lower() in ("true", "yes"),
        rules=tuple(parse_report(body.decode("utf-8", "replace"))),
    )


def parse_report(text: str) -> list[RuleHit]:
    """The rule table of a SpamAssassin report; wrapped descriptions are joined."""
    hits: list[RuleHit] = []
    in_table = False
    for line in text.splitlines():
        if _HEADER_LINE.match(line):
            in_table = True
            continue
        if not in_table or not line.strip() or line.lstrip().startswith("----"):
            continue
        match = _RULE_LINE.match(line)
        if match:
            hits.append(RuleHit(match.group(2), float(match.group(1)), match.group(3)))
        elif hits and line.startswith(" "):
            last = hits[-1]
            hits[-1] = RuleHit(last.rule, last.score, f"{last.description} {line.strip()}")
    return hits
