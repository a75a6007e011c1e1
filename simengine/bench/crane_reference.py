"""Benchmark 2: the crane-fleet reference replica on one core.

100 cranes with 120 sensors each (12,000 sensors at 1 Hz, feature level),
10 simulated years at hourly physics sync: 87,600 intervals, 8.8·10^6
asset-intervals of physics and 1.05·10^9 sensor-hours (3.8·10^12 raw
samples) that are never generated. Runs in a child process pinned to one CPU
with single-threaded XLA; reports the first (cold: JIT compile included) and
the median of the following (warm) replicas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from simengine.bench.harness import BenchResult
from simengine.units import HOURS_PER_YEAR

SINGLE_THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}


def reference_scenario(count: int = 100, years: float = 10.0):
    from simengine.api import load_scenario

    return load_scenario("crane_fleet", {"fleet.count": count, "horizon_years": years, "sync_interval_h": 1.0})


def _child(repeats: int, count: int, years: float) -> None:
    """Runs inside the pinned process; prints one JSON line."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from simengine.engine.simulation import Replica

    scenario = reference_scenario(count, years)
    runs = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        rep = Replica(scenario, seed=0, replica=i)
        result = rep.run()
        wall = time.perf_counter() - t0
        runs.append({"wall_s": wall, "simpy_events": next(rep.env._eid), "physics_calls": rep.physics.calls,
                     "sensors": rep.physics.sensors.n_sensors, "failures": result.kpis["failures"],
                     "alarms": result.kpis["alarms"], "sensor_volume_saved": result.kpis["sensor_volume_saved"]})
    print(json.dumps(runs))


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    count, years = (20, 2.0) if quick else (100, 10.0)
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    cmd = [sys.executable, "-m", "simengine.bench.crane_reference", str(repeats), str(count), str(years)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the pinned benchmark process failed:\n{proc.stderr[-3000:]}")
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    cold, warm = runs[0], runs[1:]
    walls = sorted(r["wall_s"] for r in warm)
    median = walls[len(walls) // 2] if len(walls) % 2 else 0.5 * (walls[len(walls) // 2 - 1] + walls[len(walls) // 2])
    events = sorted(r["simpy_events"] for r in warm)[len(warm) // 2]
    sensor_hours = cold["sensors"] * years * HOURS_PER_YEAR
    return BenchResult(
        name="crane_reference", goal="<= 5 s on one core",
        figures={
            "cranes": float(count), "sensors": float(cold["sensors"]), "simulated_years": years,
            "wall_cold_s (incl. JIT compile)": cold["wall_s"], "wall_warm_median_s": median,
            "simpy_events_per_replica": float(events), "events_per_s (warm)": events / median,
            "physics_calls_per_replica": float(cold["physics_calls"]),
            "asset_intervals_per_s (warm)": count * years * HOURS_PER_YEAR / median,
            "sensor_hours_per_s (warm)": sensor_hours / median,
            "failures (replica 0)": cold["failures"], "alarms (replica 0)": cold["alarms"],
            "sensor_volume_saved": cold["sensor_volume_saved"],
        },
        timings_s={"warm": [r["wall_s"] for r in warm], "cold": [cold["wall_s"]]},
        notes="child process pinned to one CPU, single-threaded XLA; replicas 1..N are warm",
    )


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
