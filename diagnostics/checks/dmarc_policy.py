"""Where a domain's DMARC policy comes from (RFC 7489 §6.6.3), and where DMARCbis would differ.

RFC 7489 asks `_dmarc.<domain>`, then `_dmarc.<organisational domain>`, the organisational
domain coming from the Public Suffix List (the snapshot `publicsuffixlist` ships; nothing is
downloaded at run time). DMARCbis (RFC 9989 §4.10) walks up the DNS tree instead; when the two
would apply different records, `tree_walk_note` says so. Every question either needs is asked
at once (`policy_questions`), so the walk costs no extra round trip.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from diagnostics.checks.common import parse_tags
from diagnostics.resolver import DnsAnswer, Question

POLICIES = ("none", "quarantine", "reject")
MAX_WALK_LABELS = 8  # DMARCbis: at most eight names are asked
_RECORD = re.compile(r"\s*v\s*=\s*DMARC1\s*(;|$)", re.IGNORECASE)
_psl = None
_psl_lock = threading.Lock()


def organizational_domain(domain: str) -> str:
    """The registrable domain by the Public Suffix List (a name under no listed suffix: itself)."""
    global _psl
    with _psl_lock:
        if _psl is None:
            from publicsuffixlist import PublicSuffixList

            _psl = PublicSuffixList()  # the list bundled with the package; no network
    return _psl.privatesuffix(domain) or domain


def is_dmarc_record(text: str) -> bool:
    """A TXT string whose first tag is v=DMARC1 (RFC 7489 §6.6.3 step 3)."""
    return bool(_RECORD.match(text))


def _rfc7489_names(domain: str) -> list[str]:
    return list(dict.fromkeys([domain, organizational_domain(domain)]))


def _walk_names(domain: str) -> list[str]:
    labels = domain.split(".")
    start = 1 if len(labels) <= MAX_WALK_LABELS else len(labels) - (MAX_WALK_LABELS - 1)
    return [domain] + [".".join(labels[i:]) for i in range(start, len(labels))]


def policy_questions(domain: str) -> list[Question]:
    """Every TXT question RFC 7489 discovery and the DMARCbis tree walk ask for `domain`."""
    names = dict.fromkeys(_rfc7489_names(domain) + _walk_names(domain))
    return [(f"_dmarc.{name}", "TXT") for name in names]


@dataclass(frozen=True)
class Discovery:
    """What policy discovery found: a record and where, none, several, or a lookup error."""

    status: str  # found | missing | multiple | error
    found_at: str | None = None
    record: str | None = None
    records: list[str] = field(default_factory=list)
    answer: DnsAnswer | None = None


def _records(answer: DnsAnswer) -> list[str]:
    return [t for t in answer.texts() if is_dmarc_record(t)] if answer.ok else []


def discover(domain: str, answers: Mapping[str, DnsAnswer]) -> Discovery:
    """RFC 7489 §6.6.3: the domain's own record, else the organisational domain's."""
    for name in _rfc7489_names(domain):
        answer = answers[name]
        if answer.failed:
            return Discovery("error", found_at=name, answer=answer)
        records = _records(answer)
        if len(records) > 1:
            return Discovery("multiple", found_at=name, records=records)
        if records:
            return Discovery("found", found_at=name, record=records[0], records=records)
    return Discovery("missing")


def tree_walk(domain: str, answers: Mapping[str, DnsAnswer]) -> tuple[str | None, bool]:
    """Where DMARCbis's tree walk finds the policy (or None), and whether every lookup answered.

    The domain's own record first; else each parent up the tree, stopping at a record with
    psd=n or psd=y. The record with the fewest labels applies, but under a psd=y record the
    one just below it (the organisational domain) does when it exists.
    """
    complete = True
    walked: list[tuple[int, str, str]] = []
    for index, name in enumerate(_walk_names(domain)):
        answer = answers[name]
        complete = complete and not answer.failed
        records = _records(answer)
        if len(records) != 1:
            continue
        if index == 0:
            return name, complete
        walked.append((len(name.split(".")), name, records[0]))
        if parse_tags(records[0]).get("psd", "").lower() in ("n", "y"):
            break
    if not walked:
        return None, complete
    labels, name, record = walked[-1]
    if parse_tags(record).get("psd", "").lower() == "y":
        below = [w for w in walked if w[0] == labels + 1]
        if below:
            name = below[0][1]
    return name, complete


def tree_walk_note(domain: str, found: Discovery, answers: Mapping[str, DnsAnswer]) -> str | None:
    """A sentence when DMARCbis's tree walk would apply another record than RFC 7489 does."""
    walked, complete = tree_walk(domain, answers)
    ours = found.found_at if found.status == "found" else None
    if walked == ours:
        return None if complete else "Some tree-walk lookups failed; DMARCbis may differ."
    if walked is None:
        return (
            f"DMARCbis (RFC 9989) finds policies by a DNS tree walk instead of the Public "
            f"Suffix List; its walk would find no record for {domain}."
        )
    where = f"_dmarc.{walked}, not _dmarc.{ours}" if ours else f"_dmarc.{walked}"
    return (
        f"DMARCbis (RFC 9989) finds policies by a DNS tree walk instead of the Public Suffix "
        f"List; it would apply the record at {where}"
        + ("" if ours else ", which RFC 7489 never consults for this domain")
        + "."
    )
