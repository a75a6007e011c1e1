"""wind_farm_vs_wombat: the scenario is WOMBAT's case at our end, and both sides' work orders are counted right."""

from __future__ import annotations

import math
import os

import pytest

from simengine.api import load_scenario
from simengine.bench import wombat_bench
from simengine.config import build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica

HOURS_PER_YEAR = 8760.0
# WOMBAT 0.13.5, library/code_comparison/dinwoodie/turbines/vestas_v90.yaml: failure scale (years), repair time (h)
DINWOODIE_TURBINE = {"manual_reset": (0.1333, 3.0), "minor_repair": (0.3333, 7.5), "medium_repair": (3.6363, 22.0),
                     "major_repair": (25.0, 26.0), "major_replacement": (12.5, 52.0)}


def test_the_scenario_is_the_dinwoodie_case_at_our_end():
    scenario = load_scenario(wombat_bench.SCENARIO)
    assert (scenario.name, scenario.fleet.count, scenario.horizon_years) == ("wind_farm_wombat", 80, 10.0)
    components = {c.name: c for c in scenario.fleet.components}
    assert set(components) == set(DINWOODIE_TURBINE)
    for name, (scale_years, time_h) in DINWOODIE_TURBINE.items():
        life, work = components[name].life, components[name].repair.work
        assert life.kind == "exponential" and life.mean == pytest.approx(scale_years * HOURS_PER_YEAR, rel=1e-4)
        assert work.kind == "fixed" and work.mean == time_h
    # about WOMBAT's ~8,500 repair requests: 80 turbines x 10 years x the summed failure rates
    expected = 80 * 10 * sum(1.0 / scale for scale, _ in DINWOODIE_TURBINE.values())
    assert 8_000 < expected < 9_000
    assert (scenario.policy.kind, scenario.policy.inspection.interval_h) == ("scheduled", HOURS_PER_YEAR)


def _clockwork() -> ScenarioConfig:
    """One asset, no physics, a crew always there: a gear that fails every 1,000 h of running (10 h repair)
    and a filter replaced in blocks every 2,000 h (5 h), never at the same time as a gear repair."""
    fixed = lambda hours: {"kind": "fixed", "mean": hours}  # noqa: E731
    return build(ScenarioConfig, {
        "name": "clockwork", "horizon_years": 1.0,
        "fleet": {"count": 1, "duty": {"kind": "none"}, "components": [
            {"name": "gear", "life": fixed(1000.0), "repair": {"work": fixed(10.0)}},
            {"name": "filter", "life": fixed(1.0e7), "repair": {"work": fixed(10.0)}}]},
        "crews": {"count": 1, "shifts": [[0, 24]], "travel_h": 0.0},
        "policy": {"kind": "corrective",
                   "replacement": {"kind": "block", "interval_h": 2000.0, "components": ["filter"],
                                   "work": fixed(5.0)}},
    })


def test_our_work_orders_are_split_into_repairs_and_maintenance():
    result = run_replica(_clockwork(), seed=0)
    # gear failures at k·1000 + (k-1)·10 h up to 8,760 h: k = 1..8; filter blocks at 2,000, 4,000, 6,000, 8,000 h
    gear_failures = max(k for k in range(1, 20) if k * 1000 + (k - 1) * 10 <= HOURS_PER_YEAR)
    assert gear_failures == 8
    assert wombat_bench.our_work_orders(result) == {"repairs": 8, "maintenance": 4}
    assert result.kpis["work_orders"] == 12


def _tiny_dinwoodie(library, tmp_path, turbines: int):
    """A library that is the Dinwoodie one but for its layout: the substation and the first `turbines` turbines."""
    tiny = tmp_path / "dinwoodie_tiny"
    (tiny / "project" / "plant").mkdir(parents=True)
    (tiny / "results").mkdir()
    for sub in ("turbines", "vessels", "cables", "substations", "weather"):
        os.symlink(library / sub, tiny / sub)
    for sub in ("config", "port"):
        os.symlink(library / "project" / sub, tiny / "project" / sub)
    rows = (library / "project" / "plant" / "layout.csv").read_text(encoding="utf-8-sig").splitlines()
    (tiny / "project" / "plant" / "tiny.csv").write_text("\n".join(rows[:2 + turbines]) + "\n")
    return tiny


def test_wombat_requests_are_counted_once_each(tmp_path):
    version = wombat_bench.wombat_version()
    if version is None:
        pytest.skip("WOMBAT is not installed (the wombat extra, installed by make bench)")
    library = wombat_bench.find_dinwoodie()
    if library is None:
        pytest.skip("this WOMBAT has no Dinwoodie library")
    from wombat import Simulation
    from wombat.core.library import load_yaml

    config = load_yaml(library / "project" / "config", wombat_bench.CASE)
    config.update(layout="tiny.csv", project_capacity=3, end_year=config["start_year"])  # one 3 MW turbine, a year
    sim = Simulation(_tiny_dinwoodie(library, tmp_path, 1), config, random_seed=7)
    sim.run()
    events = sim.metrics.events
    # its logs stay in tmp_path: cleanup_log_files would shut logging down for this whole test process
    counts = wombat_bench.wombat_requests(events)
    # independently: WOMBAT names each request RPR... (repair) or MNT... (maintenance), on every event it logs
    ids = set(events["request_id"])
    assert counts == {"repairs": sum(i.startswith("RPR") for i in ids),
                      "maintenance": sum(i.startswith("MNT") for i in ids)}
    # a Poisson count of mean ~10.9 a turbine-year: a slip that counts every logged event would be far off
    mean = sum(1.0 / scale for scale, _ in DINWOODIE_TURBINE.values())
    assert abs(counts["repairs"] - mean) < 5 * math.sqrt(mean)
    assert counts["maintenance"] <= 1
