"""SPF record syntax (RFC 7208 §4.6, §5, §6, §7.1): a record's mechanisms and modifiers, checked.

Reading a record needs no DNS; `diagnostics.spf` evaluates what this returns. A record that
breaks the ABNF anywhere is a permerror, even in a term evaluation would never reach (§4.6).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
# Macro letters for domain-specs; "c", "r" and "t" only appear in explanation text (§7.1).
DOMAIN_MACROS = "slodiphv"
ALL_MACROS = "slodiphcrtv"

# §7.1: macro-expand = "%{" macro-letter transformers *delimiter "}" / "%%" / "%_" / "%-".
_MACRO_BODY = re.compile(r"([a-z])(\d*)(r?)([.\-+,/_=]*)", re.IGNORECASE)
# macro-literal = %x21-24 / %x26-7E: visible ASCII except "%".
_LITERAL = re.compile(r"[\x21-\x24\x26-\x7e]")
# toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = r"(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])"
_DOMAIN_END = re.compile(rf"\.{_TOPLABEL}\.?$", re.IGNORECASE)
# dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]; no leading zeros.
_DUAL_CIDR = re.compile(r"^(?P<spec>.*?)(?:/(?P<c4>0|[1-9]\d?))?(?://(?P<c6>0|[1-9]\d{0,2}))?$")
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$", re.IGNORECASE)


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


def macro_tokens(text: str, letters: str = ALL_MACROS) -> list[str]:
    """A macro-string split into literals (one character each) and macro-expands.

    Raises SpfSyntaxError on a stray "%", an unknown letter or a character outside
    visible ASCII.
    """
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "%":
            if not _LITERAL.fullmatch(char):
                raise SpfSyntaxError(f"character {char!r} is not allowed in {text!r}")
            tokens.append(char)
            i += 1
            continue
        follower = text[i + 1 : i + 2]
        if follower in ("%", "_", "-"):
            tokens.append(text[i : i + 2])
            i += 2
            continue
        end = text.find("}", i)
        body = _MACRO_BODY.fullmatch(text[i + 2 : end]) if follower == "{" and end > 0 else None
        if body is None or body.group(1).lower() not in letters:
            raise SpfSyntaxError(f"bad macro in {text!r}")
        tokens.append(text[i : end + 1])
        i = end + 1
    return tokens


def check_domain_spec(spec: str, letters: str = DOMAIN_MACROS) -> str:
    """`spec` when it is a valid domain-spec (macro-string domain-end), else SpfSyntaxError."""
    tokens = macro_tokens(spec, letters)
    if not tokens:
        raise SpfSyntaxError("empty domain-spec")
    if tokens[-1].startswith("%{"):
        return spec  # domain-end = macro-expand
    tail = ""
    for token in reversed(tokens):
        if len(token) > 1:
            break
        tail = token + tail
    if not _DOMAIN_END.search(tail):
        raise SpfSyntaxError(f"{spec!r} does not end in a valid top-level label")
    return spec


def _cidr(text: str, maximum: int) -> int:
    value = int(text)
    if value > maximum:
        raise SpfSyntaxError(f"prefix length /{text} is over {maximum}")
    return value


def _address_term(text: str, qualifier: str, name: str, rest: str, domain: str) -> Term:
    match = _DUAL_CIDR.match(rest)
    if not match or (match["spec"] and not match["spec"].startswith(":")):
        raise SpfSyntaxError(f"bad term {text!r} in {domain}")
    spec = match["spec"][1:] if match["spec"] else None
    if match["spec"] and not spec:
        raise SpfSyntaxError(f"bad term {text!r} in {domain}: empty domain-spec")
    if spec is not None:
        check_domain_spec(spec)
    c4 = _cidr(match["c4"], 32) if match["c4"] else None
    c6 = _cidr(match["c6"], 128) if match["c6"] else None
    return Term(text, qualifier, name, spec=spec, cidr4=c4, cidr6=c6)


def _network_term(text: str, qualifier: str, name: str, rest: str, domain: str) -> Term:
    if not rest.startswith(":"):
        raise SpfSyntaxError(f"bad term {text!r} in {domain}")
    address, slash, length = rest[1:].partition("/")
    version = 4 if name == "ip4" else 6
    if slash and not re.fullmatch(r"0|[1-9]\d*", length):
        raise SpfSyntaxError(f"bad prefix length in {text!r}")
    try:
        ip = ipaddress.ip_address(address)
        if ip.version != version:
            raise ValueError(address)
        if slash:
            _cidr(length, ip.max_prefixlen)
    except ValueError:
        raise SpfSyntaxError(f"bad network {rest[1:]!r} in {domain}") from None
    return Term(text, qualifier, name, spec=rest[1:])


def _mechanism(text: str, domain: str) -> Term:
    qualifier, body = "+", text
    if body[:1] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    name = re.split(r"[:/]", body, maxsplit=1)[0].lower()
    rest = body[len(name) :]
    if name not in MECHANISMS:
        raise SpfSyntaxError(f"unknown term {text!r} in {domain}")
    if name == "all":
        if rest:
            raise SpfSyntaxError(f"bad term {text!r} in {domain}")
        return Term(text, qualifier, name)
    if name in ("a", "mx"):
        return _address_term(text, qualifier, name, rest, domain)
    if name in ("ip4", "ip6"):
        return _network_term(text, qualifier, name, rest, domain)
    # include, exists: ":" domain-spec; ptr: [ ":" domain-spec ]
    if name == "ptr" and not rest:
        return Term(text, qualifier, name)
    if not rest.startswith(":") or len(rest) < 2:
        raise SpfSyntaxError(f"bad term {text!r} in {domain}")
    return Term(text, qualifier, name, spec=check_domain_spec(rest[1:]))


def parse_record(record: str, domain: str) -> tuple[list[Term], dict[str, str]]:
    """The terms (in order) and modifiers of `domain`'s record; SpfSyntaxError when malformed.

    Terms are separated by spaces only (a tab or line break inside a record is an error).
    """
    terms: list[Term] = []
    modifiers: dict[str, str] = {}
    for text in [t for t in record.split(" ") if t][1:]:
        name, equals, value = text.partition("=")
        if equals and _NAME.match(name):
            key = name.lower()
            if key in ("redirect", "exp"):
                if key in modifiers:
                    raise SpfSyntaxError(f"{key}= appears twice in {domain}")
                check_domain_spec(value)
            else:
                macro_tokens(value)  # unknown modifiers are ignored, but must be well formed
            modifiers.setdefault(key, value)
            continue
        terms.append(_mechanism(text, domain))
    return terms, modifiers
