"""The command line end to end: runs, results that open in xarray, and bad input."""


import pytest
import xarray as xr

from simengine.cli import main

SMALL = ["fleet.count=3", "horizon_years=1", "replicas=2", "progress=false"]


def run_cli(args, tmp_path, capsys):
    code = main(["run", *args, f"out_dir={tmp_path}"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("scenario", ["crane_fleet", "wind_farm"])
def test_scenarios_run_from_the_cli_and_open_in_xarray(scenario, tmp_path, capsys):
    code, out, err = run_cli([f"scenario={scenario}", *SMALL], tmp_path, capsys)
    assert code == 0, err
    (h5,) = tmp_path.glob("*/run.h5")
    assert f"results: {h5}" in out and "availability" in out
    for group in ("kpi", "series", "events"):
        with xr.open_dataset(h5, group=group, engine="h5netcdf") as ds:
            assert ds.sizes
    with xr.open_dataset(h5, group="kpi", engine="h5netcdf") as kpi:
        assert kpi.sizes["replica"] == 2
        assert ((kpi["availability"] > 0.5) & (kpi["availability"] <= 1.0)).all()
    with xr.open_dataset(h5, group="series", engine="h5netcdf") as series:
        assert series["crack_length_m"].dims == ("replica", "time", "asset")
        assert series["crack_length_m"].attrs["units"] == "m"
    pngs = sorted(p.name for p in h5.parent.glob("*.png"))
    assert pngs == ["availability.png", "crack_fan.png", "timeline.png"]


BAD = [
    (["scenario=mars"], ["scenario = 'mars': unknown scenario; choose one of conveyor_line, crane_fleet, port, wind_farm"]),
    (["scenario=crane_flet"], ["scenario = 'crane_flet': unknown scenario; choose one of conveyor_line, crane_fleet, port, wind_farm",
                               "; did you mean 'crane_fleet'?"]),
    (["replica=5"], ["replica = 5: unknown field; known fields: replicas, seed, executor", "did you mean 'replicas'?"]),
    (["sed=5"], ["did you mean 'seed'?"]),
    (["replicas=0"], ["replicas = 0: must be >= 1"]),
    (["scenario=wind_farm", "fleet.kind=sts_crane"], ["fleet.kind = 'sts_crane': a sts_crane needs fleet.duty.kind=lifts, not wind"]),
    (["crews.count=-1"], ["crews.count = -1: must be >= 1"]),
    (["fleet.duty.lifts_per_h=-3"], ["fleet.duty.lifts_per_h = -3: must be > 0"]),
    (["replicas=many"], ["replicas = 'many': expected an integer"]),
    (["fleet.count=2.5"], ["fleet.count = 2.5: expected an integer"]),
    (["~fleet.physics_failures.0.limit"] if False else ["fleet.physics_failures=[{name: x, quantity: crack_m}]"],
     ["fleet.physics_failures[0].limit = <missing>: required field is missing"]),
    (["crews.cuont=4"], ["crews.cuont = 4: unknown field", "did you mean 'count'?"]),
    (["policy.kind=sometimes"], ["policy.kind = 'sometimes': must be one of corrective, scheduled, condition_based"]),
    (["crews.shifts=[]"], ["crews.shifts = []: needs at least one (start, end) shift"]),
    (["fleet.sensors.0.sample_rate_hz=1e-5"], ["fleet.sensors[0].sample_rate_hz = 1e-05: must give at least one sample per sync interval"]),
    (["horizon_years=inf"], ["horizon_years = inf: must be <= 1000"]),
    (["sync_interval_h=5"], ["sync_interval_h = 5.0: must divide 24 h"]),
    (["fleet.duty={kind: none}"], ["fleet.duty.kind = 'none': physics failures and sensors need a duty"]),
    (["crews.count=0", "seed=-1", "fleet.sensors.0.noise_sd=-1"],
     ["3 problems", "seed = -1: must be >= 0", "crews.count = 0: must be >= 1", "fleet.sensors[0].noise_sd = -1: must be >= 0"]),
]


@pytest.mark.parametrize("args, messages", BAD)
def test_bad_configuration_is_one_clear_message_and_writes_nothing(args, messages, tmp_path, capsys):
    code, out, err = run_cli(args, tmp_path, capsys)
    assert code == 2
    for message in messages:
        assert message in err
    assert "Traceback" not in err + out
    assert list(tmp_path.iterdir()) == []


def test_python_module_entry_point_runs(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "simengine", "run", "scenario=mars"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown scenario" in proc.stderr


PLC_BAD = [
    (["serve", "serve.rate_hz=0", "record.protocol=x"], ["serve.rate_hz = 0: must be > 0", "record.protocol = 'x': must be one of"]),
    (["record", "record.tagmap=/no/such/map.yaml"], ["record.tagmap = '/no/such/map.yaml': cannot be read"]),
    (["serve", "serve.faults=[{at_s: 1, kind: freeze, tags: [nope]}]"], ["serve.faults[0].tags = ['nope']"]),
    (["serve", "serve.assets=[99]"], ["serve.assets = [99]", "beyond the fleet: scenario 'crane_fleet' has assets 0..23"]),
    (["record", "record.protocol=opcua", "record.port=1", "record.duration_s=1"], ["opcua 127.0.0.1:1: connection refused"]),
]


@pytest.mark.parametrize("args, messages", PLC_BAD)
def test_plc_bad_input_is_one_message(args, messages, capsys):
    code = main(["plc", *args])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    for message in messages:
        assert message in err


# --- workers die with their parent -------------------------------------------------

def children(pid: int) -> list[int]:
    """Child pids of `pid`, from /proc/<pid>/task/*/children."""
    from pathlib import Path

    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def is_spawn_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False


def has_loaded_jax(pid: int) -> bool:
    # The engine (and JAX) load when a worker unpickles its first replica, after the pool's initializer ran.
    try:
        return "jaxlib" in open(f"/proc/{pid}/maps").read()
    except OSError:
        return False


def is_gone(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie holds no memory and runs nothing


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_kill_9_of_a_process_run_takes_its_workers_along(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from pace import wait_until

    args = ["executor=processes", "workers=2", "replicas=8", "horizon_years=50", "progress=false", f"out_dir={tmp_path}"]
    parent = subprocess.Popen([sys.executable, "-m", "simengine", "run", *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers: list[int] = []

        def computing() -> bool:
            workers[:] = [c for c in children(parent.pid) if is_spawn_worker(c)]
            return len(workers) == 2 and all(map(has_loaded_jax, workers))

        wait_until(computing, 60, interval_s=0.1, what="two workers running replicas")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_until(lambda: all(map(is_gone, workers)), 10, interval_s=0.1, what="the orphaned workers ending")
    finally:
        parent.kill()
        parent.wait()
        for pid in workers if "workers" in locals() else []:
            if not is_gone(pid):
                os.kill(pid, signal.SIGKILL)
    # what is left is the run's resumable staging folder, never a result
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".crane_fleet-") and ".partial-" in left[0].name
    assert (left[0] / "batch.json").exists()


def test_an_unwritable_out_dir_is_one_message_before_anything_runs(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    code = main(["run", *SMALL, f"out_dir={tmp_path}/a_file/results"])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (f"simengine: 1 problem in the configuration:\n"
                           f"  - out_dir = '{tmp_path}/a_file/results': {tmp_path}/a_file is not a folder")
    assert out == ""  # not even the banner: nothing ran
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_a_reader_that_stops_early_gets_no_error(tmp_path):
    """`simengine run | head -1`: the closed pipe ends the command quietly, as any shell tool."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "simengine", "run", "fleet.count=1", "horizon_years=0.1",
                             "replicas=2", "plots=false", f"out_dir={tmp_path}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("simengine: crane_fleet")
    proc.stdout.close()  # the reader is gone before the table comes
    err = proc.stderr.read()
    assert proc.wait() == 141
    assert "Broken pipe" not in err and "Traceback" not in err


# --- composition: the direct path and Hydra's agree ------------------------------------

def composed_both_ways(config_name, overrides):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from simengine.cli import compose_tree, hydra_compose

    groups = OverridesParser.create().parse_overrides(overrides)
    direct = compose_tree(config_name, groups)
    return (None if direct is None else OmegaConf.to_container(direct, resolve=True),
            OmegaConf.to_container(hydra_compose(config_name, groups), resolve=True))


def shipped_compositions():
    from simengine.api import conf_dir, scenario_names

    # every command's config as shipped, and the run's with every scenario (the others compose them alike)
    for primary in sorted(p.stem for p in conf_dir().glob("*.yaml")):
        yield primary, []
    yield from (("config", [f"scenario={name}"]) for name in scenario_names())


@pytest.mark.parametrize("config_name, overrides", list(shipped_compositions()))
def test_the_direct_composition_is_hydras_for_every_shipped_config(config_name, overrides):
    direct, hydra = composed_both_ways(config_name, overrides)
    assert direct is not None, "the shipped tree should take the direct path"
    assert direct == hydra
    assert list(direct) == list(hydra)  # the same order of keys too: the provenance and messages list them so


@pytest.mark.filterwarnings("ignore:In 'config'. Defaults list is missing")
def test_a_tree_of_another_shape_is_composed_by_hydra(tmp_path, monkeypatch):
    (tmp_path / "scenario").mkdir()
    (tmp_path / "config.yaml").write_text("defaults:\n  - scenario: a\n  - _self_\nreplicas: 3\n")
    (tmp_path / "scenario" / "a.yaml").write_text("name: a\nfleet: {count: 2}\n")  # no @package: under `scenario`
    (tmp_path / "scenario" / "b.yaml").write_text("# @package _global_\nname: b\n")
    monkeypatch.setenv("SIMENGINE_CONF", str(tmp_path))
    direct, hydra = composed_both_ways("config", [])
    assert direct is None and hydra == {"scenario": {"name": "a", "fleet": {"count": 2}}, "replicas": 3}
    direct, hydra = composed_both_ways("config", ["scenario=b"])
    assert direct == hydra == {"name": "b", "replicas": 3}
    (tmp_path / "config.yaml").write_text("defaults:\n  - scenario: b\nreplicas: 3\n")  # no _self_: Hydra's rule
    direct, hydra = composed_both_ways("config", [])
    assert direct is None and hydra == {"name": "b", "replicas": 3}


def test_an_unknown_scenario_is_the_same_message_both_ways(capsys):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from simengine.cli import compose_tree, hydra_compose
    from simengine.config import ConfigError

    groups = OverridesParser.create().parse_overrides(["scenario=crane_flet"])
    messages = []
    for fn in (compose_tree, hydra_compose):
        with pytest.raises(ConfigError) as err:
            fn("config", groups)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "did you mean 'crane_fleet'?" in messages[0]
