"""The skip policy of tests/conftest.py: a skip is a skip locally and fails the run under CI=true.

Each test runs pytest on probe files, with tests/conftest.py loaded, in a fresh process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import pytest

def test_needs_a_missing_service():
    pytest.skip("the frobnicator is not running")

def test_passes():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""

PROBE_MODULE_SKIP = """
import pytest

pytest.skip("no module here today", allow_module_level=True)
"""


def run_probe(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess:
    """Run pytest on the probe files with tests/conftest.py loaded, in a fresh process."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "test_probe_module.py").write_text(PROBE_MODULE_SKIP)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        DJANGO_SETTINGS_MODULE="deliverytickets.settings",
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"),
            "--continue-on-collection-errors",  # run the other probe after the module's skip
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_fails_the_run_under_ci(tmp_path):
    result = run_probe(tmp_path, ci=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "the frobnicator is not running" in output
    assert "no module here today" in output
    assert "CI=true" in output
    assert re.search(r"1 passed", output), output
    assert re.search(r"1 xfailed", output), output  # an expected failure is not a skip
    assert "skipped" not in output.splitlines()[-1], output


def test_a_skip_is_only_a_skip_locally(tmp_path):
    result = run_probe(tmp_path, ci=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"1 passed, 2 skipped, 1 xfailed", output), output
