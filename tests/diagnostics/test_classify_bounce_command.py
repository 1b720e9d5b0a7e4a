"""`manage.py classify_bounce`: a table or JSON per file; unreadable files reported, not fatal.

Only files of the tuning part of tests/fixtures/bounces/split.json are used here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"
RECIPIENT_KEYS = {"recipient", "action", "status", "reply_code", "reason", "hard_bounce"}
RECIPIENT_KEYS |= {"diagnostic", "bounce_class"}


def classify(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("classify_bounce", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_lists_each_file_with_its_recipients():
    opensmtpd = str(FIXTURES / "lhost-opensmtpd-17.eml")
    arf = str(FIXTURES / "arf-17.eml")

    output, _ = classify(opensmtpd, arf, "--json")
    data = json.loads(output)

    assert [report["file"] for report in data] == [opensmtpd, arf]
    assert all(set(report) == {"file", "recipients"} for report in data)
    for report in data:
        assert report["recipients"]
        assert all(set(entry) == RECIPIENT_KEYS for entry in report["recipients"])
    assert sorted((e["recipient"], e["hard_bounce"]) for e in data[0]["recipients"]) == [
        ("mailboxfull@libsisimai.net", False),
        ("userunknown@libsisimai.net", True),
    ]
    assert {e["reason"] for e in data[1]["recipients"]} == {"feedback"}


def test_table_shows_recipient_class_reason_and_diagnostic():
    output, _ = classify(str(FIXTURES / "lhost-qmail-25.eml"))

    assert "userunknown@libsisimai.net" in output
    assert "hard" in output
    assert "User unknown" in output


def test_a_message_that_is_not_a_bounce_says_so():
    output, _ = classify(str(FIXTURES / "is-not-bounce-02.eml"))

    assert "no bounced recipient found" in output


def test_missing_file_is_reported_others_still_processed_and_exit_is_nonzero(tmp_path):
    missing = str(tmp_path / "nope.eml")
    present = str(FIXTURES / "lhost-qmail-25.eml")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 2"):
        call_command("classify_bounce", missing, present, "--json", stdout=out, stderr=err)

    assert f"{missing}: cannot read the file" in err.getvalue()
    data = json.loads(out.getvalue())
    assert data[0] == {"file": missing, "recipients": [], "error": "No such file or directory"}
    assert {e["recipient"] for e in data[1]["recipients"]} == {
        "mailboxfull@libsisimai.net",
        "userunknown@libsisimai.net",
    }


def test_a_directory_is_an_unreadable_file(tmp_path):
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("classify_bounce", str(tmp_path), stdout=out, stderr=err)

    assert str(tmp_path) in err.getvalue()
