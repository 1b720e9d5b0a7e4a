"""The reference analyser's rules as generated data (``reference_rules.json``), loaded on use.

``scripts/extract-sisimai-rules`` writes the file from Sisimai v4.25.15's Perl source
(BSD-2-Clause): the status-code table, the hard/soft rule, the reasons it re-examines, the
per-MTA modules (``lhost.py``) and the per-destination modules (``rhost.py``). This module only
loads it and turns Perl patterns into Python ones; importing it costs nothing.
"""

from __future__ import annotations

import json
import os
from functools import cache

from diagnostics.bounces import rx

_RULES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_rules.json")
# Perl spells "end of string" \z; Python's \Z means the same.
_PERL_END_RE = rx.compile(r"(?<!\\)((?:\\\\)*)\\z")


@cache
def data() -> dict:
    return json.loads(_read_text(_RULES_FILE))


def perl_regex(pattern: str, flags: str = "", *, ignore_case: bool = False) -> rx.Pattern[str]:
    """Compile a Perl pattern (as Perl's regexp_pattern returns it) with its flags."""
    python_flags = 0
    if "x" in flags:
        python_flags |= rx.VERBOSE
    if "i" in flags or ignore_case:
        python_flags |= rx.IGNORECASE
    if "s" in flags:
        python_flags |= rx.DOTALL
    if "m" in flags:
        python_flags |= rx.MULTILINE
    return rx.compile(_PERL_END_RE.sub(r"\1\\Z", pattern), python_flags)


@cache
def status_names() -> dict[str, str]:
    """Sisimai::SMTP::Status: enhanced status code -> reason."""
    return data()["status_names"]


@cache
def retried_reasons() -> frozenset[str]:
    """Reasons Sisimai decides again from the status and the text even when a module gave them."""
    return frozenset(data()["retry"])


@cache
def _soft_or_hard() -> dict[str, frozenset[str]]:
    return {key: frozenset(value) for key, value in data()["soft_or_hard"].items()}


def is_hard(reason: str, code: str = "") -> bool:
    """Sisimai::SMTP::Error->soft_or_hard: hard for the address-is-gone reasons; "notaccept"
    is hard unless its status (or, without one, its reply code) is a temporary one."""
    table = _soft_or_hard()
    if reason in table["by_status_class"]:
        return not code.startswith("4")
    return reason in table["hard"]


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()
