"""Dask benchmarks: scaling from 1 to 2 workers, Dask's overhead per replica against the process pool,
and what a kill -9 and resume cost against an uninterrupted run.

All on the crane fleet (24 cranes) over a short horizon, so that a replica
takes a second or more, as the research runs' replicas do. Pools are started
and warmed (imports, JIT caches) before timing; timings alternate between the
two sides of each ratio (a, b, a, b, ...), and the ratios are of medians.
Clusters are LocalClusters on 127.0.0.1 of one-thread worker processes.

Scaling needs two idle cores: the figure reports the 1-minute load average
seen while it ran, since other work on the machine takes the second core.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simengine.bench.harness import BenchResult, alternate

SCENARIO: dict = {}  # the crane fleet as shipped, 24 cranes over 10 years: about 1 s a replica on one core
QUICK_SCENARIO = {"horizon_years": 0.25}
REPLICAS, QUICK_REPLICAS = 8, 4
RESUME_ARGS = ["fleet.count=4", "horizon_years=1", "replicas=16", "chunk=1", "executor=processes", "workers=2",
               "plots=false", "progress=false"]
QUICK_RESUME_ARGS = ["fleet.count=2", "horizon_years=0.5", "replicas=8", "chunk=1", "executor=processes",
                     "workers=2", "plots=false", "progress=false"]


def _batch(scenario, pool, replicas: int):
    from simengine.batch.stream import run_streamed

    return lambda: run_streamed(scenario, replicas=replicas, seed=0, pool=pool, keep=0, chunk=1)


def scaling_and_overhead(repeats: int, quick: bool) -> tuple[dict, dict]:
    """Wall times of one batch on Dask with 1 and 2 workers and on a 2-process pool, alternated."""
    from simengine.api import load_scenario
    from simengine.batch.pools import DaskPool, ProcessPool, SerialPool

    scenario = load_scenario("crane_fleet", QUICK_SCENARIO if quick else SCENARIO)
    replicas = QUICK_REPLICAS if quick else REPLICAS
    serial = SerialPool()
    _batch(scenario, serial, 1)()  # JIT caches in this process
    one_replica_s = min(alternate({"serial": _batch(scenario, serial, 1)}, 2)[0]["serial"])
    pools = {"dask_1_worker": DaskPool(workers=1), "dask_2_workers": DaskPool(workers=2), "processes_2": ProcessPool(2)}
    loads = []
    try:
        runs = {label: _batch(scenario, pool, replicas) for label, pool in pools.items()}
        for run in runs.values():  # warm: every worker imports and compiles
            run()
        loads.append(os.getloadavg()[0])
        timings, _ = alternate(runs, repeats)
        loads.append(os.getloadavg()[0])
    finally:
        for pool in pools.values():
            pool.close()
    med = {k: sorted(v)[len(v) // 2] for k, v in timings.items()}
    figures = {
        "speedup_2_over_1_dask_workers": med["dask_1_worker"] / med["dask_2_workers"],
        "dask_overhead_per_replica_vs_processes": med["dask_2_workers"] / med["processes_2"] - 1.0,
        "dask_overhead_per_replica_s": (med["dask_2_workers"] - med["processes_2"]) / replicas * 2,
        "replica_wall_s_serial": one_replica_s,
        "replicas_per_batch": replicas,
        "load_avg_1min_before_after": f"{loads[0]:.2f} / {loads[1]:.2f}",
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    return figures, timings


def _pieces(out_dir: Path) -> int:
    return len(list(out_dir.glob(".*.partial-*/pieces/replicas-*.h5")))


def _command(args: list[str], out_dir: Path) -> list[str]:
    return [sys.executable, "-m", "simengine", "run", *args, f"out_dir={out_dir}"]


def uninterrupted(args: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="simengine-resume-bench-") as tmp:
        start = time.perf_counter()
        subprocess.run(_command(args, Path(tmp)), check=True, capture_output=True)
        return time.perf_counter() - start


def killed_and_resumed(args: list[str], replicas: int) -> float:
    """Wall time of a run killed with SIGKILL once half its replicas are on disk, plus its resume."""
    with tempfile.TemporaryDirectory(prefix="simengine-resume-bench-") as tmp:
        out_dir = Path(tmp)
        start = time.perf_counter()
        proc = subprocess.Popen(_command(args, out_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while _pieces(out_dir) < replicas // 2 and proc.poll() is None:
            time.sleep(0.02)
        if proc.poll() is not None:
            raise RuntimeError("the run ended before it was killed; make it longer")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        subprocess.run(_command(args, out_dir), check=True, capture_output=True)  # the same command resumes it
        wall = time.perf_counter() - start
        if not list(out_dir.glob("crane_fleet-*/run.h5")):
            raise RuntimeError("the resumed run published no run.h5")
        return wall


def resume_cost(repeats: int, quick: bool) -> tuple[dict, dict]:
    args = QUICK_RESUME_ARGS if quick else RESUME_ARGS
    replicas = int(next(a for a in args if a.startswith("replicas=")).split("=")[1])
    timings, _ = alternate({"uninterrupted": lambda: uninterrupted(args),
                            "killed_at_half_and_resumed": lambda: killed_and_resumed(args, replicas)}, repeats)
    med = {k: sorted(v)[len(v) // 2] for k, v in timings.items()}
    return {"resume_total_over_uninterrupted": med["killed_at_half_and_resumed"] / med["uninterrupted"],
            "resume_extra_s": med["killed_at_half_and_resumed"] - med["uninterrupted"],
            "resume_run": " ".join(args)}, timings


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    repeats = min(repeats, 2) if quick else max(3, repeats)
    figures, timings = scaling_and_overhead(repeats, quick)
    more, resume_timings = resume_cost(max(1, repeats - 2) if not quick else 1, quick)
    figures.update(more)
    timings.update(resume_timings)
    return BenchResult(
        name="dask", goal="speedup 1->2 workers >= 1.8; Dask overhead <= 5 % per >= 1 s replica; resume ~ 1x",
        figures=figures, timings_s=timings,
        notes=f"crane_fleet {QUICK_SCENARIO if quick else SCENARIO}, chunk=1, medians of {repeats}; resume: "
              "simengine run in a subprocess, SIGKILL once half the pieces are on disk, the same command again; "
              "2 cores on this machine: other work there takes from the 2-worker figures")
