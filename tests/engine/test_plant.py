"""A plant of asset groups: supply dependencies, per-group and plant KPIs, bad graphs.

The independent references: a one-fleet run of the same cranes with the same
streams (the plant's first group draws as a one-fleet scenario does), and the
substation's own outage log, from which the fed assets' lost hours follow by
hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, build
from simengine.engine.kpis import GROUP_KPIS, KPIS, kpi_catalogue
from simengine.engine.simulation import run_replica
from simengine.units import HOURS_PER_YEAR

CRANES = {"kind": "sts_crane", "count": 2, "duty": {"kind": "lifts"},
          "physics_failures": [{"name": "weld", "quantity": "crack_m", "limit": 0.02}]}
# fails at 2000 h exactly, repaired 1000 h of work after the crew's 0.5 h travel; the next life ends past the horizon
SUBSTATION = {"kind": "substation", "count": 1, "capacity": 0, "duty": {"kind": "none"},
              "components": [{"name": "transformer", "life": {"kind": "fixed", "mean": 2000},
                              "repair": {"work": {"kind": "fixed", "mean": 1000}}}]}
COMMON = {"horizon_years": 0.5, "policy": {"kind": "corrective"},
          "outputs": {"record_assets": 2, "record_interval_h": 1.0}, "costs": {"downtime_eur_per_h": 10.0}}


def plant(**extra) -> ScenarioConfig:
    data = {"name": "mini_port", **COMMON, "groups": {"cranes": CRANES, "substation": SUBSTATION},
            "dependencies": [{"upstream": "substation", "downstream": "cranes"}]}
    return build(ScenarioConfig, {**data, **extra})


def outage(result, asset: int) -> tuple[float, float]:
    ev = result.events
    down = ev["time_h"][(ev["asset"] == asset) & (ev["kind"] == "breakdown")]
    up = ev["time_h"][(ev["asset"] == asset) & (ev["kind"] == "breakdown_fixed")]
    assert down.size == up.size == 1
    return float(down[0]), float(up[0])


def test_starved_assets_hold_their_state_and_resume_where_they_stopped():
    fed = run_replica(plant(), seed=4)
    alone = run_replica(build(ScenarioConfig, {"name": "cranes", **COMMON, "fleet": CRANES}), seed=4)
    t_down, t_up = outage(fed, asset=2)  # the substation is asset 2: cranes 0-1 come first
    assert (t_down, t_up) == (2000.0, 3000.5)
    t = fed.series_time_h
    np.testing.assert_array_equal(t, alone.series_time_h)
    damage, reference = fed.series["miner_damage"], alone.series["miner_damage"]
    before, during, after = t <= t_down, (t > t_down) & (t <= np.ceil(t_up)), t >= np.ceil(t_up)
    np.testing.assert_allclose(damage[before], reference[before], rtol=1e-12)
    # no load while the supply is out: the damage stands still ...
    assert np.ptp(damage[during], axis=0).max() == 0.0
    assert (reference[during][-1] > reference[during][0]).all()
    # ... and grows afterwards exactly as the unfed cranes' did, less the increment they missed
    missed = reference[t == np.ceil(t_up)] - reference[t == t_down]
    np.testing.assert_allclose(damage[after], reference[after] - missed, rtol=1e-9)


def test_lost_hours_and_plant_kpis_follow_from_the_outage_log():
    result = run_replica(plant(), seed=4)
    k = result.kpis
    t_down, t_up = outage(result, asset=2)
    horizon = 0.5 * HOURS_PER_YEAR
    assert k["substation.downtime_h"] == pytest.approx(t_up - t_down, rel=1e-12)
    assert k["cranes.downtime_h"] == 0.0  # the cranes never failed ...
    assert k["cranes.availability"] == 1.0
    assert k["cranes.lost_h"] == pytest.approx(2 * (t_up - t_down), rel=1e-12)  # ... but produced nothing meanwhile
    assert k["cranes.producing"] == pytest.approx(1 - (t_up - t_down) / horizon, rel=1e-12)
    # the substation has no capacity: plant availability is the cranes' time producing
    assert k["availability"] == pytest.approx(k["cranes.producing"], rel=1e-12)
    assert k["downtime_h"] == pytest.approx(k["substation.downtime_h"] + k["cranes.downtime_h"])
    assert k["downtime_cost_eur"] == pytest.approx(10.0 * (k["cranes.lost_h"] + k["substation.lost_h"]))
    assert k["failures"] == k["substation.failures"] + k["cranes.failures"] == 1
    assert list(k) == list(kpi_catalogue(plant())) == [*KPIS, *(f"{g}.{n}" for g in ("cranes", "substation")
                                                              for n in GROUP_KPIS)]
    kinds = result.events["kind"][result.events["asset"] < 2]
    assert list(kinds).count("supply_lost") == list(kinds).count("supply_back") == 2
    # the plant's availability series: the cranes' producing fraction, 0 while the supply is out
    series, t = result.series["available_fraction"][:, 0], result.series_time_h
    assert (series[(t > t_down + 1) & (t < t_up)] == 0.0).all() and series[t < t_down].min() == 1.0
    assert result.series["cranes.available_fraction"].min() == 1.0


def test_a_string_of_blocks_feeds_its_own_turbines_only():
    groups = {"turbines": {**CRANES, "count": 4, "physics_failures": []},
              "strings": {**SUBSTATION, "count": 2}}
    sc = build(ScenarioConfig, {"name": "strings", **COMMON, "groups": groups,
                                "dependencies": [{"upstream": "strings", "downstream": "turbines",
                                                  "mapping": "blocks"}]})
    ev = run_replica(sc, seed=1).events
    lost = ev[ev["kind"] == "supply_lost"]
    # both strings fail at 2000 h; string k (assets 4, 5) feeds turbines 2k and 2k + 1
    assert sorted(lost["asset"].tolist()) == [0, 1, 2, 3]
    assert run_replica(sc, seed=1).kpis["turbines.lost_h"] == pytest.approx(4 * 1000.5, rel=1e-12)


def test_a_chain_starves_everything_below_an_outage():
    groups = {"cranes": {**CRANES, "physics_failures": []},
              "feeder": {**SUBSTATION, "components": []},
              "substation": SUBSTATION}
    sc = build(ScenarioConfig, {"name": "chain", **COMMON, "groups": groups,
                                "dependencies": [{"upstream": "substation", "downstream": "feeder"},
                                                 {"upstream": "feeder", "downstream": "cranes"}]})
    k = run_replica(sc, seed=2).kpis
    assert k["feeder.downtime_h"] == 0.0 and k["feeder.lost_h"] == pytest.approx(1000.5)
    assert k["cranes.lost_h"] == pytest.approx(2 * 1000.5)


def test_same_seed_same_plant_whatever_the_executor(tmp_path):
    import simengine

    sc = plant()
    serial = simengine.run(sc, replicas=3, seed=9, executor="serial")
    pooled = simengine.run(sc, replicas=3, seed=9, executor="processes", workers=2, out_dir=tmp_path)
    for name in kpi_catalogue(sc):
        np.testing.assert_array_equal(serial.kpis[name], pooled.kpis[name], err_msg=name)
    from simengine.results import read_run

    stored = read_run(pooled.path)
    np.testing.assert_array_equal(stored.kpis["cranes.lost_h"], serial.kpis["cranes.lost_h"])
    assert stored.kpi_units["cranes.lost_h"] == "h"


@pytest.mark.parametrize("change, field, words", [
    ({"dependencies": [{"upstream": "substation", "downstream": "crane"}]}, "dependencies[0].downstream",
     "unknown asset group 'crane'; known: cranes, substation"),
    ({"dependencies": [{"upstream": "substation", "downstream": "cranes[2]"}]}, "dependencies[0].downstream",
     "index 2 outside group cranes of 2 assets (0..1)"),
    ({"dependencies": [{"upstream": "substation", "downstream": "cranes"},
                       {"upstream": "cranes[1]", "downstream": "substation"}]}, "dependencies",
     "cycle"),
    ({"groups": {"cranes": CRANES, "substation": {**SUBSTATION, "sensors": [{"name": "t", "observes": "temperature_C"}]}}},
     "groups.substation.duty.kind", "sensors need a duty to load the physics (asset kind none has none"),
    ({"groups": {"cranes": {**CRANES, "capacity": 0}, "substation": SUBSTATION}}, "groups",
     "at least one group needs capacity > 0"),
    ({"fleet": CRANES}, "fleet.kind", "a scenario has either fleet or groups, not both; set a group's instead, e.g. groups.cranes.kind"),
])
def test_a_bad_plant_gets_one_message_naming_the_field(change, field, words):
    with pytest.raises(ConfigError) as err:
        plant(**change)
    problems = [p for p in err.value.problems if p.field == field]
    assert problems and words in problems[0].rule, err.value


def test_a_cycle_is_named_asset_by_asset():
    with pytest.raises(ConfigError) as err:
        plant(dependencies=[{"upstream": "substation", "downstream": "cranes"},
                            {"upstream": "cranes[1]", "downstream": "substation"}])
    assert err.value.problems[0].value == "substation[0] -> cranes[1] -> substation[0]"


def test_the_run_file_holds_the_plant_graph(tmp_path):
    import simengine
    from simengine.plant.graph import plant_graph
    from simengine.plant.store import read_graph

    run = simengine.run(plant(), replicas=1, seed=1, out_dir=tmp_path, plots=False)
    assert read_graph(run.path) == plant_graph(plant())
    assert read_graph(run.path).edges == ((2, 0), (2, 1))


def test_simengine_run_prints_the_plant_then_a_row_per_group(tmp_path, capsys):
    from simengine.cli import main

    code = main(["run", "scenario=port", "horizon_years=0.25", "replicas=2", "plots=false", f"out_dir={tmp_path}"])
    out = capsys.readouterr().out
    assert code == 0, out
    plant_table, group_table = out.split("by group")
    assert "availability" in plant_table and "quay_cranes." not in plant_table
    rows = {line.split()[0]: line for line in group_table.splitlines()[3:] if line.strip()
            and not line.startswith("results")}
    assert set(rows) == {"quay_cranes", "yard_cranes", "substation", "feeders"}


def test_the_group_table_rounds_the_mean_to_its_interval():
    from simengine.plant.report import format_groups, split_summary

    stats = {"mean": 0.99751, "ci95_low": 0.99699, "ci95_high": 0.99803}
    plant, groups = split_summary({"availability": stats, "yard.availability": stats, "yard.lost_h":
                                   {"mean": 1572.4, "ci95_low": 1242.0, "ci95_high": 1902.0}}, ["yard"])
    assert list(plant) == ["availability"]
    row = format_groups(groups).splitlines()[2]
    assert "0.99751 ±0.00052" in row and "1570 ±330" in row


def test_a_contractor_repairs_without_holding_a_crew():
    contracted = {**SUBSTATION, "components": [{**SUBSTATION["components"][0],
                                                "repair": {"work": {"kind": "fixed", "mean": 1000}, "by": "contractor",
                                                           "cost_eur": 5000.0}}]}
    crewed = run_replica(plant(), seed=4)
    result = run_replica(plant(groups={"cranes": CRANES, "substation": contracted}), seed=4)
    assert outage(crewed, asset=2) == (2000.0, 3000.5)  # a crew travels 0.5 h, then works
    assert outage(result, asset=2) == (2000.0, 3000.0)  # a contractor's mobilisation is in its work
    assert crewed.kpis["crew_utilisation"] > 0 and crewed.kpis["work_orders"] == 1
    assert result.kpis["crew_utilisation"] == 0.0 and result.kpis["work_orders"] == 0
    assert result.kpis["substation.maintenance_cost_eur"] == 5000.0
    assert result.kpis["cranes.lost_h"] == 2 * 1000.0



def _down_intervals(result, asset: int) -> list[tuple[float, float]]:
    ev = result.events[result.events["asset"] == asset]
    starts = ev["time_h"][ev["kind"] == "breakdown"]
    ends = ev["time_h"][ev["kind"] == "breakdown_fixed"]
    return list(zip(starts, np.append(ends, np.inf)[:len(starts)]))


def _covered_h(intervals, horizon, at_least: int) -> float:
    """Hours of [0, horizon] inside at least `at_least` of the intervals (a sweep over their ends)."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(min(b, horizon), -1) for _, b in intervals])
    total, depth, last = 0.0, 0, 0.0
    for t, step in edges:
        if depth >= at_least:
            total += t - last
        depth, last = depth + step, t
    return total


@pytest.mark.parametrize("need, at_least", [(1, 2), (2, 1), (None, 1)])
def test_k_of_n_feeders_starve_only_while_too_few_produce(need, at_least):
    """Two transformers feed the cranes; with need 1 the cranes stop only while both are out (the outage
    logs' intersection), with need 2 or by default while either is (their union)."""
    transformers = {**SUBSTATION, "count": 2, "components": [
        {"name": "winding", "life": {"kind": "exponential", "mean": 900}, "repair": {"work": {"kind": "fixed", "mean": 300}}}]}
    dependency = {"upstream": "transformers", "downstream": "cranes", **({} if need is None else {"need": need})}
    sc = plant(groups={"cranes": {**CRANES, "physics_failures": []}, "transformers": transformers},
               dependencies=[dependency], crews={"count": 2})
    result = run_replica(sc, seed=5)
    horizon = 0.5 * HOURS_PER_YEAR
    outages = _down_intervals(result, 2) + _down_intervals(result, 3)
    both, either = _covered_h(outages, horizon, 2), _covered_h(outages, horizon, 1)
    assert 0 < both < either  # the seed gives overlapping and lone outages: the two rules differ
    expected = both if at_least == 2 else either
    assert result.kpis["cranes.lost_h"] == pytest.approx(2 * expected, rel=1e-9)


def test_a_need_beyond_the_feeders_is_refused():
    with pytest.raises(ConfigError) as err:
        plant(dependencies=[{"upstream": "substation", "downstream": "cranes", "need": 2}])
    (problem,) = err.value.problems
    assert problem.field == "dependencies[0].need" and "only 1 upstream asset in this dependency" in problem.rule
