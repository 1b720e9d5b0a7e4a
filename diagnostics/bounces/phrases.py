"""Well-known diagnostic phrases, one table per bounce reason.

Collected from the texts MTAs and mailbox providers put in their replies (Postfix, Exim,
Sendmail, Exchange, Gmail, Yahoo, Microsoft, ...). Patterns are written in any case but
compiled in lower case, and matched against lower-cased text with e-mail addresses and host
names taken out (matching without IGNORECASE is about three times faster).
"""

from __future__ import annotations

from functools import cache

from diagnostics.bounces import rx

# The lower-cased phrases behind each pattern phrases_re() made, for the quick test below.
_SOURCES: dict[str, list[str]] = {}


def phrases_re(*patterns: str) -> rx.Pattern[str]:
    """One lower-case pattern for a list of phrases; search it in lower-cased text."""
    # Lower every letter but the escapes: "\S" and "\W" keep their meaning.
    lowered = [
        rx.sub(r"(\\.)|([A-Z])", lambda m: m.group(1) or m.group(2).lower(), pattern)
        for pattern in patterns
    ]
    joined = "|".join(f"(?:{pattern})" for pattern in lowered)
    _SOURCES[joined] = lowered
    return rx.compile(joined)


# Ordered: the first reason whose phrases match wins, so the narrow readings come before the
# broad ones (a DMARC rejection also says "unauthenticated"; a DNSBL refusal also says "blocked").
PHRASES: tuple[tuple[str, rx.Pattern[str]], ...] = (
    (
        "expired",
        phrases_re(
            r"retry time(?:out)? (?:exceeded|expired|reached)",
            r"message (?:has )?expired",
            r"envelope expired",
            r"delivery time expired",
            r"(?:in|on) the queue too long",
            r"could not be delivered for too long",
            r"delivery failed \d+ attempts",
            r"was aborted after",
            r"giving up after",
            r"unable to deliver in \d+ minutes",
            r"retry period expired",
            r"maximum time in queue",
        ),
    ),
    (
        "mailboxfull",
        phrases_re(
            r"mail ?box (?:is |was )?(?:full|over ?quota|exceeds?)",
            r"quota (?:exceeded|full)",
            r"over ?quota",
            r"storage quota",
            r"exceeds? (?:the )?(?:allowed |disk )?(?:quota|size)",
            r"(?:insufficient|not enough) (?:disk|storage) space",
            r"disk quota",
            r"(?:user|mailbox|recipient)'?s? (?:storage|quota|disk)",
            r"mailbox (?:has )?exceeded",
            r"full mailbox",
            r"account is full",
            r"mail ?folder is full",
            r"their mailbox is full",
        ),
    ),
    (
        "exceedlimit",
        phrases_re(
            r"message length exceeds administrative limit",
            r"exceeds? (?:the )?(?:per[- ])?(?:mailbox|recipient) (?:message )?size limit",
        ),
    ),
    (
        "mesgtoobig",
        phrases_re(
            r"message (?:is |was )?too (?:big|large|long)",
            r"message size exceeds",
            r"size limit (?:exceeded|reached)",
            r"exceeds? (?:the )?(?:fixed )?max(?:imum)? (?:allowed )?(?:message )?size",
            r"recipsizelimit",
            r"mail size limit",
            r"file too big",
            r"message file too big",
        ),
    ),
    (
        "suspend",
        phrases_re(
            r"\b(?:user|account|mail ?box|recipient)\b[^.]{0,60}?"
            r"\b(?:is|has been|was|temporar(?:il)?y)\s+(?:temporar(?:il)?y\s+)?"
            r"(?:disabled|suspended|inactive|locked|frozen|deactivated|discontinued)",
            r"(?:user|account|mail ?box|recipient)\S* \S+ temporar(?:il)?y locked",
            r"disabled (?:recipient|mailbox|account|user|address)",
            r"account (?:is )?(?:disabled|suspended)",
        ),
    ),
    (
        "hasmoved",
        phrases_re(
            r"no longer (?:on (?:this )?server|valid|available|active|in use|with us|at this)",
            r"mailbox (?:has )?moved",
            r"address (?:has )?changed",
            r"no forwarding address",
            r"(?:user|mailbox|recipient) has moved",
        ),
    ),
    (
        "notaccept",
        phrases_re(
            r"null mx",
            r"does not accept (?:e-?mail|mail|messages)",
            r"doesn'?t (?:receive|accept) (?:e-?mail|mail)",
            r"no smtp service",
            r"not accepting (?:any )?(?:e-?mail|mail|messages|network messages)",
        ),
    ),
    (
        "toomanyconn",
        phrases_re(
            r"too many (?:connections|recipients|concurrent|sessions|simultaneous)",
            r"frequency limit",
            r"rate limit",
            r"throttl",
            r"connection limit",
            r"exceeded the (?:maximum )?number of (?:connections|recipients)",
        ),
    ),
    (
        "policyviolation",
        phrases_re(
            r"\bdmarc\b",
            r"policy reasons",
            r"policy violation",
            r"violat\w* (?:our |the |local )?\w* ?polic",
            r"multiple addresses in from",
            r"content presents a potential",
            r"message not allowed",
            r"not accepted (?:due to|for|because of) (?:local )?polic",
            r"rejected (?:by|due to|per) (?:local )?polic",
        ),
    ),
    (
        "securityerror",
        phrases_re(
            r"authentication (?:is )?(?:required|failed|needed|credentials)",
            r"unauthenticated",
            r"authentication checks? (?:failed|did not pass)",
            r"not authenticated",
            r"must authenticate",
            r"smtp auth",
            r"without authentication",
            r"\bspf\b",
            r"\bdkim\b",
            r"sender ?id\b",
            r"(?:tls|encryption|starttls) (?:is )?(?:required|needed)",
            r"must (?:issue a )?starttls",
        ),
    ),
    (
        "rejected",
        phrases_re(
            r"sender (?:address |domain )?"
            r"(?:rejected|refused|denied|not allowed|invalid|unknown|blocked)",
            r"sender verif\w* failed",
            r"domain of sender",
            r"bad sender",
            r"envelope sender",
            r"all recipient addresses rejected",
            r"mail from (?:address )?(?:rejected|refused|denied)",
            r"sender is (?:on|in) (?:the |a )?(?:block|black|deny)",
        ),
    ),
    (
        "hostunknown",
        phrases_re(
            r"host unknown",
            r"unknown host",
            r"host (?:or domain name )?not found",
            r"domain (?:name )?not found",
            r"no such domain",
            r"domain (?:does not|doesn'?t|may not) exist",
            r"unrout(?:e)?able",
            r"illegal host",
            r"(?:couldn'?t|could not|cannot|can'?t) find (?:a |any )?mail exchanger",
            r"no mail exchanger",
            r"domain is not reachable",
            r"name service error",
            r"\bnxdomain\b",
            r"bad destination system",
            r"unknown domain",
            r"no mx record",
            r"invalid domain",
        ),
    ),
    (
        "blocked",
        phrases_re(
            r"blocked using",
            r"client host (?:\S+ )?(?:rejected|blocked)",
            r"\bblack ?list",
            r"\bblock ?list",
            r"\bdnsbl\b",
            r"\brbl\b",
            r"spamhaus",
            r"spamcop",
            r"\bsorbs\b",
            r"banned sending ip",
            r"\b(?:sending|source|client|connecting|your|following) ips?\b",
            r"adresse ip",
            r"reverse dns",
            r"\bptr\b",
            r"\brdns\b",
            r"dynamic ip",
            r"dial-?up",
            r"residential",
            r"open relay",
            r"smtp server of your isp",
            r"\breputation\b",
            r"^\W*(?:[245]\d\d\W+)?blocked\b",
            r"ip address (?:\S+ )?(?:is |has been )?(?:blocked|banned|listed|blacklisted)",
            r"not allowed to send (?:mail|e-?mail) from",
        ),
    ),
    (
        "norelaying",
        phrases_re(
            r"relay(?:ing)? (?:access )?denied",
            r"relay(?:ing)? not (?:permitted|allowed)",
            r"not permitted to relay",
            r"unable to relay",
            r"we do not relay",
            r"not allowed to relay",
            r"relaying (?:mail )?to \S+ (?:is )?not allowed",
            r"no relaying",
        ),
    ),
    (
        "virusdetected",
        phrases_re(
            r"\bvirus",
            r"malware",
            r"\binfected\b",
            r"trojan",
            r"rejected due to security polic",
        ),
    ),
    (
        "spamdetected",
        phrases_re(
            r"(?:detected|identified|considered|classified|marked|flagged|scored|rejected) as spam",
            r"looks like spam",
            r"spam (?:content|message|detected|score|filter|signature)",
            r"(?:likely|suspected|probable) spam",
            r"\bUBE\b",
            r"unsolicited",
            r"bulk (?:e-?mail|mail)",
            r"content rejected",
            r"junk mail",
            r"spam policy",
        ),
    ),
    (
        "userunknown",
        phrases_re(
            r"user unknown",
            r"unknown user",
            r"unknown (?:local[- ]?part|recipient|mailbox|account|alias)",
            r"no such (?:user|mailbox|recipient|account|address|person|local user)",
            r"(?:user|mailbox|recipient|account|address) "
            r"(?:does not|doesn'?t|does ?n.t|not) exists?",
            r"(?:user|recipient|mailbox|account|address|addressee) "
            r"(?:was )?not (?:found|known|listed)",
            r"not listed in (?:the )?(?:domino )?directory",
            r"recipnotfound",
            r"invalid (?:recipient|mailbox|user|final delivery userid)",
            r"destinataire invalide",
            r"(?:address|recipient) (?:couldn'?t|could not) be found",
            r"account that you tried to reach",
            r"is not a valid (?:mailbox|user|recipient)",
            r"bad destination mailbox",
            r"mailbox not found",
            r"doesn'?t have an? \S+ account",
            r"recipient address rejected: access denied",
            r"unknown or invalid recipient",
            r"address unknown",
        ),
    ),
    ("filtered", phrases_re(r"message filtered", r"content filter", r"filtered by")),
    (
        "networkerror",
        phrases_re(
            r"no route to host",
            r"network (?:is )?unreachable",
            r"host unreachable",
            r"connection refused",
            r"hop count",
            r"too many hops",
            r"mail loop",
            r"routing loop",
            r"loop detected",
            r"dns (?:error|failure|lookup failed|server failure)",
            r"\bservfail\b",
            r"network error",
            r"lost connection",
            r"connection (?:reset|dropped)",
        ),
    ),
    (
        "systemfull",
        phrases_re(r"insufficient system storage", r"system (?:is )?full", r"out of disk"),
    ),
    (
        "systemerror",
        phrases_re(
            r"system error",
            r"internal (?:server )?error",
            r"local error",
            r"temporary local problem",
            r"service (?:is )?(?:currently )?unavailable",
            r"transaction failed",
            r"could not load",
            r"queue file write error",
            r"server configuration",
            r"resources? temporarily unavailable",
        ),
    ),
    (
        "mailererror",
        phrases_re(
            r"mailer error",
            r"command output",
            r"\bprocmail\b",
            r"delivery program",
            r"pipe to \S*program",
        ),
    ),
    (
        "syntaxerror",
        phrases_re(
            r"syntax error",
            r"improper sequence",
            r"bad sequence",
            r"out of sequence",
            r"command (?:not )?(?:recogni[sz]ed|unrecogni[sz]ed|implemented)",
            r"unrecogni[sz]ed command",
        ),
    ),
    (
        "contenterror",
        phrases_re(
            r"header (?:syntax )?error",
            r"invalid header",
            r"malformed (?:message|header|mime)",
            r"mime (?:error|format)",
        ),
    ),
)


def candidates(lowered: str) -> tuple[rx.Pattern[str], ...]:
    """The phrases that can occur in the lower-cased text, each as its own pattern; () when
    none can. A phrase with a run of three plain characters that each of its matches contains
    ("dnsbl" in "\\bdnsbl\\b") is a candidate only when the text holds that run, found by
    substring; the few others always are (as one pattern). Most lines of a notice hold no
    phrase, and substring tests are many times cheaper than the phrases' expressions."""
    by_anchor, unanchored = _quick_test()
    found = [pattern for anchor, patterns in by_anchor if anchor in lowered for pattern in patterns]
    if unanchored is not None:
        found.append(unanchored)
    return tuple(found)


@cache
def _quick_test() -> tuple[
    tuple[tuple[str, tuple[rx.Pattern[str], ...]], ...], rx.Pattern[str] | None
]:
    anchored: dict[str, list[str]] = {}
    rest: list[str] = []
    for pattern in (source for _, table in PHRASES for source in _SOURCES[table.pattern]):
        anchor = _required_run(pattern)
        if anchor:
            anchored.setdefault(anchor, []).append(pattern)
        else:
            rest.append(pattern)
    # An anchor that contains a shorter one is implied by it: its phrases go under the shorter.
    groups: dict[str, list[str]] = {}
    for anchor in sorted(anchored, key=len):
        home = next((kept for kept in groups if kept in anchor), anchor)
        groups.setdefault(home, []).extend(anchored[anchor])
    by_anchor = tuple(
        (anchor, tuple(rx.compile(pattern) for pattern in patterns))
        for anchor, patterns in groups.items()
    )
    unanchored = rx.compile("|".join(f"(?:{p})" for p in rest)) if rest else None
    return by_anchor, unanchored


def _required_run(pattern: str) -> str:
    """The longest run of plain characters in every match of the pattern (3 or more), or ""."""
    try:
        from re import _constants, _parser  # the standard library's own pattern parser

        tree = _parser.parse(pattern)
    except Exception:  # an interpreter without it: no quick test for this phrase
        return ""
    runs: list[str] = []
    run: list[str] = []

    def walk(items) -> None:
        for op, arg in items:
            if op is _constants.LITERAL:
                run.append(chr(arg))
            elif op is _constants.AT:
                continue  # \b, ^, $: zero-width, the characters around it stay adjacent
            elif op is _constants.SUBPATTERN and not arg[1] and not arg[2]:
                walk(arg[3])  # a plain group is part of the sequence
            else:
                runs.append("".join(run))
                run.clear()

    walk(tree)
    runs.append("".join(run))
    best = max(runs, key=len)
    return best if len(best) >= 3 else ""
