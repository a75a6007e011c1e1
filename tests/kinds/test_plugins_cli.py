"""A user's kind through `simengine run`: an installed entry point runs; bad kinds are one message each."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simengine.api import load_scenario
from simengine.engine.simulation import run_replica
from simengine.results.store import read_run

HERE = Path(__file__).resolve().parent
SIMENGINE = Path(sys.executable).with_name("simengine")
TINY = ["fleet.kind=pump", "fleet.count=2", "horizon_years=0.2", "replicas=1", "seed=5", "plots=false"]
PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "simengine-pump-kind"
version = "0.1"

[project.entry-points."simengine.asset_kinds"]
pump = "my_kinds:Pump"

[tool.setuptools]
py-modules = ["my_kinds"]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The README's pump kind as a package with an entry point, installed (no network) into a folder."""
    root = tmp_path_factory.mktemp("plugin")
    package = root / "pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text(PYPROJECT)
    shutil.copy(HERE / "my_kinds.py", package / "my_kinds.py")
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(package)], check=True, capture_output=True)
    return target


def simengine(*args, pythonpath, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    return subprocess.run([str(SIMENGINE), "run", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_an_installed_entry_point_kind_runs_the_scenario(site, tmp_path):
    proc = simengine(*TINY, "fleet.duty={kind: pump, running_fraction: 0.4}",
                     f"out_dir={tmp_path}", pythonpath=[site], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 pump assets" in proc.stdout
    run = read_run(next(tmp_path.glob("*/run.h5")))
    assert run.provenance["config"]["scenario"]["fleet"]["duty"]["kind"] == "pump"
    # the same kind by its dotted path, here: the same replica, KPI for KPI
    here = run_replica(load_scenario("crane_fleet", {"fleet.kind": "pump", "fleet.count": 2, "horizon_years": 0.2,
                                                     "fleet.duty": None, "fleet.duty.kind": "my_kinds:Pump",
                                                     "fleet.duty.running_fraction": 0.4}), 5, 0)
    assert {k: float(v[0]) for k, v in run.kpis.items()} == pytest.approx(here.kpis, nan_ok=True, rel=0, abs=0)


@pytest.mark.parametrize("kind, words", [
    ("pumpp", ["fleet.duty.kind = 'pumpp': unknown asset kind; known kinds: crane (also lifts); wind; none;",
               "entry points in group simengine.asset_kinds: pump (my_kinds:Pump)"]),
    ("broken_kind:Kind", ["fleet.duty.kind = 'broken_kind:Kind': the asset kind broken_kind:Kind failed to import: "
                          "ModuleNotFoundError: No module named 'a_dependency_nobody_installed'"]),
    ("narrow_kinds:Thermometer", ["fleet.sensors[0].observes = 'natural_frequency_hz': asset kind thermometer has no "
                                  "quantity natural_frequency_hz; its quantities: temperature_C, load_factor"]),
])
def test_a_bad_kind_is_one_message_without_a_traceback(site, tmp_path, kind, words):
    (tmp_path / "broken_kind.py").write_text("import a_dependency_nobody_installed\n\nKind = None\n")
    proc = simengine(*TINY, f"fleet.duty={{kind: '{kind}'}}", f"out_dir={tmp_path / 'results'}",
                     pythonpath=[site, HERE, tmp_path], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "in the configuration:" in proc.stderr, proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr
    assert not (tmp_path / "results").exists()
