"""The two plant scenarios of conf/scenario/: port and wind_farm_grid.

What they are (their graphs, and that they grow the one-fleet scenarios they
start from), that they run and report every group, and two checks against
independent calculations: the plant's availability is the capacity-weighted
mean of its groups' time producing, and the turbines below a chain of
independent suppliers (export cable, substation, string) produce for the
product of the suppliers' availabilities MTBF / (MTBF + MTTR), within a
Monte Carlo confidence interval, with the turbines' lost hours equal, replica
by replica, to the union of their suppliers' outages read from the event log.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from simengine.cli import build_parts, compose, compose_config
from simengine.config.run import RUN_KEYS, RunSettings
from simengine.config.scenario import FleetConfig, ScenarioConfig
from simengine.engine.kpis import GROUP_KPIS, kpi_catalogue, out_of_range
from simengine.engine.simulation import run_replica
from simengine.plant.graph import plant_graph
from simengine.units import HOURS_PER_YEAR


def scenario(name: str, *overrides: str) -> ScenarioConfig:
    return compose_config([f"scenario={name}", *overrides])[0]


def fed_by(graph, upstream: str) -> dict[str, list[str]]:
    """Each asset of group `upstream` -> the names of the assets it feeds."""
    g = next(g for g in graph.groups if g.name == upstream)
    feeds = graph.feeds()
    return {graph.asset_name(u): [graph.asset_name(d) for d in feeds.get(u, [])] for u in g.assets}


def names(group: str, indices) -> list[str]:
    return [f"{group}[{i}]" for i in indices]


def who_repairs(sc: ScenarioConfig) -> dict[str, str]:
    """'group.component' -> who repairs it (`RepairConfig.by`), for the groups that enable the producers."""
    return {f"{g}.{c.name}": c.repair.by for g, cfg in sc.groups.items() if cfg.capacity == 0
            for c in cfg.components}


def test_the_port_feeds_half_the_quay_and_half_the_yard_from_each_feeder():
    sc = scenario("port")
    graph = plant_graph(sc)
    assert [(g.name, g.count, g.capacity) for g in graph.groups] == [
        ("quay_cranes", 24, 30.0), ("yard_cranes", 72, 20.0), ("substation", 1, 0.0), ("feeders", 4, 0.0)]
    assert fed_by(graph, "substation") == {"substation[0]": names("feeders", range(4))}
    assert fed_by(graph, "feeders") == {
        "feeders[0]": names("quay_cranes", range(12)), "feeders[1]": names("quay_cranes", range(12, 24)),
        "feeders[2]": names("yard_cranes", range(36)), "feeders[3]": names("yard_cranes", range(36, 72))}
    assert sc.spares["spare_transformer"].initial == 1
    assert sc.groups["substation"].components[0].repair.part == "spare_transformer"
    # specialists swap the transformer and joint the cables; the port's crews do the switchgear
    assert who_repairs(sc) == {"substation.transformer": "contractor", "substation.hv_switchgear": "crew",
                               "feeders.mv_cable": "contractor"}


def test_the_wind_farm_grid_chains_export_cable_substation_strings_and_turbines():
    sc = scenario("wind_farm_grid")
    graph = plant_graph(sc)
    assert [(g.name, g.count) for g in graph.groups] == [
        ("turbines", 40), ("strings", 5), ("substation", 1), ("export_cable", 1)]
    assert fed_by(graph, "export_cable") == {"export_cable[0]": ["substation[0]"]}
    assert fed_by(graph, "substation") == {"substation[0]": names("strings", range(5))}
    assert fed_by(graph, "strings") == {f"strings[{k}]": names("turbines", range(8 * k, 8 * k + 8))
                                        for k in range(5)}
    # 120 MW: capacity is MW per turbine, the duty's rated power
    assert sum(g.count * g.capacity for g in graph.groups) == 120.0
    assert sc.groups["turbines"].capacity * 1e6 == sc.groups["turbines"].duty.settings.rated_power_W
    assert sc.crews.max_wave_height_m == 1.5
    # cable vessels and a heavy-lift vessel for the cables and the transformer; the farm's crews for the rest
    assert who_repairs(sc) == {"strings.array_cable": "contractor", "substation.transformer": "contractor",
                               "substation.switchgear": "crew", "substation.minor_fault": "crew",
                               "export_cable.export_cable": "contractor"}


@pytest.mark.parametrize("plant, group, one_fleet", [("port", "quay_cranes", "crane_fleet"),
                                                     ("wind_farm_grid", "turbines", "wind_farm")])
def test_a_plant_grows_its_one_fleet_scenario_without_changing_it(plant, group, one_fleet):
    grown, alone = scenario(plant), scenario(one_fleet)
    for field in dataclasses.fields(FleetConfig):
        assert getattr(grown.groups[group], field.name) == getattr(alone.fleet, field.name), field.name
    assert grown.groups[group].downtime_eur_per_h == alone.costs.downtime_eur_per_h
    assert grown.policy == alone.policy
    assert set(alone.spares) <= set(grown.spares)  # the port stocks more weld kits: the yard cranes share them


@pytest.fixture(scope="module")
def small_port():
    """The port, six cranes on its four feeders, switchgear and feeder cables that fail every few weeks; two months."""
    sc = scenario("port", "groups.quay_cranes.count=2", "groups.yard_cranes.count=4", "horizon_years=0.15",
                  "groups.substation.components.1.life.mean=300", "groups.feeders.components.0.life.mean=300")
    return sc, run_replica(sc, seed=3)


def test_the_port_reports_every_group_and_weighs_the_plant_by_capacity(small_port):
    sc, result = small_port
    k = result.kpis
    assert list(k) == list(kpi_catalogue(sc))
    assert not out_of_range(k, kpi_catalogue(sc))
    assert {f"{g}.{n}" for g in sc.groups for n in GROUP_KPIS} <= set(k)
    assert k["substation.failures"] > 0 and k["feeders.failures"] > 0  # outages to weigh
    # plant availability: asset time producing weighted by capacity (moves/h), by hand from the groups
    weights = {g: cfg.count * cfg.capacity for g, cfg in sc.groups.items()}
    by_hand = sum(w * k[f"{g}.producing"] for g, w in weights.items()) / sum(weights.values())
    assert k["availability"] == pytest.approx(by_hand, rel=1e-12)
    assert k["quay_cranes.producing"] != pytest.approx(k["yard_cranes.producing"], rel=1e-6)
    # a starved crane loses production but is not down; lost hours come from the groups' own downtime plus
    # the outages above them, never less than their downtime
    horizon = sc.horizon_years * HOURS_PER_YEAR
    for g, cfg in sc.groups.items():
        assert k[f"{g}.lost_h"] >= k[f"{g}.downtime_h"] - 1e-9
        assert k[f"{g}.producing"] == pytest.approx(1 - k[f"{g}.lost_h"] / (cfg.count * horizon), rel=1e-12)
    assert k["substation.lost_h"] == pytest.approx(k["substation.downtime_h"], rel=1e-12)  # nothing feeds it
    assert k["quay_cranes.lost_h"] > k["quay_cranes.downtime_h"]


# -- the turbines below a chain of independent suppliers ----------------------------------------------------

# MTBF and MTTR (h) of each supplier's one component: exponential lives and repairs, crews on hand round the
# clock with no travel, so each supplier alternates up and down independently of the others (a component's
# life runs in calendar time, starved or not)
SUPPLIERS = {"export_cable": (400.0, 40.0), "substation": (300.0, 30.0), "strings": (200.0, 50.0)}
HORIZON_H = 50000.0
REPLICAS = 64


def chain_scenario() -> ScenarioConfig:
    """wind_farm_grid with two strings of two turbines that never fail, and fast-failing suppliers."""
    plain = compose("config", ["scenario=wind_farm_grid"], "scenario")
    groups = plain["groups"]
    groups["turbines"] = {"kind": "wind_turbine_stub", "count": 4, "capacity": 3.0, "duty": {"kind": "none"}}
    groups["strings"]["count"] = 2
    for name, (mtbf, mttr) in SUPPLIERS.items():
        groups[name]["components"] = [{"name": "outage", "life": {"kind": "exponential", "mean": mtbf},
                                       "repair": {"work": {"kind": "exponential", "mean": mttr}}}]
    plain.update(horizon_years=HORIZON_H / HOURS_PER_YEAR, policy={"kind": "corrective"}, spares={},
                 crews={"count": 8, "shifts": [[0, 24]], "travel_h": 0.0})
    return build_parts(plain, RUN_KEYS, RunSettings, ScenarioConfig)[0]


def expected_time_up(rates: list[tuple[float, float]], horizon_h: float) -> float:
    """E[(1/T) ∫ Π_i up_i(t) dt] for independent two-state Markov components, all up at t = 0:
    P(up_i at t) = a_i + b_i e^{-s_i t} with s = λ + μ, a = μ / s, b = λ / s (λ = 1/MTBF, μ = 1/MTTR)."""
    terms = [(mu / (lam + mu), lam / (lam + mu), lam + mu) for lam, mu in ((1 / m, 1 / r) for m, r in rates)]
    total = 0.0
    for picks in itertools.product((0, 1), repeat=len(terms)):  # expand the product, integrate each term
        coefficient, decay = 1.0, 0.0
        for pick, (a, b, s) in zip(picks, terms):
            coefficient *= b if pick else a
            decay += s if pick else 0.0
        total += coefficient * (horizon_h if decay == 0 else -math.expm1(-decay * horizon_h) / decay)
    return total / horizon_h


def outages(events, asset: int, horizon_h: float) -> list[tuple[float, float]]:
    mine = events[events["asset"] == asset]
    down = mine["time_h"][mine["kind"] == "breakdown"]
    up = mine["time_h"][mine["kind"] == "breakdown_fixed"]
    up = np.append(up, [horizon_h] * (down.size - up.size))  # one still open at the horizon
    return list(zip(down.tolist(), up.tolist()))


def union_h(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


@pytest.fixture(scope="module")
def chain_runs():
    sc = chain_scenario()
    return sc, [run_replica(sc, seed=11, replica=r) for r in range(REPLICAS)]


def test_each_turbine_loses_exactly_the_union_of_its_suppliers_outages(chain_runs):
    sc, runs = chain_runs
    graph = plant_graph(sc)
    offset = {g.name: g.offset for g in graph.groups}
    for result in runs:
        ev = result.events
        above = outages(ev, offset["export_cable"], HORIZON_H) + outages(ev, offset["substation"], HORIZON_H)
        strings = [outages(ev, offset["strings"] + k, HORIZON_H) for k in range(2)]
        by_hand = sum(2 * union_h(above + s) for s in strings)  # each string feeds two turbines
        k = result.kpis
        assert k["turbines.downtime_h"] == 0.0
        assert k["turbines.lost_h"] == pytest.approx(by_hand, rel=1e-9)
        assert k["strings.lost_h"] == pytest.approx(sum(union_h(above + s) for s in strings), rel=1e-9)
        assert k["strings.downtime_h"] == pytest.approx(sum(union_h(s) for s in strings), rel=1e-9)
        assert k["availability"] == pytest.approx(k["turbines.producing"], rel=1e-12)  # the suppliers: no capacity


def test_turbines_produce_for_the_product_of_their_suppliers_availabilities(chain_runs):
    _, runs = chain_runs
    checks = {  # KPI -> the suppliers whose outages it sees
        "export_cable.availability": ["export_cable"],
        "substation.producing": ["export_cable", "substation"],
        "strings.availability": ["strings"],
        "turbines.producing": ["export_cable", "substation", "strings"],
    }
    for kpi, chain in checks.items():
        values = np.array([r.kpis[kpi] for r in runs])
        expected = expected_time_up([SUPPLIERS[s] for s in chain], HORIZON_H)
        se = values.std(ddof=1) / math.sqrt(values.size)
        assert abs(values.mean() - expected) < 4 * se, (kpi, values.mean(), expected, se)
    # the interval is narrow enough to tell the product from the neighbouring guesses: unavailabilities
    # added, or a series system that cannot fail while it is down, 1 / (1 + Σ λ r)
    turbines = np.array([r.kpis["turbines.producing"] for r in runs])
    se = turbines.std(ddof=1) / math.sqrt(turbines.size)
    product = expected_time_up(list(SUPPLIERS.values()), HORIZON_H)
    added = 1 - sum(1 - expected_time_up([m], HORIZON_H) for m in SUPPLIERS.values())
    suspended = 1 / (1 + sum(r / m for m, r in SUPPLIERS.values()))
    assert min(abs(product - added), abs(product - suspended)) > 6 * se


def test_the_wind_farm_grid_runs_with_its_weather_and_reports_every_group():
    sc = scenario("wind_farm_grid", "groups.turbines.count=4", "groups.strings.count=2", "horizon_years=0.05")
    k = run_replica(sc, seed=5).kpis
    assert list(k) == list(kpi_catalogue(sc))
    assert not out_of_range(k, kpi_catalogue(sc))
    assert k["turbines.producing"] <= k["turbines.availability"]
    assert k["availability"] == pytest.approx(k["turbines.producing"], rel=1e-12)  # only the turbines have MW


# -- a cable repair is a contractor's: it holds none of the farm's crews ------------------------------------

CONVERTER_H = 5.0  # a turbine repair, hands-on hours
CABLE_FAILS_H = 50.0


def one_crew_scenario(*, cable_by: str | None = None) -> ScenarioConfig:
    """wind_farm_grid with two strings of two turbines whose converters fail every few days, one crew on hand
    round the clock, and the farm's own array-cable repair (contractor's, ~107 days) on cables that both fail
    at 50 h; `cable_by` overrides who does that repair."""
    plain = compose("config", ["scenario=wind_farm_grid"], "scenario")
    groups = plain["groups"]
    groups["turbines"] = {"kind": "wind_turbine_stub", "count": 4, "capacity": 3.0, "duty": {"kind": "none"},
                          "components": [{"name": "converter", "life": {"kind": "exponential", "mean": 100.0},
                                          "repair": {"work": {"kind": "fixed", "mean": CONVERTER_H}}}]}
    groups["strings"]["count"] = 2
    cable = groups["strings"]["components"][0]
    cable["life"] = {"kind": "fixed", "mean": CABLE_FAILS_H}
    if cable_by is not None:
        cable["repair"]["by"] = cable_by
    for supplier in ("substation", "export_cable"):
        groups[supplier]["components"] = []
    plain.update(horizon_years=1000.0 / HOURS_PER_YEAR, policy={"kind": "corrective"}, spares={},
                 crews={"count": 1, "shifts": [[0, 24]], "travel_h": 0.0})
    return build_parts(plain, RUN_KEYS, RunSettings, ScenarioConfig)[0]


def test_a_cable_repair_holds_no_crew_and_delays_no_turbine_repair():
    sc = one_crew_scenario()
    assert sc.groups["strings"].components[0].repair.by == "contractor"  # the scenario's own repair
    horizon = sc.horizon_years * HOURS_PER_YEAR
    offset = {g.name: g.offset for g in plant_graph(sc).groups}

    def turbine_events(result, kind):
        ev = result.events
        mine = (ev["asset"] >= offset["turbines"]) & (ev["asset"] < offset["turbines"] + 4) & (ev["kind"] == kind)
        return ev["time_h"][mine]

    result = run_replica(sc, seed=2)
    ev, k = result.events, result.kpis
    strings = (ev["asset"] >= offset["strings"]) & (ev["asset"] < offset["strings"] + 2)
    assert ev["time_h"][strings & (ev["kind"] == "breakdown")].tolist() == [CABLE_FAILS_H] * 2
    broken, fixed = turbine_events(result, "breakdown"), turbine_events(result, "breakdown_fixed")
    assert broken.size > 20 and (broken > 2 * CABLE_FAILS_H).sum() > 10  # turbine failures during the cable repair
    # the one crew did the turbines' repairs and nothing else: every order is a turbine's, its hours theirs,
    # and every turbine failure was repaired unless it came too late to finish
    assert k["work_orders"] == broken.size
    assert k["crew_utilisation"] == pytest.approx(fixed.size * CONVERTER_H / horizon, rel=1e-12)
    assert fixed.size >= (broken < horizon - broken.size * CONVERTER_H).sum()
    assert k["strings.downtime_h"] > 2 * 0.5 * (horizon - CABLE_FAILS_H)  # ...while the cables were down

    # the same repair by the crew holds it for months: every turbine that fails after 50 h waits behind it
    crewed = run_replica(one_crew_scenario(cable_by="crew"), seed=2)
    assert crewed.kpis["work_orders"] == turbine_events(crewed, "breakdown").size + 2
    assert (turbine_events(crewed, "breakdown_fixed") > CABLE_FAILS_H + 10 * CONVERTER_H).sum() == 0
    assert crewed.kpis["turbines.downtime_h"] > 10 * k["turbines.downtime_h"]
