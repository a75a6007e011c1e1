"""Plots of a run written to and read back from a real HDF5 file."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from simengine.results import ReplicaResult, plot_run, read_run, write_run

EVENT_DTYPE = [("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")]


def make_replica(i: int, series_names=("crack_length_m", "available_fraction"), events=True) -> ReplicaResult:
    rng = np.random.default_rng(i)
    time_h = np.linspace(0.0, 5 * 8766.0, 60)
    assets = np.array([0, 1, 2, 3])
    kinds = ["failure", "detection", "alarm", "repair_end", "inspection"] * 2 if events else []
    log = np.zeros(len(kinds), dtype=EVENT_DTYPE)
    log["time_h"] = np.sort(rng.uniform(0, time_h[-1], len(kinds)))
    log["asset"] = rng.integers(0, 4, len(kinds))
    log["kind"] = kinds
    series = {
        "crack_length_m": 1e-3 + np.cumsum(rng.uniform(0, 2e-5, (60, 4)), axis=0),
        "available_fraction": rng.uniform(0.7, 1.0, (60, 1)),
    }
    return ReplicaResult(
        replica=i,
        seed_entropy=i,
        kpis={"availability": 0.9},
        events=log,
        series_time_h=time_h,
        series={name: series[name] for name in series_names},
        series_units={"crack_length_m": "m", "available_fraction": "1"},
        recorded_assets=assets,
    )


def read_back(tmp_path, replicas):
    return read_run(write_run(tmp_path / "run.h5", config={}, seed=0, replicas=replicas))


def assert_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert image.std() > 0.01  # not a blank canvas


def test_all_plots_written(tmp_path):
    run = read_back(tmp_path, [make_replica(i) for i in range(20)])
    written = plot_run(run, tmp_path / "plots")
    assert [p.name for p in written] == ["crack_fan.png", "availability.png", "timeline.png"]
    for path in written:
        assert_png(path)


@pytest.mark.parametrize(
    "series_names, expected",
    [
        (("available_fraction",), ["availability.png", "timeline.png"]),
        (("crack_length_m",), ["crack_fan.png", "timeline.png"]),
        ((), ["timeline.png"]),
    ],
)
def test_absent_series_are_skipped(tmp_path, series_names, expected):
    run = read_back(tmp_path, [make_replica(i, series_names) for i in range(3)])
    written = plot_run(run, tmp_path / "plots")
    assert [p.name for p in written] == expected
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(expected)


def test_single_replica_without_events(tmp_path):
    run = read_back(tmp_path, [make_replica(0, events=False)])
    for path in plot_run(run, tmp_path / "plots"):
        assert_png(path)


def test_time_axis_counts_years_as_the_engine_does(tmp_path):
    import dataclasses

    from simengine.units import HOURS_PER_YEAR
    from simengine.results import plots

    replica = dataclasses.replace(make_replica(0), series_time_h=np.linspace(0.0, 5 * HOURS_PER_YEAR, 60))
    run = read_back(tmp_path, [replica])
    assert plots._years(run)[-1] == 5.0  # a 5-year horizon ends at 5 on the axis, not at 4.997
