"""What the receiving provider's own codes mean: the reference's per-destination modules.

Some providers put a code of their own in their replies (Cox "AUP#CXBL", Spectrum "AUP#1260",
GoDaddy "IB103", La Poste/Orange "LPN007", i.ua "/err/3") or answer with fixed sentences for fixed
status codes (Google, Exchange Online, Mimecast, KDDI, NTT docomo, Tencent QQ). Sisimai reads those
in ``Sisimai::Rhost::*`` when the remote host (or, failing that, the recipient's domain) belongs to
the provider, before its general reason definitions. The host patterns and every code and phrase
table are generated data (``reference_rules.json``); each module's way of looking them up is a few
lines below, written after its Perl ``get()``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from functools import cache, lru_cache

from diagnostics.bounces import rules, rx

_STATUS_RE = rx.compile(r"[245]\.\d\.\d+\Z")


# What a per-destination module looks at (Sisimai::Data's fields): diagnostic, status,
# reply_code, command (all strings).
Facts = namedtuple("Facts", "diagnostic status reply_code command")  # noqa: PYI024


def _tables(module: str) -> dict:
    return rules.data()["rhost"]["modules"][module]


def _phrases_first(table: dict, text: str) -> str:
    for reason, phrases in sorted(table.items()):
        if any(phrase in text for phrase in phrases):
            return reason
    return ""


def _cox(facts: Facts) -> str:
    code = rx.search(r"AUP#([0-9A-Z]+)", facts.diagnostic)
    reason = _tables("Cox")["errorcodes"].get(code.group(1), "") if code else ""
    return reason or _phrases_first(_tables("Cox")["messagesof"], facts.diagnostic)


def _exchange_online(facts: Facts) -> str:
    if not facts.diagnostic or not _STATUS_RE.match(facts.status):
        return ""
    third = int(facts.status.rsplit(".", 1)[-1])
    text = facts.diagnostic.lower()
    for reason, rows in sorted(_tables("ExchangeOnline")["messagesof"].items()):
        for prefix, low, high, phrase in rows:
            if low == high:
                if facts.status != prefix:
                    continue
            elif prefix not in facts.status or not low <= third <= high:
                continue
            if phrase in text:
                return reason
    return ""


def _france_ptt(facts: Facts) -> str:
    code = rx.search(
        r"\b(LPN|LPNAAA|OFR|OUK)(_[0-9]{3}|[0-9]{3}[-_][0-9]{3})\b", facts.diagnostic, rx.I
    )
    if not code:
        return ""
    key = f"{int((code.group(1) + code.group(2))[-3:]):03d}"
    return _tables("FrancePTT")["errorcodes"].get(key) or "undefined"


def _godaddy(facts: Facts) -> str:
    code = rx.search(r"\s(IB\d{3})\b", facts.diagnostic)
    if code:
        return _tables("GoDaddy")["errorcodes"].get(code.group(1)) or ""
    return _phrases_first(_tables("GoDaddy")["messagesof"], facts.diagnostic)


def _google_apps(facts: Facts) -> str:
    if not (facts.reply_code and facts.diagnostic and _STATUS_RE.match(facts.status)):
        return ""
    status, reply, text = facts.status[2:], facts.reply_code[1:3], facts.diagnostic.lower()
    for reason, rows in sorted(_tables("GoogleApps")["messagesof"].items()):
        for row_reply, row_status, phrase in rows:
            if phrase in text and row_reply.find(reply) > 0 and row_status.find(status) > 1:
                return reason
    return ""


def _iua(facts: Facts) -> str:
    code = rx.search(r"[.]i[.]ua/err/(\d+)", facts.diagnostic.lower())
    return _tables("IUA")["errorcodes"].get(code.group(1), "") if code else ""


def _kddi(facts: Facts) -> str:
    for reason, phrase in sorted(_tables("KDDI")["messagesof"].items()):
        if phrase in facts.diagnostic:
            return reason
    return ""


def _mimecast(facts: Facts) -> str:
    if not facts.diagnostic or not rx.fullmatch(r"[245]\d\d", facts.reply_code):
        return ""
    reply, text = int(facts.reply_code), facts.diagnostic.lower()
    for reason, rows in sorted(_tables("Mimecast")["messagesof"].items()):
        if any(reply == code and phrase in text for code, phrase in rows):
            return reason
    return ""


def _ntt_docomo(facts: Facts) -> str:
    if facts.status in ("5.1.1", "5.0.911"):
        return "userunknown"
    if facts.status == "5.2.0":
        return "filtered"
    text = facts.diagnostic.lower()
    for reason, pattern in sorted(_tables("NTTDOCOMO")["messagesof"].items()):
        if rules.perl_regex(pattern["re"], pattern["flags"]).search(text):
            return reason
    if facts.status == "5.0.0":
        return {"RCPT": "userunknown", "DATA": "rejected"}.get(facts.command, "")
    return ""


def _spectrum(facts: Facts) -> str:
    code = rx.search(r"AUP#[-A-Za-z]*(\d{4})", facts.diagnostic)
    number = int(code.group(1)) if code else 0
    tables = _tables("Spectrum")
    reason = tables["errorcodes"].get(str(number), "")
    if not reason:
        reason = next((r for low, high, r in tables["coderanges"] if low <= number <= high), "")
    return reason


def _tencent_qq(facts: Facts) -> str:
    text = facts.diagnostic.lower()
    for phrase, reason in sorted(_tables("TencentQQ")["messagesof"].items()):
        if phrase in text:
            return reason
    return ""


_LOOKUPS: dict[str, Callable[[Facts], str]] = {
    "Cox": _cox,
    "ExchangeOnline": _exchange_online,
    "FrancePTT": _france_ptt,
    "GoDaddy": _godaddy,
    "GoogleApps": _google_apps,
    "IUA": _iua,
    "KDDI": _kddi,
    "Mimecast": _mimecast,
    "NTTDOCOMO": _ntt_docomo,
    "Spectrum": _spectrum,
    "TencentQQ": _tencent_qq,
}


@cache
def _hosts() -> tuple[tuple[rx.Pattern[str], str], ...]:
    return tuple(
        (rules.perl_regex(pattern, flags), module)
        for pattern, flags, module in rules.data()["rhost"]["hosts"]
    )


@lru_cache(maxsize=1024)
def module_for(host: str) -> str:
    """The per-destination module for a remote host or a domain, or ""."""
    host = host.lower()
    if not host:
        return ""
    return next((module for pattern, module in _hosts() if pattern.search(host)), "")


def destination_reason(*, remote_host: str, domain: str, facts: Facts, decided: str) -> str:
    """The provider's own reading, tried with the remote host and then the recipient's domain.

    ``decided`` is a reason already given but still open to revision (one of the reference's
    re-examined reasons); modules that keep a decided reason leave it alone.
    """
    for host in (remote_host, domain):
        module = module_for(host)
        if not module:
            continue
        if decided and _tables(module)["keeps_decided_reason"]:
            return ""
        reason = _LOOKUPS[module](facts)
        if reason:
            return reason
    return ""
