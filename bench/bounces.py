"""Bounce files per second: our reader's command against the reference analyser, on the same files.

    .venv/bin/python bench/bounces.py                  # every .eml under tests/fixtures/bounces
    .venv/bin/python bench/bounces.py --rounds 9 FILE... # other files

Runs, in one go and alternating so that other work on the machine falls on both alike,
`python -m diagnostics.bounces FILE...` (ours: one JSON line per file) and
`scripts/sisimai-label FILE...` (Sisimai 4.25.15, Perl, Debian's libsisimai-perl: one JSON line
per recipient), each a fresh process given every file, start-up included. Prints the median
wall time and CPU time (user + system of the child) of each, files per second by both, their
ratio, and the start-up: each command on one small file, and Python doing nothing.

Before measuring, the reader's modules are compiled to bytecode (as an installed package is)
and one run builds the file of compiled patterns (diagnostics/bounces/rx.py); the first run
in a fresh checkout, without that file, is measured and printed too. `--manage` adds the
Django management command (`manage.py classify_bounce --json`) for comparison.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SMALL_FILE = ROOT / "tests" / "fixtures" / "bounces" / "lhost-postfix-01.eml"


def _run(command: list[str], *, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the command (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="bounce files (default: the fixtures)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--manage", action="store_true", help="also time manage.py")
    args = parser.parse_args()

    files = args.files or sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "tests/fixtures/bounces").rglob("*.eml")
    )
    if (
        not shutil.which("perl")
        or subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True, check=False).returncode
    ):
        sys.exit("Sisimai is not installed: apt-get install libsisimai-perl")
    compileall.compile_dir(str(ROOT / "diagnostics"), quiet=1)

    ours = [PYTHON, "-m", "diagnostics.bounces", *files]
    reference = ["perl", str(ROOT / "scripts" / "sisimai-label"), *files]

    with tempfile.TemporaryDirectory() as scratch:
        cold_env = {"BOUNCE_PATTERN_CACHE": str(Path(scratch) / "patterns.marshal")}
        cold = _run(ours, env=cold_env)  # no pattern file yet: every pattern compiled
    _run(ours)  # builds (or refreshes) the pattern file the measured runs use

    timings: dict[str, list[tuple[float, float]]] = {"ours": [], "sisimai": [], "manage": []}
    for _ in range(args.rounds):
        timings["ours"].append(_run(ours))
        timings["sisimai"].append(_run(reference))
    if args.manage:
        manage = [PYTHON, "manage.py", "classify_bounce", "--json", *files]
        env = {"DEBUG": "true", "SECRET_KEY": "bench-only"}
        timings["manage"] = [_run(manage, env=env) for _ in range(max(3, args.rounds // 2))]

    startup = {
        "python -m diagnostics.bounces, one file": _medians(
            [_run([PYTHON, "-m", "diagnostics.bounces", str(SMALL_FILE)]) for _ in range(9)]
        ),
        "scripts/sisimai-label, one file": _medians(
            [_run(["perl", str(ROOT / "scripts/sisimai-label"), str(SMALL_FILE)]) for _ in range(9)]
        ),
        "python -m diagnostics.bounces --help (no reader)": _medians(
            [_run([PYTHON, "-m", "diagnostics.bounces", "--help"]) for _ in range(9)]
        ),
        "python -c pass": _medians([_run([PYTHON, "-c", "pass"]) for _ in range(9)]),
    }

    count = len(files)
    print(f"{count} files, {args.rounds} rounds, medians; files/s by wall time and by CPU time")
    print(f"{'command':42} {'wall s':>8} {'CPU s':>8} {'files/s':>9} {'files/CPU s':>12}")
    rows = {
        "ours (python -m diagnostics.bounces)": _medians(timings["ours"]),
        "Sisimai 4.25.15 (scripts/sisimai-label)": _medians(timings["sisimai"]),
    }
    if timings["manage"]:
        rows["manage.py classify_bounce --json"] = _medians(timings["manage"])
    rows["ours, first run without the pattern file"] = cold
    for name, (wall, cpu) in rows.items():
        print(f"{name:42} {wall:8.3f} {cpu:8.3f} {count / wall:9.0f} {count / cpu:12.0f}")
    ours_wall, ours_cpu = rows["ours (python -m diagnostics.bounces)"]
    ref_wall, ref_cpu = rows["Sisimai 4.25.15 (scripts/sisimai-label)"]
    print(f"ours / Sisimai, files per second: {ref_wall / ours_wall:.2f} by wall time, ", end="")
    print(f"{ref_cpu / ours_cpu:.2f} by CPU time (above 1: ours is faster)")
    print("start-up (median of 9):")
    for name, (wall, cpu) in startup.items():
        print(f"  {name:50} {wall * 1000:6.0f} ms wall {cpu * 1000:6.0f} ms CPU")


if __name__ == "__main__":
    main()
