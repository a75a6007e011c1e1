"""Benchmark: our wind farm against NREL WOMBAT's Dinwoodie base case, the same size of job.

WOMBAT (`pip install "simengine[wombat]"`, which `make bench` installs) is a SimPy model of wind-farm
operations and maintenance. Its shipped Dinwoodie base case
(library/code_comparison/dinwoodie/project/config/base.yaml) is 80 turbines,
a substation and 81 cables over 10 years, with about 8,500 repair and 700
maintenance requests. Ours is
`conf/scenario/wind_farm_wombat.yaml`: 80 turbines over 10 years, WOMBAT's
failure classes and annual service on top of our wind farm's physics and
sensors, so that both do about the same number of work orders.

Wall time per replica, cold and warm, each in a fresh child process:
- WOMBAT: cold is process start to the end of the first `Simulation(...).run()`
  (imports included); warm is a second run in the same process.
- ours: cold is `simengine run scenario=wind_farm_wombat replicas=1` end to end
  (imports, compilation, run.h5 written); warm is each further replica in the
  same process.
The two sides alternate (a, b, a, b, ...) and the ratios are of medians.
Each side's work orders and availability are reported beside the ratio.

The Dinwoodie library is WOMBAT's `wombat.core.library.DINWOODIE`: its wheel
installs `library/` beside the package (site-packages/library/...), and a
source checkout has it at its top. $SIMENGINE_WOMBAT_LIBRARY names another copy.

Child commands (run by `run`):
    python -m simengine.bench.wombat_bench wombat LIBRARY YEARS RUNS SEED
    python -m simengine.bench.wombat_bench ours OUT_DIR YEARS FURTHER SEED
each prints one line per run, starting with `BENCH ` and then JSON.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simengine.bench.harness import BenchResult

SCENARIO = "wind_farm_wombat"
CASE = "base.yaml"                      # WOMBAT's Dinwoodie base case
LIBRARY_IN_PACKAGE = "library/code_comparison/dinwoodie"
LIBRARY_ENV = "SIMENGINE_WOMBAT_LIBRARY"
WOMBAT_SEED = 2023                      # the seed WOMBAT's own Dinwoodie notebook uses
QUICK_YEARS = 1
MARK = "BENCH "
GOAL = "ours >= 10x faster than WOMBAT per replica, cold and warm"


# -- counting work orders ---------------------------------------------------------------------
def wombat_requests(events) -> dict[str, int]:
    """WOMBAT's repair and maintenance requests in `Metrics.events` (a pandas DataFrame).

    A request is logged again at each step of its life (submitted, dispatched,
    completed) under one request_id; it is counted once, as the action that
    submitted it.
    """
    submitted = events.loc[events["action"].isin(("repair request", "maintenance request")),
                           ["action", "request_id"]].drop_duplicates("request_id")
    counts = submitted["action"].value_counts()
    return {"repairs": int(counts.get("repair request", 0)), "maintenance": int(counts.get("maintenance request", 0))}


def our_work_orders(result) -> dict[str, int]:
    """Our replica's work orders (`work_orders` KPI), split into repairs and maintenance.

    Repairs: each component breakdown and each physics repair (after a failure,
    or of a defect an inspection found) asks for a crew as it is logged
    (`breakdown`, `repair_start`). Everything else is planned maintenance:
    inspections (the annual service) and preventive replacements.
    """
    kinds = result.events["kind"]
    repairs = int((kinds == "breakdown").sum() + (kinds == "repair_start").sum())
    # the same repairs seen from their causes: every failure, and every defect found before failure
    causes = int(result.kpis["failures"]) + int((kinds == "detection").sum())
    if repairs != causes:
        raise RuntimeError(f"replica {result.replica}: {repairs} repair work orders, "
                           f"but {causes} failures and detections")
    total = int(result.kpis["work_orders"])
    return {"repairs": repairs, "maintenance": total - repairs}


# -- finding WOMBAT and its Dinwoodie library ---------------------------------------------------
def wombat_version() -> str | None:
    """The installed WOMBAT's version, or None; without importing it (it imports pandas, polars, pyarrow)."""
    if importlib.util.find_spec("wombat") is None:
        return None
    try:
        return importlib.metadata.version("wombat")
    except importlib.metadata.PackageNotFoundError:
        return None


def _has_case(folder: Path) -> bool:
    return (folder / "project" / "config" / CASE).is_file()


def find_dinwoodie() -> Path | None:
    """The Dinwoodie library folder: $SIMENGINE_WOMBAT_LIBRARY, else wombat.core.library.DINWOODIE; None if neither
    holds the case. Found without importing wombat: DINWOODIE is <folder above the package>/library/... ."""
    candidates = [Path(os.environ[LIBRARY_ENV])] if os.environ.get(LIBRARY_ENV) else []
    spec = importlib.util.find_spec("wombat")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).resolve().parents[1] / LIBRARY_IN_PACKAGE)
    return next((c for c in candidates if _has_case(c)), None)


# -- the child processes ----------------------------------------------------------------------
def _say(**record) -> None:
    print(MARK + json.dumps(record), flush=True)


def _cpu_s() -> float:
    """CPU seconds of this process since it started, all its threads (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wombat_child(library: Path, years: int, runs: int, seed: int) -> None:
    """Run the Dinwoodie base case `runs` times in this process; one line per run."""
    from wombat import Simulation
    from wombat.core.library import load_yaml

    config = load_yaml(library / "project" / "config", CASE)
    if years:
        config["end_year"] = config["start_year"] + years - 1
    for k in range(runs):
        t0, cpu0 = time.perf_counter(), _cpu_s()
        sim = Simulation(library, dict(config), random_seed=seed + k)
        sim.run()
        run_s, done_at, cpu = time.perf_counter() - t0, time.time(), _cpu_s()
        metrics = sim.metrics
        availability = float(metrics.time_based_availability(frequency="project", by="windfarm").values[0][0])
        _say(done_at=done_at, run_s=run_s, cpu_s=cpu - cpu0, cpu_since_start_s=cpu, availability=availability,
             **wombat_requests(metrics.events))
        sim.env.cleanup_log_files()


def ours_child(out_dir: Path, years: float, further: int, seed: int) -> None:
    """`simengine run` with one replica, end to end; then `further` replicas in this process."""
    import contextlib

    from simengine.cli import main

    overrides = [f"scenario={SCENARIO}", "replicas=1", f"seed={seed}", "plots=false", "progress=false",
                 f"out_dir={out_dir}"] + ([f"horizon_years={years}"] if years else [])
    with contextlib.redirect_stdout(sys.stderr):
        code = main(["run", *overrides])
    if code != 0:
        raise SystemExit(f"simengine run {' '.join(overrides)} exited with {code}")
    _say(done_at=time.time(), cpu_since_start_s=_cpu_s())
    from simengine.api import load_scenario
    from simengine.engine.simulation import run_replica

    scenario = load_scenario(SCENARIO, {"horizon_years": years} if years else None)
    for i in range(1, further + 1):
        t0, cpu0 = time.perf_counter(), _cpu_s()
        result = run_replica(scenario, seed, i)
        _say(run_s=time.perf_counter() - t0, cpu_s=_cpu_s() - cpu0, availability=result.kpis["availability"],
             **our_work_orders(result))


def _child(args: list[str]) -> list[dict]:
    """Run a child command; its BENCH lines, each with `spawned_at` (this side's wall clock at the start)."""
    spawned_at = time.time()
    proc = subprocess.run([sys.executable, "-m", "simengine.bench.wombat_bench", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(args[:1])} failed:\n{proc.stderr[-3000:]}")
    lines = [json.loads(line[len(MARK):]) for line in proc.stdout.splitlines() if line.startswith(MARK)]
    return [dict(line, spawned_at=spawned_at) for line in lines]


def _median(values) -> float:
    return float(statistics.median(values))


def _skipped(why: str) -> BenchResult:
    print(f"wind_farm_vs_wombat: skipped: {why}", flush=True)
    return BenchResult(name="wind_farm_vs_wombat", goal=GOAL,
                       figures={"skipped": why}, notes=why)


def run(repeats: int = 3, quick: bool = False) -> BenchResult:
    version = wombat_version()
    if version is None:
        return _skipped("WOMBAT is not installed (make bench, or pip install -e '.[wombat]', installs it)")
    library = find_dinwoodie()
    if library is None:
        return _skipped(f"WOMBAT {version} has no {LIBRARY_IN_PACKAGE}/project/config/{CASE}; point "
                        f"${LIBRARY_ENV} at that folder of a WOMBAT checkout")
    repeats = 1 if quick else max(3, repeats)
    years = QUICK_YEARS if quick else 0  # 0: as the case and the scenario say (10 years)
    further = 1 if quick else 2
    timings = {"wombat_cold": [], "wombat_warm": [], "ours_cold": [], "ours_warm": []}
    cpu = {"wombat_cold": [], "wombat_warm": [], "ours_cold": [], "ours_warm": []}
    wombat_runs, our_runs = [], []
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="simengine-wombat-bench-") as tmp:
        for r in range(repeats):
            first, second = _child(["wombat", str(library), str(years), "2", str(WOMBAT_SEED + 2 * r)])
            timings["wombat_cold"].append(first["done_at"] - first["spawned_at"])
            timings["wombat_warm"].append(second["run_s"])
            cpu["wombat_cold"].append(first["cpu_since_start_s"])
            cpu["wombat_warm"].append(second["cpu_s"])
            wombat_runs += [first, second]
            cold, *warm = _child(["ours", str(Path(tmp) / str(r)), str(years), str(further), str(r)])
            timings["ours_cold"].append(cold["done_at"] - cold["spawned_at"])
            timings["ours_warm"].append(_median(w["run_s"] for w in warm))
            cpu["ours_cold"].append(cold["cpu_since_start_s"])
            cpu["ours_warm"].append(_median(w["cpu_s"] for w in warm))
            our_runs += warm
    loads.append(os.getloadavg()[0])
    med = {label: _median(values) for label, values in timings.items()}
    med_cpu = {label: _median(values) for label, values in cpu.items()}
    figures = {
        "ratio_wombat_over_ours_cold": med["wombat_cold"] / med["ours_cold"],
        "ratio_wombat_over_ours_warm": med["wombat_warm"] / med["ours_warm"],
        "wombat_s_per_run_cold (fresh process, imports included)": med["wombat_cold"],
        "wombat_s_per_run_warm (second run in the process)": med["wombat_warm"],
        "ours_s_per_replica_cold (simengine run replicas=1, end to end)": med["ours_cold"],
        "ours_s_per_replica_warm (further replicas in the process)": med["ours_warm"],
        "ratio_wombat_over_ours_cpu_cold": med_cpu["wombat_cold"] / med_cpu["ours_cold"],
        "ratio_wombat_over_ours_cpu_warm": med_cpu["wombat_warm"] / med_cpu["ours_warm"],
        "wombat_cpu_s_per_run_cold / warm": f"{med_cpu['wombat_cold']:.1f} / {med_cpu['wombat_warm']:.1f}",
        "ours_cpu_s_per_replica_cold / warm": f"{med_cpu['ours_cold']:.1f} / {med_cpu['ours_warm']:.1f}",
        "wombat_repair_requests (median per run)": _median(w["repairs"] for w in wombat_runs),
        "wombat_maintenance_requests (median per run)": _median(w["maintenance"] for w in wombat_runs),
        "wombat_availability_time_based (median)": _median(w["availability"] for w in wombat_runs),
        "ours_repair_work_orders (median per replica)": _median(o["repairs"] for o in our_runs),
        "ours_maintenance_work_orders (median per replica)": _median(o["maintenance"] for o in our_runs),
        "ours_availability (median)": _median(o["availability"] for o in our_runs),
        "simulated_years": float(years or 10),
        "wombat_version": version,
        "load_avg_1min_before_after": f"{loads[0]:.2f} / {loads[1]:.2f}",
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    return BenchResult(
        name="wind_farm_vs_wombat", goal=GOAL,
        figures=figures, timings_s={**timings, **{f"{label}_cpu": values for label, values in cpu.items()}},
        notes=f"WOMBAT {version} Dinwoodie {CASE} ({library}) against scenario={SCENARIO}, 80 turbines, "
              f"{years or 10} years, medians of {repeats}, sides alternated. Wall time is the figure; CPU seconds "
              "(the child's, all threads) beside it, as other work on this machine slows wall time. Ours has "
              "turbines only: WOMBAT's substation and 81 cables never fail in that case, so they would add groups "
              "that do nothing (scenario=wind_farm_grid shows a plant with them). Our turbines also carry blade-root fatigue, gearbox wear and 24 sensors each.")


def main(argv: list[str]) -> None:
    which, folder, years, count, seed = argv
    if which == "wombat":
        wombat_child(Path(folder), int(years), int(count), int(seed))
    elif which == "ours":
        ours_child(Path(folder), float(years), int(count), int(seed))
    else:
        raise SystemExit(f"unknown side {which!r}; wombat or ours")


if __name__ == "__main__":
    main(sys.argv[1:])
