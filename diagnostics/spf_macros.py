"""SPF macros (RFC 7208 §7): expanding domain-specs and explanation text for one check_host.

No DNS here, except through `Macros.validated_name`, which the evaluator supplies for %{p}.
"""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from diagnostics.spf_syntax import ALL_MACROS, DOMAIN_MACROS, SpfSyntaxError, macro_tokens

_MACRO = re.compile(r"%\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}", re.IGNORECASE)
_ESCAPES = {"%%": "%", "%_": " ", "%-": "%20"}
MAX_NAME = 253
MAX_LABEL = 63


class MacroError(SpfSyntaxError):
    """A macro cannot be expanded into a usable name: a permerror."""


def ip_letters(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The %{i} value: dotted quad, or dot-separated nibbles for IPv6 (§7.3)."""
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", ""))


@dataclass(frozen=True)
class Macros:
    """What the macro letters stand for in one check_host(ip, domain, sender)."""

    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    helo: str
    validated_name: Callable[[str], str]  # %{p} for the current domain; asks DNS
    receiver: str = "unknown"

    def value(self, letter: str, domain: str) -> str:
        letter = letter.lower()
        if letter == "p":
            return self.validated_name(domain)
        local, _, sender_domain = self.sender.rpartition("@")
        return {
            "s": self.sender,
            "l": local or "postmaster",
            "o": sender_domain or domain,
            "d": domain,
            "i": ip_letters(self.ip),
            "v": "in-addr" if self.ip.version == 4 else "ip6",
            "h": self.helo,
            "c": str(self.ip),
            "r": self.receiver,
            "t": str(int(time.time())),
        }[letter]

    def _expand(self, tokens: list[str], domain: str) -> str:
        out: list[str] = []
        for token in tokens:
            if len(token) == 1:
                out.append(token)
            elif token in _ESCAPES:
                out.append(_ESCAPES[token])
            else:
                macro = _MACRO.fullmatch(token)
                value = _transform(self.value(macro.group(1), domain), macro)
                if macro.group(1).isupper():
                    value = urllib.parse.quote(value, safe="")
                out.append(value)
        return "".join(out)

    def domain(self, spec: str, domain: str) -> str:
        """A domain-spec expanded into a name to query, cut to 253 characters from the left."""
        expanded = self._expand(macro_tokens(spec, DOMAIN_MACROS), domain).rstrip(".")
        while len(expanded) > MAX_NAME and "." in expanded:
            expanded = expanded.split(".", 1)[1]
        if not expanded or any(not 0 < len(label) <= MAX_LABEL for label in expanded.split(".")):
            raise MacroError(f"{spec!r} expands to no valid name")
        return expanded.lower()

    def explanation(self, text: str, domain: str) -> str:
        """An explain-string (macro-strings and spaces, §6.2) expanded; MacroError if invalid."""
        return " ".join(
            self._expand(macro_tokens(part, ALL_MACROS), domain) for part in text.split(" ")
        )


def _transform(value: str, macro: re.Match) -> str:
    delimiters = macro.group(4) or "."
    parts = re.split("|".join(re.escape(d) for d in delimiters), value)
    if macro.group(3):
        parts.reverse()
    if macro.group(2):
        keep = int(macro.group(2))
        if keep == 0:
            raise MacroError("a macro keeps zero labels")
        parts = parts[-keep:]
    return ".".join(parts)
