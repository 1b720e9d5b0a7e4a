"""How often the bounce reader agrees with the reference analyser's labels (Sisimai).

Used by the test suite and ``scripts/bounce-agreement``. A labelled file holds one JSON line per
(file, recipient) as written by ``scripts/sisimai-label``; a file the reference could not read has
a single line with ``"reason": null`` and is not scored. Three figures per set of files:

- reason: a labelled recipient we report with the same reason;
- permanence: the same permanent/temporary (hard-bounce) flag;
- recipients exact: a file whose set of failed recipients equals the reference's.

A labelled recipient we do not report counts against the first two.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics.bounces.parse import BounceRecipient, parse_bounce


@dataclass
class FileResult:
    """One file: the reference's labels and our reading."""

    name: str
    labels: list[dict]
    entries: list[BounceRecipient]

    def failed_sets(self) -> tuple[set[str], set[str]]:
        expected = {row["recipient"].lower() for row in self.labels if row["reason"] != "delivered"}
        found = {entry.recipient.lower() for entry in self.entries if entry.reason != "delivered"}
        return expected, found

    def disagreements(self) -> list[str]:
        ours = {entry.recipient.lower(): entry for entry in self.entries}
        lines = []
        for row in self.labels:
            entry = ours.get(row["recipient"].lower())
            if entry is None:
                lines.append(f"{row['recipient']}: missed (reference {row['reason']})")
            elif entry.reason != row["reason"] or entry.hard_bounce != row["hardbounce"]:
                lines.append(
                    f"{row['recipient']}: {entry.reason}/{_flag(entry.hard_bounce)} "
                    f"vs reference {row['reason']}/{_flag(row['hardbounce'])}"
                )
        expected, found = self.failed_sets()
        if expected != found:
            lines.append(f"recipients {sorted(found)} vs reference {sorted(expected)}")
        return lines


def _flag(hard: bool) -> str:
    return "permanent" if hard else "temporary"


@dataclass
class Agreement:
    """Counts for one set of files."""

    files: int = 0
    recipients: int = 0
    same_reason: int = 0
    same_permanence: int = 0
    exact_recipients: int = 0
    seconds: float = 0.0
    parsed_files: int = 0
    results: list[FileResult] = field(default_factory=list)

    @property
    def reason_rate(self) -> float:
        return self.same_reason / self.recipients if self.recipients else 1.0

    @property
    def permanence_rate(self) -> float:
        return self.same_permanence / self.recipients if self.recipients else 1.0

    @property
    def recipients_rate(self) -> float:
        return self.exact_recipients / self.files if self.files else 1.0

    @property
    def files_per_second(self) -> float:
        return self.parsed_files / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"reason {self.reason_rate:.1%} ({self.same_reason}/{self.recipients}), "
            f"permanent/temporary {self.permanence_rate:.1%} "
            f"({self.same_permanence}/{self.recipients}), "
            f"recipients exact {self.recipients_rate:.1%} ({self.exact_recipients}/{self.files}), "
            f"{self.files_per_second:.0f} files/s"
        )


def load_labels(path: Path) -> dict[str, list[dict]]:
    """Labels by file name; files the reference could not read map to an empty list."""
    labels: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels[row["file"]]  # noqa: B018 - a file with no bounce is still listed
        if row["reason"] is not None:
            labels[row["file"]].append(row)
    return dict(labels)


def measure(directory: Path, names: Iterable[str], labels: dict[str, list[dict]]) -> Agreement:
    """Read each named file in a directory and count agreement with its labels."""
    agreement = Agreement()
    for name in names:
        raw = (directory / name).read_bytes()
        started = time.perf_counter()
        entries = parse_bounce(raw)
        agreement.seconds += time.perf_counter() - started
        agreement.parsed_files += 1
        rows = labels.get(name, [])
        if not rows:
            continue
        result = FileResult(name=name, labels=rows, entries=entries)
        agreement.results.append(result)
        agreement.files += 1
        ours = {entry.recipient.lower(): entry for entry in entries}
        for row in rows:
            agreement.recipients += 1
            entry = ours.get(row["recipient"].lower())
            if entry is not None:
                agreement.same_reason += entry.reason == row["reason"]
                agreement.same_permanence += entry.hard_bounce == row["hardbounce"]
        expected, found = result.failed_sets()
        agreement.exact_recipients += expected == found
    return agreement


def load_named(path: Path) -> dict[str, list[str] | None]:
    """The recipients each message names (scripts/bounce-named-recipients), None if none."""
    named: dict[str, list[str] | None] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            named[row["file"]] = row["recipients"]
    return named


def named_recipients_exact(
    directory: Path,
    names: Iterable[str],
    labels: dict[str, list[dict]],
    named: dict[str, list[str] | None],
) -> tuple[int, int, list[str]]:
    """Files whose set of failed recipients equals the one the message names (the reference's
    when the message names none): (exact, scored, the names of the files that differ). A file
    that names none and that the reference cannot read is not scored."""
    exact = scored = 0
    differing: list[str] = []
    for name in names:
        expected = named.get(name)
        if expected is None:
            rows = labels.get(name, [])
            if not rows:
                continue
            expected = [row["recipient"] for row in rows if row["reason"] != "delivered"]
        entries = parse_bounce((directory / name).read_bytes())
        found = {entry.recipient.lower() for entry in entries if entry.reason != "delivered"}
        scored += 1
        if found == {address.lower() for address in expected}:
            exact += 1
        else:
            differing.append(name)
    return exact, scored, differing
