"""Regular expressions for the bounce reader, compiled once per machine rather than per process.

The reader holds a few hundred patterns, many of them long alternations generated from the
reference's rules; compiling them is most of what a short command does besides reading
(``re`` parses and assembles each in Python). This module is a small stand-in for ``re``
(``compile``, ``search``, ``match``, ``fullmatch``, ``sub``, ``split``, ``findall``,
``finditer`` and the flags) that keeps what the compiler produced — the SRE program of each
pattern, a list of integers — in a marshal file beside the modules' own bytecode
(``__pycache__/bounce-patterns.<python tag>.<sre magic>.marshal``). The next process gives the
program straight to ``_sre.compile``, which is what ``re.compile`` itself ends with and which
checks the program before accepting it (CPython's ``_validate``), so a file from another build
or a damaged one can never crash the reader: any doubt and the pattern is compiled as usual.

Patterns compiled in a process that the file did not have are added to it when the process
exits (written to a temporary file and renamed, so concurrent writers cannot leave half a
file). ``BOUNCE_PATTERN_CACHE=off`` turns the file off; an unwritable directory only means
every process compiles for itself.
"""

from __future__ import annotations

import _sre
import os
import re
import sys
from re import _compiler, _parser  # the two halves of re.compile, run here to keep the program

IGNORECASE = I = re.IGNORECASE  # noqa: E741 - re's own names
MULTILINE = M = re.MULTILINE
DOTALL = S = re.DOTALL
VERBOSE = X = re.VERBOSE
ASCII = A = re.ASCII
Pattern = re.Pattern
Match = re.Match
escape = re.escape
error = re.error

_FORMAT = 1
_CACHE_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "__pycache__",
    f"bounce-patterns.{sys.implementation.cache_tag}.{_sre.MAGIC}.marshal",
)
_compiled: dict[tuple[str, int], re.Pattern[str]] = {}
_programs: dict[tuple[str, int], tuple] | None = None
_added: dict[tuple[str, int], tuple] = {}


def cache_path() -> str | None:
    """The file compiled programs are kept in, or None when turned off."""
    setting = os.environ.get("BOUNCE_PATTERN_CACHE", "")
    if setting.lower() in {"off", "0", "no", "false"}:
        return None
    return setting or _CACHE_FILE


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:  # noqa: A001 - mirrors re
    """re.compile, with the program taken from the cache file when it has it."""
    key = (pattern, int(flags))
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _build(*key)
    return found


def search(pattern: str, string: str, flags: int = 0) -> re.Match[str] | None:
    return compile(pattern, flags).search(string)


def match(pattern: str, string: str, flags: int = 0) -> re.Match[str] | None:
    return compile(pattern, flags).match(string)


def fullmatch(pattern: str, string: str, flags: int = 0) -> re.Match[str] | None:
    return compile(pattern, flags).fullmatch(string)


def sub(pattern: str, repl, string: str, count: int = 0, flags: int = 0) -> str:
    return compile(pattern, flags).sub(repl, string, count)


def split(pattern: str, string: str, maxsplit: int = 0, flags: int = 0) -> list[str]:
    return compile(pattern, flags).split(string, maxsplit)


def findall(pattern: str, string: str, flags: int = 0) -> list:
    return compile(pattern, flags).findall(string)


def finditer(pattern: str, string: str, flags: int = 0):
    return compile(pattern, flags).finditer(string)


def _build(pattern: str, flags: int) -> re.Pattern[str]:
    programs = _load() if _programs is None else _programs
    program = programs.get((pattern, flags))
    if program is not None:
        try:
            return _sre.compile(pattern, *program)
        except Exception:  # noqa: BLE001, S110 - another build's program: compile it anew
            pass
    try:
        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
    except Exception:  # noqa: BLE001 - whatever re.compile would say, let it say it
        return re.compile(pattern, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    program = (
        int(flags | parsed.state.flags),
        [int(word) for word in code],  # the opcodes are int subclasses, which marshal refuses
        parsed.state.groups - 1,
        groupindex,
        tuple(indexgroup),
    )
    compiled = _sre.compile(pattern, *program)
    if not _added:
        import atexit

        atexit.register(save)
    _added[(pattern, flags)] = program
    programs[(pattern, flags)] = program
    return compiled


def _load() -> dict[tuple[str, int], tuple]:
    global _programs
    path = cache_path()
    _programs = _read(path) if path else {}
    return _programs


def _read(path: str) -> dict[tuple[str, int], tuple]:
    import marshal

    try:
        with open(path, "rb") as handle:
            # Our own file, beside the .pyc files Python trusts the same way; the programs in it
            # are data that _sre.compile checks before use.
            stored = marshal.loads(handle.read())  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if (
        isinstance(stored, tuple)
        and len(stored) == 3
        and stored[:2] == (_FORMAT, sys.hexversion)
        and isinstance(stored[2], dict)
    ):
        return stored[2]
    return {}


def save() -> None:
    """Add the programs compiled in this process to the cache file (called at exit)."""
    path = cache_path()
    if not path or not _added:
        return
    import marshal
    import tempfile

    try:
        merged = _read(path)
        merged.update(_added)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".bounce-patterns-")
        try:
            with os.fdopen(handle, "wb") as out:
                marshal.dump((_FORMAT, sys.hexversion, merged), out)
            os.chmod(temporary, 0o644)  # readable by every user of the checkout, as .pyc files are
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        _added.clear()
    except (OSError, ValueError):
        pass
