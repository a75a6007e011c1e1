"""The library API without Hydra: load a scenario, run replicas, get results."""

import math

import numpy as np
import pytest

import simengine
from simengine.api import load_scenario, run
from simengine.config import ConfigError
from simengine.results import read_run


def small(name="crane_fleet", **over):
    return load_scenario(name, {"fleet.count": 3, "horizon_years": 0.5, **over})


def test_load_scenario_applies_overrides_and_validates():
    sc = small(**{"crews.count": 4})
    assert sc.crews.count == 4 and sc.fleet.count == 3
    with pytest.raises(ConfigError, match="crews.count = -4: must be >= 1"):
        small(**{"crews.count": -4})
    with pytest.raises(ConfigError, match="unknown scenario"):
        load_scenario("atlantis")


def test_wind_farm_runs_from_python_and_more_crews_wait_less():
    busy = {"fleet.count": 30, "horizon_years": 2.0}
    few = run(small("wind_farm", **busy, **{"crews.count": 1}), replicas=2, seed=4)
    many = run(small("wind_farm", **busy, **{"crews.count": 6}), replicas=2, seed=4)
    assert few.kpis["crew_wait_h"].mean() > many.kpis["crew_wait_h"].mean()
    assert 0 < few.summary["availability"]["mean"] <= 1


def test_run_writes_a_readable_file_with_provenance(tmp_path):
    result = run(small(), replicas=2, seed=3, out_dir=tmp_path)
    data = read_run(result.path)
    assert data.seed == 3
    np.testing.assert_array_equal(data.kpis["failures"], result.kpis["failures"])
    assert data.provenance["config"]["scenario"]["fleet"]["count"] == 3
    assert set(data.summary["availability"]) >= {"mean", "ci95_low", "ci95_high"}


def _same(a, b):
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_same_seed_same_kpis_on_every_executor():
    sc = small()
    serial = run(sc, replicas=3, seed=11)
    procs = run(sc, replicas=3, seed=11, executor="processes", workers=2)
    for a, b in zip(serial.replicas, procs.replicas):
        assert _same(a.kpis, b.kpis)
        np.testing.assert_array_equal(a.events, b.events)
    other = run(sc, replicas=3, seed=12)
    assert not all(_same(a.kpis, b.kpis) for a, b in zip(serial.replicas, other.replicas))


def test_a_crash_mid_batch_leaves_no_result_file(tmp_path, monkeypatch):
    import simengine.batch.executors as ex

    real = ex.run_replica

    def flaky(scenario, seed, replica, **kwargs):
        if replica == 1:
            raise RuntimeError("worker lost")
        return real(scenario, seed, replica, **kwargs)

    monkeypatch.setattr(ex, "run_replica", flaky)
    with pytest.raises(RuntimeError, match="worker lost"):
        run(small(), replicas=2, seed=0, out_dir=tmp_path)
    assert list(tmp_path.rglob("*.h5")) == [] and list(tmp_path.rglob("*tmp*")) == []


def test_top_level_names():
    assert simengine.load_scenario is load_scenario and simengine.run is run
