"""`python -m diagnostics.bounces FILE [FILE ...]`: one JSON line per file, without Django.

Each line is ``{"file": NAME, "recipients": [...]}`` (the fields of ``BounceRecipient``); a file
that cannot be read gets ``{"file": NAME, "recipients": [], "error": "..."}``, a message on
stderr, and exit status 1 once the other files are done. ``-`` reads one message from stdin.

This module imports only the standard library until it has a file to read, so the command
starts as fast as Python does; the reader and its rules load on the first file
(docs/bounces.md, "Speed").
"""

from __future__ import annotations

import sys

USAGE = "usage: python -m diagnostics.bounces FILE [FILE ...]   (- reads standard input)"


def main(argv: list[str] | None = None) -> int:
    """Classify each file named in argv; return the exit status."""
    names = sys.argv[1:] if argv is None else argv
    if not names or names[0] in {"-h", "--help"}:
        stream = sys.stdout if names else sys.stderr
        stream.write(USAGE + "\n")
        return 0 if names else 2

    import json

    from diagnostics.bounces.parse import parse_bounce

    out = sys.stdout
    failures = 0
    for name in names:
        try:
            if name == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(name, "rb") as handle:
                    raw = handle.read()
        except OSError as error:
            failures += 1
            reason = error.strerror or error.__class__.__name__
            sys.stderr.write(f"{name}: cannot read the file ({reason})\n")
            report = {"file": name, "recipients": [], "error": reason}
        else:
            report = {"file": name, "recipients": [e.as_dict() for e in parse_bounce(raw)]}
        out.write(json.dumps(report, ensure_ascii=False) + "\n")
    out.flush()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
