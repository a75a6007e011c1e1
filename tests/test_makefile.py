"""The Makefile's set-up: `make run PYTHON=...` builds the environment with that interpreter."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def fake_python(path: Path, version: str) -> str:
    """An executable that answers the Makefile's version question as Python `version` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def checkout(tmp_path):
    """A checkout whose .venv was made with Python 3.11.9 and is installed and up to date."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    lock = tmp_path / "tests/plc/peers/package-lock.json"
    lock.parent.mkdir(parents=True)
    lock.write_text("{}")
    fake_python(tmp_path / ".venv/bin/python", "3.11.9")
    stamp = tmp_path / ".venv/.installed-3.11.9"
    stamp.touch()
    later = lock.stat().st_mtime + 10
    import os
    os.utime(stamp, (later, later))
    return tmp_path


def dry_run(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", "run", *args], cwd=checkout, capture_output=True, text=True)


def test_an_installed_environment_is_reused(checkout):
    out = dry_run(checkout)
    assert out.returncode == 0, out.stderr
    assert "pip install" not in out.stdout and ".venv/bin/simengine run" in out.stdout


def test_another_python_rebuilds_the_environment(checkout, tmp_path_factory):
    other = fake_python(tmp_path_factory.mktemp("py") / "python3.12", "3.12.4")
    out = dry_run(checkout, f"PYTHON={other}")
    assert out.returncode == 0, out.stderr
    assert "pip install" in out.stdout and "making .venv with" in out.stdout


def test_a_missing_python_is_named(checkout):
    out = dry_run(checkout, "PYTHON=python-that-is-not-there")
    assert out.returncode != 0
    assert "PYTHON=python-that-is-not-there: no such Python interpreter" in out.stderr
