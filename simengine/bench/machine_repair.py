"""Benchmark 1: engine overhead on the classic machine-repair model.

50 machines fail after Exp(mean 100 h), 3 repair crews mend them in
Exp(mean 8 h), 10^6 simulated hours. Ours: the model configured as a
scenario and run by `run_replica` end to end (KPIs and event log included).
Reference: the same model hand-written in plain SimPy, in the idiom of SimPy's
own machine-shop example. Both are checked against the exact availability of
the finite-source queue M/M/c//N.

Ours does more than the reference: it logs two events per failure
(breakdown, breakdown_fixed) and every down interval, and turns them into the
result's event table, availability series and KPIs; the figures say how many
rows it logged. The reference keeps two running sums.
"""

from __future__ import annotations

import random

import numpy as np
import simpy

from simengine.bench.harness import BenchResult, alternate
from simengine.config import build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica
from simengine.units import HOURS_PER_YEAR


def scenario(n: int = 50, crews: int = 3, mttf_h: float = 100.0, mttr_h: float = 8.0,
             horizon_h: float = 1.0e6) -> ScenarioConfig:
    return build(ScenarioConfig, {
        "name": "machine_repair", "horizon_years": horizon_h / HOURS_PER_YEAR,
        "fleet": {"kind": "machine", "count": n, "duty": {"kind": "none"},
                  "components": [{"name": "machine", "life": {"kind": "exponential", "mean": mttf_h},
                                  "repair": {"work": {"kind": "exponential", "mean": mttr_h}}}]},
        "crews": {"count": crews, "shifts": [[0, 24]], "travel_h": 0.0},
        "policy": {"kind": "corrective"},
        "outputs": {"record_assets": 0},
    })


def plain_simpy(n: int = 50, crews: int = 3, mttf_h: float = 100.0, mttr_h: float = 8.0,
                horizon_h: float = 1.0e6, seed: int = 0) -> dict[str, float]:
    """The hand-written reference."""
    rng = random.Random(seed)
    env = simpy.Environment()
    repairmen = simpy.Resource(env, capacity=crews)
    stats = {"failures": 0, "downtime_h": 0.0}

    def machine():
        while True:
            yield env.timeout(rng.expovariate(1.0 / mttf_h))
            broke = env.now
            with repairmen.request() as req:
                yield req
                yield env.timeout(rng.expovariate(1.0 / mttr_h))
            stats["failures"] += 1
            stats["downtime_h"] += env.now - broke

    for _ in range(n):
        env.process(machine())
    env.run(until=horizon_h)
    stats["availability"] = 1.0 - stats["downtime_h"] / (n * horizon_h)
    return stats


def exact_availability(n: int, crews: int, mttf_h: float, mttr_h: float) -> float:
    """Stationary availability of the finite-source queue M/M/c//N (birth-death chain)."""
    k = np.arange(n + 1)
    fail = (n - k[:-1]) / mttf_h
    mend = np.minimum(k[1:], crews) / mttr_h
    log_p = np.concatenate([[0.0], np.cumsum(np.log(fail) - np.log(mend))])
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    return 1.0 - float(p @ k) / n


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    horizon = 1.0e5 if quick else 1.0e6
    sc = scenario(horizon_h=horizon)
    timings, last = alternate({
        "simengine": lambda: run_replica(sc, 0, 0),
        "plain_simpy": lambda: plain_simpy(horizon_h=horizon),
    }, repeats)
    ours = np.median(timings["simengine"])
    ref = np.median(timings["plain_simpy"])
    kpis = last["simengine"].kpis
    return BenchResult(
        name="engine_overhead", goal="wall-time ratio <= 1.0x plain SimPy",
        figures={
            "simulated_hours": horizon, "repeats": float(repeats),
            "simengine_median_s": float(ours), "plain_simpy_median_s": float(ref),
            "ratio_simengine_over_plain": float(ours / ref),
            "failures_simengine": kpis["failures"], "failures_plain": float(last["plain_simpy"]["failures"]),
            "event_rows_logged_simengine": float(last["simengine"].events.size),
            "availability_simengine": kpis["availability"],
            "availability_plain": last["plain_simpy"]["availability"],
            "availability_exact_MMcN": exact_availability(50, 3, 100.0, 8.0),
        },
        timings_s=timings,
    )
