"""`python -m diagnostics.bounces`: JSON lines without Django, and the compiled-pattern file.

Only files of the tuning part of tests/fixtures/bounces/split.json are used here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from diagnostics.bounces import parse_bounce

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "bounces"
FILES = [FIXTURES / "lhost-postfix-01.eml", FIXTURES / "arf-17.eml"]
# Loaded by Django, or costing milliseconds of start-up the reader does without.
HEAVY = {"dataclasses", "inspect", "typing", "logging", "pathlib", "email.policy", "asyncio"}


def _python(code: str, *, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _loaded_after(code: str) -> set[str]:
    output = _python(f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))")
    return set(output.split())


def test_importing_the_command_loads_no_django_and_not_the_reader():
    loaded = _loaded_after("import diagnostics.bounces.__main__")

    assert not {name for name in loaded if name.split(".")[0] == "django"}
    assert not loaded & HEAVY
    assert "diagnostics.bounces.parse" not in loaded
    assert "json" not in loaded


def test_classifying_files_loads_no_django_and_no_heavy_module():
    names = ", ".join(repr(str(path)) for path in FILES)
    loaded = _loaded_after(
        "import contextlib, io\n"
        "from diagnostics.bounces.__main__ import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main([{names}])"
    )

    assert "diagnostics.bounces.parse" in loaded
    assert not {name for name in loaded if name.split(".")[0] in {"django", "tickets"}}
    assert not loaded & HEAVY


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diagnostics.bounces", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def test_one_json_line_per_file_the_same_as_parse_bounce(tmp_path):
    result = _run(*map(str, FILES), env={"BOUNCE_PATTERN_CACHE": str(tmp_path / "p.marshal")})

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(path) for path in FILES]
    for line, path in zip(lines, FILES, strict=True):
        expected = [entry.as_dict() for entry in parse_bounce(path.read_bytes())]
        assert line["recipients"] == expected
        assert expected


def test_an_unreadable_file_is_reported_and_the_others_still_read(tmp_path):
    missing = tmp_path / "missing.eml"

    result = _run(str(missing), str(FILES[0]), env={"BOUNCE_PATTERN_CACHE": "off"})

    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["file"] == str(missing) and first["recipients"] == [] and first["error"]
    assert second["recipients"]
    assert f"{missing}: cannot read the file" in result.stderr


def test_standard_input_and_no_arguments():
    result = subprocess.run(
        [sys.executable, "-m", "diagnostics.bounces", "-"],
        cwd=ROOT,
        input=FILES[0].read_bytes(),
        capture_output=True,
        check=False,
        env={**os.environ, "BOUNCE_PATTERN_CACHE": "off"},
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["recipients"]

    empty = _run()
    assert empty.returncode == 2
    assert "usage:" in empty.stderr


def test_compiled_patterns_are_kept_and_a_damaged_file_changes_nothing(tmp_path):
    cache = tmp_path / "patterns.marshal"
    env = {"BOUNCE_PATTERN_CACHE": str(cache)}

    first = _run(*map(str, FILES), env=env)
    assert cache.stat().st_size > 10_000  # the reader's programs, written at exit
    second = _run(*map(str, FILES), env=env)
    cache.write_bytes(b"\x00 not a marshal file" * 100)
    damaged = _run(*map(str, FILES), env=env)

    assert first.stdout == second.stdout == damaged.stdout
    assert first.returncode == second.returncode == damaged.returncode == 0


def test_a_program_from_the_file_matches_as_re_compile_does(tmp_path):
    code = (
        "from diagnostics.bounces import rx\n"
        "p = rx.compile(r'(?P<code>[45]\\d\\d)[ -](?:mailbox|user) (?P<what>\\w+)', rx.I)\n"
        "m = p.search('said: 550 User unknown')\n"
        "print(m.group('code'), m.group('what'), p.groupindex['what'], bool(p.flags & rx.I))\n"
    )
    env = {"BOUNCE_PATTERN_CACHE": str(tmp_path / "p.marshal")}

    compiled = _python(code, env=env)
    assert (tmp_path / "p.marshal").exists()
    from_file = _python(code, env=env)

    assert compiled == from_file == "550 unknown 2 True\n"
