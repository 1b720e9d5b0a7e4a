"""Who a message may act for, and whether it is automatic mail that must never be answered.

`From` proves nothing. A message vouches for its `From` when a DKIM signature aligned with the
From's domain (RFC 7489 relaxed alignment: the same organisational domain, found through the
Public Suffix List; never a public suffix) verifies against DNS, or when a receiving server we
trust wrote an `Authentication-Results` header with DMARC pass for the From's domain. A signed
reply address (`tickets.reply_tokens`) is checked by the service, which also needs the database.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable

import authres
import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from tickets.inbound.parse import ParsedMail

logger = logging.getLogger(__name__)

# RFC 3834 and what common auto-responders add instead.
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress-loop")
DnsTxt = Callable[..., bytes | None]


_psl = None
_psl_lock = threading.Lock()


def _organisational_domain(domain: str) -> str | None:
    """The registrable domain (one label under its public suffix), or None for a suffix."""
    global _psl
    with _psl_lock:
        if _psl is None:
            from publicsuffixlist import PublicSuffixList

            _psl = PublicSuffixList()  # the list bundled with the package; no network
    return _psl.privatesuffix(domain)


def aligned(signing_domain: str, from_domain: str) -> bool:
    """RFC 7489 §3.1.1 relaxed alignment: `d=` and From share their organisational domain.

    A signature of a public suffix (`d=com`, `d=co.uk`, `d=github.io`) vouches for nobody:
    anyone can register a name under it.
    """
    signing_domain = signing_domain.lower().rstrip(".")
    from_domain = from_domain.lower().rstrip(".")
    if not signing_domain or not from_domain:
        return False
    if signing_domain == from_domain:
        return _organisational_domain(signing_domain) is not None
    organisation = _organisational_domain(signing_domain)
    return organisation is not None and organisation == _organisational_domain(from_domain)


def dkim_vouches(raw: bytes, mail: ParsedMail, *, txt: DnsTxt) -> tuple[bool, str]:
    """A DKIM signature aligned with the From's domain that verifies; and what was found."""
    if not mail.from_domain:
        return False, "no From address"
    signatures = mail.all("dkim-signature")
    if not signatures:
        return False, "no DKIM signature"
    said = []
    for index, value in enumerate(signatures):
        try:
            tags = parse_tag_value(re.sub(r"\s+", "", value).encode("ascii", "replace"))
        except (InvalidTagValueList, ValueError) as error:
            said.append(f"DKIM signature unreadable ({error})")
            continue
        domain = tags.get(b"d", b"").decode("ascii", "replace")
        if not aligned(domain, mail.from_domain):
            said.append(f"DKIM signature of {domain}, not the From's domain")
            continue
        try:
            if dkim.DKIM(raw).verify(idx=index, dnsfunc=txt):
                return True, f"DKIM signature of {domain} verified"
            said.append(f"DKIM signature of {domain} did not verify")
        except (dkim.DKIMException, IndexError, ValueError) as error:
            said.append(f"DKIM signature of {domain} did not verify ({error})")
    return False, "; ".join(said)


def authentication_results_vouch(
    mail: ParsedMail, *, trusted_ids: Iterable[str]
) -> tuple[bool, str]:
    """DMARC pass for the From's domain in a header written by a trusted receiving server.

    Only the trusted server's own headers count: anyone can write an Authentication-Results
    header, so one naming another authserv-id proves nothing (RFC 8601 §5).
    """
    trusted = {t.strip().lower() for t in trusted_ids if t.strip()}
    if not trusted or not mail.from_domain:
        return False, "no trusted receiving server configured"
    for value in mail.all("authentication-results"):
        try:
            header = authres.parse_value(value)
        except Exception as error:  # authres raises its own and the parser's errors
            logger.info("unreadable Authentication-Results %r: %s", value[:200], error)
            continue
        if str(header.authserv_id).lower() not in trusted:
            continue
        for result in header.results:
            if str(result.method).lower() != "dmarc" or str(result.result).lower() != "pass":
                continue
            domains = {
                str(p.value).lower().rstrip(".")
                for p in result.properties
                if str(p.type).lower() == "header" and str(p.name).lower() == "from"
            }
            if mail.from_domain in domains:
                return True, f"DMARC pass for {mail.from_domain} from {header.authserv_id}"
    return False, "no DMARC pass from a trusted receiving server"


def automatic_reason(mail: ParsedMail, *, own_domains: Iterable[str]) -> str:
    """Why this is automatic mail or a loop that must never be answered, or ''."""
    auto_submitted = mail.header("auto-submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = mail.header("precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _AUTOREPLY_HEADERS:
        if mail.header(name):
            return f"{name} header"
    if mail.header("x-autoreply") or mail.header("x-auto-reply"):
        return "auto-reply header"
    if mail.header("list-id") or mail.header("list-unsubscribe"):
        return "mailing-list mail"
    return_path = mail.all("return-path")
    if return_path and return_path[0].strip() in ("<>", ""):
        return "null return path (a delivery report)"
    own = {d.lower() for d in own_domains if d}
    if mail.message_id and mail.message_id.rstrip(">").rpartition("@")[2].lower() in own:
        return "our own message came back"
    for loop in mail.all("x-loop"):
        if any(domain in loop.lower() for domain in own):
            return "X-Loop names us"
    return ""
