"""Which MTA or provider wrote a bounce, and what its own module of the reference reads it as.

Sisimai has one module per reporting MTA (``Sisimai::Lhost::Exim``, ``::Postfix``, ``::Office365``,
... 55 in v4.25.15). Each starts by testing the report's headers (From, Subject, Message-Id,
Received, X-Mailer, X-* headers a provider adds) and, when they fit, reads the report with tables
of the MTA's own messages: Exim's "Unrouteable address" is ``hostunknown``, Gmail's "(state 14)"
``userunknown``, Exchange's "RESOLVER.ADR.RecipNotFound" ``userunknown``. Both the header tests
and the tables are generated data (``reference_rules.json``, ``scripts/extract-sisimai-rules``);
this module is the small engine that applies them, in the reference's module order.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from email.message import Message
from functools import cache, cached_property, lru_cache

from diagnostics.bounces import rules, rx
from diagnostics.bounces.common import find_status, header_text, mask_addresses
from diagnostics.bounces.reasons import REASONS

# Servers put the reason up front; past a few kilobytes it is a pasted message, not a reply.
_TEXT_WINDOW = 8000

_CLASS_ONLY_STATUS_RE = rx.compile(r"[45]\.[01]\.0\Z")

# Sisimai::Lhost::Postfix reads a Diagnostic-Code typed "X-Postfix" as "SMTP" (its $v->{spec});
# the published definitions are then tried as on any SMTP reply.
_TYPES_READ_AS_SMTP = {"Postfix": "x-postfix"}

# The report's readable text, or a function that returns it (reading it is left until needed).
type Body = str | Callable[[], str]


class _Test(namedtuple("_Test", "kind header value", defaults=(None,))):  # noqa: PYI024
    """One header test at the top of a module's make(): its kind (startswith, endswith,
    contains, equals, regex, present, in), the header's name and the value tested for."""

    __slots__ = ()

    def needs_header(self) -> bool:
        """True when the test cannot hold unless its header is there (an absent one reads "")."""
        return not self._holds_on("", present=False)

    def holds(self, headers: _Headers) -> bool:
        if self.header == "received":
            return any(self._holds_on(value) for value in headers.received())
        return self._holds_on(headers.get(self.header), present=headers.has(self.header))

    def _holds_on(self, value: str, *, present: bool = True) -> bool:
        kind = self.kind
        if kind == "present":
            # Perl's truth: an absent header, "" and "0" are false.
            return present and value not in ("", "0")
        if kind == "startswith":
            return value.startswith(self.value)
        if kind == "endswith":
            return value.endswith(self.value)
        if kind == "contains":
            return self.value in value
        if kind == "equals":
            return value == self.value
        if kind == "in":
            return value in self.value
        return bool(self.value.search(value))


class _Module:
    """One module of the reference; its patterns are compiled when it is first tried."""

    def __init__(self, entry: dict) -> None:
        self.name: str = entry["module"]
        self._entry = entry

    @cached_property
    def required(self) -> tuple[_Test, ...]:
        return tuple(_test(row) for row in self._entry["detect"].get("required", []))

    @cached_property
    def excluded(self) -> tuple[_Test, ...]:
        return tuple(_test(row) for row in self._entry["detect"].get("excluded", []))

    @cached_property
    def scored(self) -> tuple[_Test, ...]:
        return tuple(_test(row) for row in self._entry["detect"].get("scored", []))

    @cached_property
    def minimum(self) -> int:
        return max(int(self._entry["detect"].get("min", 0)), 1)

    @cached_property
    def gate(self) -> tuple[frozenset[str], ...]:
        """Header names of which a report must have one in each set, or no test can hold
        (derived from the tests: most modules are ruled out by a set lookup)."""
        gate = [frozenset(test.header.split("|")) for test in self.required if test.needs_header()]
        if self.scored and all(test.needs_header() for test in self.scored):
            names = (name for test in self.scored for name in test.header.split("|"))
            gate.append(frozenset(names))
        return tuple(gate)

    @cached_property
    def body(self) -> tuple[tuple[str, object], ...]:
        return tuple(_body_marker(row) for row in self._entry["body"])

    @cached_property
    def backbone(self) -> rx.Pattern[str] | None:
        row = self._entry.get("backbone")
        return rules.perl_regex(*row) if row else None

    @cached_property
    def messages(self) -> tuple[tuple[str, str, object], ...]:
        # A name outside the reference's vocabulary (Gmail's "relayingdenied") is left out.
        known = set(rules.status_names().values()) | set(REASONS)
        return tuple(_message_row(row) for row in self._entry["messages"] if row[0] in known)

    @cached_property
    def error_line(self) -> tuple[str, tuple[tuple[str, str, object], ...]]:
        """The marker of the line qmail and X4 read their message table on, and that table."""
        entry = self._entry.get("error_line") or {}
        if not entry:
            return "", ()
        return entry["marker"], tuple(_message_row(row) for row in entry["messages"])

    def _error_line_of(self, block: str) -> str:
        """The last line of the recipient's paragraph that starts with the module's marker."""
        marker = self.error_line[0]
        if not marker or not block:
            return ""
        lines = [line for line in block.split("\n") if line.startswith(marker)]
        return lines[-1] if lines else ""

    @cached_property
    def status_override(self) -> rx.Pattern[str] | None:
        row = self._entry.get("status_override")
        return rules.perl_regex(*row) if row else None

    @cached_property
    def delayed(self) -> tuple[str, ...]:
        return tuple(phrase.lower() for phrase in self._entry["delayed"])

    @property
    def commands(self) -> dict[str, str]:
        return self._entry["commands"]

    @cached_property
    def command_patterns(self) -> tuple[tuple[str, rx.Pattern[str]], ...]:
        rows = self._entry["command_patterns"]
        return tuple(
            (command, rules.perl_regex(pattern, flags)) for command, pattern, flags in rows
        )

    def matches(self, headers: _Headers, body_lines: Callable[[], list[str]]) -> bool:
        if not (self.required or self.scored):
            return False  # a module that reads only the body (Amazon SES JSON) is not detected here
        names = headers.names
        for needed in self.gate:
            if names.isdisjoint(needed):
                return False
        if not all(test.holds(headers) for test in self.required):
            return False
        if any(test.holds(headers) for test in self.excluded):
            return False
        if self.scored and sum(test.holds(headers) for test in self.scored) < self.minimum:
            return False
        # The module reads the report only when its own notice is there (its make() returns
        # nothing otherwise, and the reference tries the next module), and, for a module that
        # needs it, the line that opens the returned message (Sendmail 5's "Unsent message
        # follows").
        lines = body_lines()
        if self.backbone is not None and not any(self.backbone.search(line) for line in lines):
            return False
        return not self.body or any(self._starts_notice(line) for line in lines)

    def _overridden(self, reason: str, diagnostic: str) -> str:
        """A precise status code in the diagnosis replaces the table's reason when the module
        says so: its name, or "" (undecided) when the code names none."""
        if self.status_override is None:
            return reason
        code = find_status(diagnostic[:_TEXT_WINDOW])
        if not self.status_override.search(code):
            return reason
        return rules.status_names().get(code, "")

    def _starts_notice(self, line: str) -> bool:
        for kind, marker in self.body:
            if kind == "startswith":
                if line.lstrip().startswith(marker):
                    return True
            elif marker.search(line):
                return True
        return False

    def reason(
        self,
        diagnostic: str,
        *,
        status: str = "",
        command: str = "",
        reported: str = "",
        block: str = "",
    ) -> str:
        """The module's own reading: its fixed reading of the SMTP step, then its tables on the
        diagnostic (phrases in addresses do not count) and on the status code; ``reported`` is
        the report's own Status, which some modules name when their tables say nothing."""
        # Its RCPT reading (EZweb, KDDI) rests on its own transcript parsing; only the steps
        # before any recipient (a refused sender or greeting) are read from the step alone.
        if command in self.commands and command != "RCPT":
            return self.commands[command]
        rows = self.messages
        error_line = self._error_line_of(block)
        if error_line:
            # qmail, X4: with a "Remote host said:" line, the message table reads that line only.
            table = self.error_line[1]
            found = _first_match(table, mask_addresses(error_line), status)
            if found:
                return self._overridden(found, diagnostic)
            rows = tuple(row for row in rows if row not in table)
        text = mask_addresses(diagnostic[:_TEXT_WINDOW])
        found = _first_match(rows, text, status)
        if found:
            return self._overridden(found, diagnostic)
        lowered = text.lower()
        if any(phrase in lowered for phrase in self.delayed):
            return "expired"
        if self._entry.get("status_fallback"):
            # Their status is the report's, or the diagnosis's when that one is X.0.0 or X.1.0.
            code = reported or status
            if not code or _CLASS_ONLY_STATUS_RE.match(code):
                code = find_status(diagnostic[:_TEXT_WINDOW]) or code
            return rules.status_names().get(code, "")
        return ""


def _first_match(rows: tuple[tuple[str, str, object], ...], text: str, status: str) -> str:
    """The reason of the first table row that matches ``text`` (or the status code), or ""."""
    lowered = text.lower()
    for reason, kind, pattern in rows:
        if kind == "index":
            found = pattern in lowered
        elif kind == "status":
            found = bool(status and pattern.search(status))
        else:
            found = bool(pattern.search(text))
        if found:
            return reason
    return ""


class _Headers:
    """The report's headers as the modules read them: decoded values, "" when absent."""

    def __init__(self, message: Message) -> None:
        self._message = message
        self.names = frozenset(name.lower() for name in message)
        self._cache: dict[str, str] = {}
        self._received: list[str] | None = None

    def has(self, name: str) -> bool:
        return any(one in self.names for one in name.split("|"))

    def get(self, name: str) -> str:
        """A header's value; "a|b" is the first of them that is not empty (Perl's ||)."""
        value = self._cache.get(name)
        if value is None:
            values = (
                header_text(self._message, one) for one in name.split("|") if one in self.names
            )
            value = self._cache[name] = " ".join(next((v for v in values if v), "").split())
        return value

    def received(self) -> list[str]:
        if self._received is None:
            values = self._message.get_all("Received", [])
            self._received = [" ".join(str(value).split()) for value in values]
        return self._received


def _test(row: list) -> _Test:
    kind, header = row[0], row[1]
    if kind == "regex":
        return _Test(kind, header, rules.perl_regex(row[2], row[3]))
    if kind == "in":
        return _Test(kind, header, tuple(row[2]))
    return _Test(kind, header, row[2] if len(row) > 2 else None)


def _message_row(row: list) -> tuple[str, str, object]:
    reason, kind, pattern, flags = row
    if kind == "index":
        return reason, kind, pattern.lower()
    return reason, kind, rules.perl_regex(pattern, flags)


@cache
def _modules() -> tuple[_Module, ...]:
    return tuple(_Module(entry) for entry in rules.data()["lhost"])


def _body_marker(row: list) -> tuple[str, object]:
    kind, pattern, flags = row
    if kind == "startswith":
        return kind, pattern.lstrip()
    return kind, rules.perl_regex(pattern, flags)


@cache
def _by_name() -> dict[str, _Module]:
    return {module.name: module for module in _modules()}


def _subject_key(subject: str) -> str:
    """Sisimai::Order->make: the first words of the subject, as the key of its table."""
    subject = rx.sub(r"[_\[\] ]+", " ", subject).lstrip()
    words = subject.lower().split(" ", 2)
    if words and words[0].rfind(":") > 0:
        first = subject.split(":", 1)[0].lower()
    else:
        first = "-".join(words[:2])
    return rx.sub(r'[:",*]', "", first)


def _order(subject: str) -> tuple[_Module, ...]:
    return _order_for(_subject_key(subject))


@lru_cache(maxsize=256)
def _order_for(key: str) -> tuple[_Module, ...]:
    order = rules.data()["lhost_order"]
    names = [*order["by_subject"].get(key, ()), *order["default"]]
    by_name = _by_name()
    return tuple(by_name[name] for name in dict.fromkeys(names) if name in by_name)


def detect(message: Message, body: Body = "") -> str:
    """The name of the reference's module for the MTA that wrote this report, or "".

    Modules are tried as the reference tries them: first those its table names for the subject's
    first words, then all in its fixed order; the first whose header tests and notice fit wins.
    ``body`` is the report's readable text (or a function that returns it, called when needed).
    """
    headers = _Headers(message)
    lines: list[list[str]] = []

    def body_lines() -> list[str]:
        if not lines:
            lines.append(_text(body)[: _TEXT_WINDOW * 4].splitlines())
        return lines[0]

    for module in _order(headers.get("subject")):
        if module.matches(headers, body_lines):
            return module.name
    return ""


def _text(body: Body) -> str:
    return body() if callable(body) else body


def module_reason(
    module: str,
    diagnostic: str,
    *,
    status: str = "",
    command: str = "",
    reported: str = "",
    block: str = "",
) -> str:
    """What the named module reads a recipient's failure as, or ""; ``block`` is the notice's
    paragraph about the recipient as written, for the modules that read one line of it."""
    found = _by_name().get(module)
    if not found or not (diagnostic or command):
        return ""
    return found.reason(diagnostic, status=status, command=command, reported=reported, block=block)


def diagnostic_type(module: str, reported: str) -> str:
    """The Diagnostic-Code's type as the named module reads it ("x-postfix" is "smtp" to the
    Postfix module), else as reported."""
    return "smtp" if reported and _TYPES_READ_AS_SMTP.get(module) == reported else reported


def module_command(module: str, diagnostic: str) -> str:
    """The SMTP step a module's own patterns say a reply answered (Office 365), or ""."""
    found = _by_name().get(module)
    if not found:
        return ""
    return next((cmd for cmd, pattern in found.command_patterns if pattern.search(diagnostic)), "")


def report_reason(module: str, body: Body) -> str:
    """A reading a module gives the whole report rather than a recipient: Google Groups says a
    post was refused ("rejected") when it lists its four possible causes, else it is "onhold"."""
    if module != "GoogleGroups":
        return ""
    bullets = rx.findall(r"^ ?[*] ?", _text(body).split("----- Original message -----", 1)[0], rx.M)
    return "rejected" if len(bullets) == 4 else "onhold"


@cache
def _mda() -> tuple[rx.Pattern[str], rx.Pattern[str], tuple, dict[str, tuple]]:
    table = rules.data()["mda"]
    agents = tuple(
        (name, rules.perl_regex(pattern, flags))
        for name, (pattern, flags) in table["agents"].items()
    )
    messages = {
        agent: tuple((reason, tuple(phrases)) for reason, phrases in sorted(by_reason.items()))
        for agent, by_reason in table["messages"].items()
    }
    return rules.perl_regex(table["from"]), rules.perl_regex(*table["marker"]), agents, messages


def mda_reason(message: Message, body: Body) -> str:
    """Sisimai::MDA: what a local delivery agent (dovecot, mail.local, procmail, maildrop,
    vpopmail, vmailmgr) said in the report, as a reason; "" when none spoke or it says nothing
    the reference knows. The reference reads it only when no MTA module read the report."""
    from_re, marker_re, agents, messages = _mda()
    if not from_re.search(header_text(message, "From").lower()):
        return ""
    agent, lines = "", []
    for line in _text(body)[: _TEXT_WINDOW * 4].split("\n"):
        if not agent:
            if not line or not marker_re.search(line):
                continue
            agent = next((name for name, pattern in agents if pattern.search(line)), "")
            if not agent:
                continue
        lines.append(line.lower())
        if not line:
            break
    for reason, phrases in messages.get(agent, ()):
        if any(phrase in line for line in lines for phrase in phrases):
            return reason
    return ""
