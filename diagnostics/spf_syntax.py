"""SPF record syntax (RFC 7208 §4.6, §5, §6): a record's mechanisms and modifiers, checked.

Reading a record needs no DNS; `diagnostics.spf` evaluates what this returns.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
_CIDRS = re.compile(r"^(?::(?P<spec>[^/]+))?(?:/(?P<c4>\d+))?(?://(?P<c6>\d+))?$")
_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)


class SpfSyntaxError(ValueError):
    """The record breaks RFC 7208's grammar: a permerror for whoever evaluates it."""


@dataclass(frozen=True)
class Term:
    """One mechanism of a record: its qualifier, name, domain-spec and prefix lengths."""

    text: str
    qualifier: str
    name: str
    spec: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None


def parse_record(record: str, domain: str) -> tuple[list[Term], dict[str, str]]:
    """The terms (in order) and modifiers of `domain`'s record; SpfSyntaxError when malformed."""
    terms: list[Term] = []
    modifiers: dict[str, str] = {}
    for text in record.split()[1:]:
        modifier = _MODIFIER.match(text)
        if modifier and modifier.group(1).lower() not in MECHANISMS:
            key = modifier.group(1).lower()
            if key in modifiers and key in ("redirect", "exp"):
                raise SpfSyntaxError(f"{key}= appears twice in {domain}")
            modifiers[key] = modifier.group(2)
            continue
        qualifier = "+"
        body = text
        if body[:1] in QUALIFIERS:
            qualifier, body = body[0], body[1:]
        name = re.split(r"[:/]", body, maxsplit=1)[0].lower()
        rest = body[len(name) :]
        if name not in MECHANISMS:
            raise SpfSyntaxError(f"unknown term {text!r} in {domain}")
        if name == "all":
            if rest:
                raise SpfSyntaxError(f"bad term {text!r} in {domain}")
            terms.append(Term(text, qualifier, name))
        elif name in ("include", "exists", "ptr"):
            if rest and not rest.startswith(":") or (name != "ptr" and len(rest) < 2):
                raise SpfSyntaxError(f"bad term {text!r} in {domain}")
            terms.append(Term(text, qualifier, name, spec=rest[1:] or None))
        elif name in ("a", "mx"):
            match = _CIDRS.match(rest)
            if not match:
                raise SpfSyntaxError(f"bad term {text!r} in {domain}")
            c4 = int(match["c4"]) if match["c4"] else None
            c6 = int(match["c6"]) if match["c6"] else None
            if (c4 is not None and c4 > 32) or (c6 is not None and c6 > 128):
                raise SpfSyntaxError(f"bad prefix length in {text!r}")
            terms.append(Term(text, qualifier, name, spec=match["spec"], cidr4=c4, cidr6=c6))
        else:  # ip4 / ip6
            if not rest.startswith(":"):
                raise SpfSyntaxError(f"bad term {text!r} in {domain}")
            try:
                network = ipaddress.ip_network(rest[1:], strict=False)
            except ValueError:
                raise SpfSyntaxError(f"bad network {rest[1:]!r} in {domain}") from None
            if network.version != (4 if name == "ip4" else 6):
                raise SpfSyntaxError(f"bad network {rest[1:]!r} in {domain}")
            terms.append(Term(text, qualifier, name, spec=rest[1:]))
    return terms, modifiers
