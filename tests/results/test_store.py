"""Round trips of the HDF5 run store, its xarray view, atomicity and redaction."""

import dataclasses
import math
import shutil
import subprocess
from datetime import datetime

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from simengine.results import (
    ReplicaResult,
    format_table,
    git_revision,
    read_run,
    redact_secrets,
    summarize,
    write_run,
)
from simengine.results import store

EVENT_DTYPE = [("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")]
ASSETS = np.array([0, 3, 5])
TIME_H = np.linspace(0.0, 8766.0, 25)
KPI_UNITS = {"availability": "1", "downtime_h": "h", "maintenance_cost_eur": "EUR"}


def make_replica(i: int, n_events: int = 4, time_h=TIME_H, assets=ASSETS) -> ReplicaResult:
    rng = np.random.default_rng(i)
    kinds = ["failure", "repair_start", "repair_end", "detection", "alarm", "sensor_stuck"]
    events = np.zeros(n_events, dtype=EVENT_DTYPE)
    events["time_h"] = np.sort(rng.uniform(0, 8766, n_events))
    events["asset"] = rng.choice(assets, n_events)
    events["kind"] = [kinds[k % len(kinds)] for k in range(n_events)]
    events["value"] = rng.normal(size=n_events)
    crack = 1e-3 + np.cumsum(rng.uniform(0, 1e-5, (len(time_h), len(assets))), axis=0)
    return ReplicaResult(
        replica=i,
        seed_entropy=2**100 + i,  # SeedSequence entropy is 128 bits, beyond int64
        kpis={"availability": 0.9 + 0.01 * i, "downtime_h": 10.0 * i, "maintenance_cost_eur": 1e4 + i},
        events=events,
        series_time_h=np.asarray(time_h, dtype=float),
        series={
            "crack_length_m": crack,
            "temperature_C": rng.normal(60, 2, (len(time_h), len(assets))),
            "available_fraction": rng.uniform(0.8, 1.0, (len(time_h), 1)),
        },
        series_units={"crack_length_m": "m", "temperature_C": "degC", "available_fraction": "1"},
        recorded_assets=assets,
    )


CONFIG = {
    "sim": {"horizon_h": 8766.0, "n_replicas": 3},
    "opcua": {"endpoint": "opc.tcp://127.0.0.1:4840", "Password": "hunter2-top"},
    "brokers": [{"host": "a", "API_KEY": "k-abc-123"}, {"host": "b", "auth": {"Bearer_Token": "tok-xyz-789"}}],
}


@pytest.fixture
def run_path(tmp_path):
    replicas = [make_replica(i) for i in range(3)]
    return write_run(tmp_path / "run.h5", config=CONFIG, seed=1234, replicas=replicas, units=KPI_UNITS), replicas


def test_round_trip_equals_input(run_path):
    path, replicas = run_path
    run = read_run(path)
    assert run.seed == 1234 and run.provenance["seed"] == 1234
    np.testing.assert_array_equal(run.replicas, [0, 1, 2])
    assert list(run.kpis) == list(replicas[0].kpis)  # engine order kept
    assert list(run.series) == list(replicas[0].series)
    for name in replicas[0].kpis:
        np.testing.assert_array_equal(run.kpis[name], [r.kpis[name] for r in replicas])
    assert run.kpi_units == KPI_UNITS
    for r in replicas:
        np.testing.assert_array_equal(run.replica_events(r.replica), r.events)
    assert len(run.events) == sum(len(r.events) for r in replicas)
    np.testing.assert_array_equal(run.series_time_h, TIME_H)
    np.testing.assert_array_equal(run.recorded_assets, ASSETS)
    for name in replicas[0].series:
        np.testing.assert_array_equal(run.series[name], np.stack([r.series[name] for r in replicas]))
    assert run.series_units == replicas[0].series_units
    assert run.provenance["replica_seed_entropy"] == [r.seed_entropy for r in replicas]
    assert run.provenance["config"]["sim"] == CONFIG["sim"]


def test_root_and_provenance_attrs(run_path):
    run = read_run(run_path[0])
    assert run.attrs["format_version"] == 1 and run.attrs["n_replicas"] == 3
    assert datetime.fromisoformat(run.attrs["created_utc"]).tzinfo is not None
    assert set(run.provenance["packages"]) >= {"numpy", "h5py", "hydra-core", "jaxlib", "simengine"}
    assert run.provenance["packages"]["numpy"] == np.__version__
    for key in ("python_version", "platform", "git_revision", "config_yaml"):
        assert isinstance(run.provenance[key], str) and run.provenance[key]


def test_summary_group_matches_summarize(run_path):
    path, replicas = run_path
    run = read_run(path)
    expected = summarize({n: np.array([r.kpis[n] for r in replicas]) for n in replicas[0].kpis})
    for name, stats_ in expected.items():
        assert run.summary[name]["ci95_low"] == pytest.approx(stats_["ci95_low"])
        assert run.summary[name]["p95"] == pytest.approx(stats_["p95"])
    assert run.summary["downtime_h"]["units"] == "h"


def test_single_replica_without_events(tmp_path):
    replica = make_replica(7, n_events=0)
    run = read_run(write_run(tmp_path / "one.h5", config={}, seed=2**70, replicas=[replica]))
    assert run.seed == 2**70
    assert run.events.size == 0
    assert math.isnan(run.summary["availability"]["ci95_low"])
    np.testing.assert_array_equal(run.series["crack_length_m"][0], replica.series["crack_length_m"])
    with xr.open_dataset(tmp_path / "one.h5", group="events", engine="h5netcdf") as ds:
        assert ds.sizes["event"] == 0


def test_xarray_kpi_group(run_path):
    path, replicas = run_path
    with xr.open_dataset(path, group="kpi", engine="h5netcdf") as ds:
        assert ds["downtime_h"].dims == ("replica",)
        np.testing.assert_array_equal(ds["replica"], [0, 1, 2])
        np.testing.assert_array_equal(ds["downtime_h"], [r.kpis["downtime_h"] for r in replicas])
        assert ds["maintenance_cost_eur"].attrs["units"] == "EUR"


def test_xarray_series_group(run_path):
    path, replicas = run_path
    with xr.open_dataset(path, group="series", engine="h5netcdf") as ds:
        assert ds["crack_length_m"].dims == ("replica", "time", "asset")
        assert ds["available_fraction"].dims == ("replica", "time")
        assert ds["temperature_C"].attrs["units"] == "degC"
        assert ds["time"].attrs["units"] == "h"
        np.testing.assert_array_equal(ds["asset"], ASSETS)
        np.testing.assert_array_equal(ds["time"], TIME_H)
        np.testing.assert_array_equal(ds["crack_length_m"].sel(replica=2, asset=5), replicas[2].series["crack_length_m"][:, 2])


def test_xarray_events_group(run_path):
    path, replicas = run_path
    with xr.open_dataset(path, group="events", engine="h5netcdf") as ds:
        assert set(ds.data_vars) == {"replica", "time_h", "asset", "kind", "value"}
        assert all(ds[v].dims == ("event",) for v in ds.data_vars)
        first = ds.where(ds["replica"] == 1, drop=True)
        assert list(first["kind"].values) == list(replicas[1].events["kind"])
        assert ds["time_h"].attrs["units"] == "h"


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    path.write_bytes(b"previous run")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store._SeriesOut, "add", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        write_run(path, config=CONFIG, seed=1, replicas=[make_replica(0)])
    assert path.read_bytes() == b"previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


def test_inconsistent_replicas_are_all_reported_and_nothing_written(tmp_path):
    bad = dataclasses.replace(make_replica(1, time_h=TIME_H[:-1]), recorded_assets=np.array([0, 3, 6]))
    with pytest.raises(ValueError) as info:
        write_run(tmp_path / "run.h5", config={}, seed=1, replicas=[make_replica(0), bad])
    message = str(info.value)
    assert "series_time_h differs" in message and "recorded_assets [0 3 6]" in message
    assert "series['crack_length_m'] has shape (24, 3)" in message
    assert list(tmp_path.iterdir()) == []


def _with(replica, **changes):
    return dataclasses.replace(replica, **changes)


@pytest.mark.parametrize(
    "change, rule",
    [
        (lambda r: _with(r, kpis={"replica": 1.0}), "name 'replica' is not allowed"),
        (lambda r: _with(r, series={"a/b": r.series["crack_length_m"]}, series_units={"a/b": "m"}), "name 'a/b' is not allowed"),
        (lambda r: _with(r, series_units={}), "series 'crack_length_m' has no entry in series_units"),
        (lambda r: _with(r, events=np.zeros(2, dtype=[("time_h", "f8")])), r"events lacks fields \['asset', 'kind', 'value'\]"),
        (lambda r: _with(r, series={**r.series, "x": np.zeros((len(TIME_H), 2))}, series_units={**r.series_units, "x": "1"}), r"series\['x'\] has shape \(25, 2\)"),
    ],
)
def test_bad_replica_is_rejected(tmp_path, change, rule):
    with pytest.raises(ValueError, match=rule):
        write_run(tmp_path / "run.h5", config={}, seed=1, replicas=[change(make_replica(0))])
    assert list(tmp_path.iterdir()) == []


def test_empty_replica_list_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="replicas is empty; a run needs at least one replica"):
        write_run(tmp_path / "run.h5", config={}, seed=1, replicas=[])
    assert list(tmp_path.iterdir()) == []


def test_redact_secrets_at_depth_and_in_lists():
    redacted = redact_secrets(CONFIG)
    assert redacted["opcua"] == {"endpoint": "opc.tcp://127.0.0.1:4840", "Password": "***"}
    assert redacted["brokers"][0] == {"host": "a", "API_KEY": "***"}
    assert redacted["brokers"][1]["auth"] == {"Bearer_Token": "***"}
    assert redacted["sim"] == CONFIG["sim"]
    assert CONFIG["opcua"]["Password"] == "hunter2-top"  # input not mutated
    assert redact_secrets({"private_key": {"pem": "x"}, "s": [("passphrase",)]}) == {"private_key": "***", "s": [("passphrase",)]}


def test_secrets_absent_from_file_bytes(run_path):
    raw = run_path[0].read_bytes()
    for secret in (b"hunter2-top", b"k-abc-123", b"tok-xyz-789"):
        assert secret not in raw
    assert b"opc.tcp://127.0.0.1:4840" in raw


def test_config_with_paths_numpy_and_omegaconf(tmp_path):
    from omegaconf import OmegaConf

    config = OmegaConf.create({"out": "results/run", "db": {"password": "pw-123"}})
    extra = {"cfg": config, "dir": tmp_path, "rate": np.float64(0.5), "grid": (1, 2)}
    run = read_run(write_run(tmp_path / "run.h5", config=extra, seed=1, replicas=[make_replica(0)]))
    assert run.provenance["config"] == {
        "cfg": {"out": "results/run", "db": {"password": "***"}},
        "dir": str(tmp_path),
        "rate": 0.5,
        "grid": [1, 2],
    }


def test_git_revision(tmp_path):
    assert git_revision(tmp_path) == "unknown"
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert git_revision(tmp_path) == head
    (tmp_path / "a.txt").write_text("b")
    assert git_revision(tmp_path) == head + "+dirty"
    assert git_revision(tmp_path / "sub") == "unknown"


def test_summarize_against_hand_computation():
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    s = summarize({"k": x})["k"]
    half = stats.t.ppf(0.975, df=4) * np.std(x, ddof=1) / np.sqrt(5)
    assert s["n"] == 5 and s["mean"] == pytest.approx(4.0) and s["median"] == 3.0
    assert s["ci95_low"] == pytest.approx(4.0 - half) and s["ci95_high"] == pytest.approx(4.0 + half)
    assert s["p5"] == pytest.approx(1.2) and s["p95"] == pytest.approx(8.8)


def test_summarize_single_value_and_non_finite():
    one = summarize({"k": np.array([3.5])})["k"]
    assert one["mean"] == one["median"] == one["p5"] == 3.5
    assert math.isnan(one["std"]) and math.isnan(one["ci95_low"]) and math.isnan(one["ci95_high"])
    assert summarize({"k": np.array([1.0, np.nan, 3.0])})["k"]["n"] == 2
    with pytest.raises(ValueError, match=r"kpis\['k'\] has shape \(2, 2\)"):
        summarize({"k": np.ones((2, 2))})


def test_format_table_is_aligned():
    table = format_table(summarize({"availability": np.array([0.9, 0.95, 0.97]), "downtime_h": np.array([5.0])}))
    lines = table.splitlines()
    assert lines[0].split() == ["kpi", "mean", "95%", "CI", "median", "p5", "p95", "CI", "method"]
    assert lines[2].startswith("availability") and "1 replica: no interval" in lines[3] and "nan, nan" not in table
    # Right-aligned numbers end in the same column as their header; the method starts in one column.
    end_p95 = lines[0].index("p95") + 3
    assert {line[end_p95 - 1] for line in (lines[2], lines[3])} != {" "}
    assert len({line.index("Student t") for line in lines if "Student t" in line} | {lines[0].index("CI method")}) == 1


def test_summary_attributes_state_the_interval_method_and_the_kpi_range(tmp_path):
    from simengine.engine.kpis import KPIS
    from simengine.results import intervals

    replicas = [make_replica(i) for i in range(3)]
    run = read_run(write_run(tmp_path / "run.h5", config={}, seed=1, replicas=replicas, specs=KPIS))
    availability = run.summary["availability"]
    assert availability["ci_method"] == intervals.T_IN_RANGE and availability["kind"] == "fraction"
    assert (availability["range_low"], availability["range_high"]) == (0.0, 1.0)
    assert 0.0 <= availability["ci95_low"] <= availability["ci95_high"] <= 1.0
    assert run.kpi_units["downtime_h"] == "h" and run.summary["maintenance_cost_eur"]["units"] == "EUR"


def test_pieces_merge_into_the_file_write_run_writes(tmp_path):
    from simengine.engine.kpis import KPIS
    from simengine.results.store import write_piece, write_pieces

    replicas = [make_replica(i) for i in range(5)]
    pieces = [write_piece(tmp_path / f"p{i}.h5", part) for i, part in enumerate([replicas[3:], replicas[:1], replicas[1:3]])]
    whole = read_run(write_run(tmp_path / "whole.h5", config=CONFIG, seed=9, replicas=replicas, specs=KPIS))
    merged = read_run(write_pieces(tmp_path / "merged.h5", config=CONFIG, seed=9, pieces=pieces, specs=KPIS))
    np.testing.assert_array_equal(merged.replicas, np.arange(5))
    np.testing.assert_array_equal(merged.events, whole.events)
    assert merged.summary == whole.summary and merged.provenance["replica_seed_entropy"] == whole.provenance["replica_seed_entropy"]
    for name in whole.kpis:
        np.testing.assert_array_equal(merged.kpis[name], whole.kpis[name])
    for name in whole.series:
        np.testing.assert_array_equal(merged.series[name], whole.series[name])
    few = read_run(tmp_path / "merged.h5", max_replicas=2)
    assert set(few.events["replica"]) <= {0, 1} and few.series["crack_length_m"].shape[0] == 2
    np.testing.assert_array_equal(few.events, whole.events[whole.events["replica"] <= 1])
