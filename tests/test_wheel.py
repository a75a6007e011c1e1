"""The package as a user installs it: a built wheel in a fresh environment, run from another folder.

An editable install finds files beside the package that a wheel does not
have; this test builds the wheel, installs it alone into a new virtual
environment (its dependencies borrowed from this one, so no network) and
runs the commands from a folder that holds nothing of the checkout.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The `simengine` command of a fresh environment holding only the built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "conf", source / "conf")
    shutil.copytree(ROOT / "simengine", source / "simengine", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(dist), str(source)], check=True)
    (wheel,) = dist.glob("simengine-*.whl")
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # This environment's packages serve as the dependencies; its editable simengine does not come
    # along, since .pth files are read only in site directories, not in folders a .pth adds.
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return env_dir / "bin" / "simengine", tmp


def simengine(installed, *args):
    command, tmp = installed
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run([str(command), *args], cwd=elsewhere, capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_its_configuration(installed):
    command, _ = installed
    python = command.parent / "python"
    where = subprocess.run([str(python), "-c", "import simengine.api as a; print(a.__file__); print(a.scenario_names())"],
                           cwd=command.parent,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert not where[0].startswith(str(ROOT)), "the editable checkout was imported, not the wheel"
    assert where[1] == "['conveyor_line', 'crane_fleet', 'port', 'wind_farm', 'wind_farm_grid', 'wind_farm_wombat']"


def test_the_installed_command_runs_a_scenario_from_another_folder(installed, tmp_path):
    out = simengine(installed, "run", "fleet.count=2", "horizon_years=0.5", "replicas=2", "plots=false",
                    f"out_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    assert "availability" in out.stdout
    assert len(list(tmp_path.glob("crane_fleet-*/run.h5"))) == 1


def test_the_installed_command_runs_a_fatigue_batch_and_names_scenarios(installed, tmp_path):
    out = simengine(installed, "fatigue", "replicas=50", "horizon_years=1", "plots=false", f"out_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    wrong = simengine(installed, "run", "scenario=nowhere")
    assert wrong.returncode == 2
    assert "crane_fleet" in wrong.stderr and "wind_farm" in wrong.stderr
