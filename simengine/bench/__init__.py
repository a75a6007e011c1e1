"""`simengine bench`: benchmarks side by side with their references; JSON in results/bench/."""

from __future__ import annotations

import inspect
from importlib import import_module
from pathlib import Path

from simengine.bench.harness import BenchResult, summary_table, table, write

# name -> the module of simengine.bench and its function; imported when that benchmark runs, so that
# `--only cold_start` does not first load JAX for the calibration benchmark.
BENCHMARKS = {
    "engine_overhead": ("machine_repair", "run"),
    "crane_reference": ("crane_reference", "run"),
    "paris_batch": ("paris_bench", "run"),
    "rainflow": ("rainflow_bench", "run"),
    "modbus_ingest": ("plc_ingest", "run"),
    "opcua_ingest": ("plc_ingest", "run_opcua_bench"),
    "calibration": ("calibration_bench", "run"),
    "batch_memory": ("batch_memory", "run"),
    "dask": ("dask_bench", "run"),
    "sweep": ("sweep_bench", "run"),
    "cold_start": ("cold_start", "run"),
    "wind_farm_vs_wombat": ("wombat_bench", "run"),
    "readme_wind_farm": ("readme_run", "run"),
}


def benchmark(name: str):
    """The function that runs benchmark `name`: (repeats, quick[, soak]) -> BenchResult."""
    module, function = BENCHMARKS[name]
    return getattr(import_module(f"{__name__}.{module}"), function)


# The figures each benchmark is judged by, for the closing table (the JSON keeps them all).
HEADLINES = {
    "engine_overhead": ("ratio_simengine_over_plain",),
    "crane_reference": ("wall_warm_median_s", "wall_cold_s (incl. JIT compile)"),
    "paris_batch": ("ratio_vs_numpy_stepping", "variable_Y_ratio_vs_numpy"),
    "rainflow": ("gaussian_speed_ratio_ours_over_pylife", "random_walk_speed_ratio_ours_over_pylife",
                 "random_walk_speed_ratio_ours_over_pylife_separate_processes", "first_count_fresh_process_warm_cache_s"),
    "modbus_ingest": ("values_lost", "recorder_cpu_share"),
    "opcua_ingest": ("delivered_over_expected", "lost_messages"),
    "calibration": ("ratio_scipy_2point_vs_simengine_solve", "simengine_fit_warm_s (solve + uncertainty, prediction, checks)"),
    "batch_memory": ("rss_growth_MB_first_to_last", "rss_ratio_last_over_first"),
    "dask": ("speedup_2_over_1_dask_workers", "load_avg_1min_before_after", "dask_overhead_per_replica_vs_processes",
             "resume_total_over_uninterrupted"),
    "sweep": ("ratio_separate_over_sweep", "crn_variance_reduction_total_cost_eur (median, differing variants)"),
    "cold_start": ("typo_to_message_median_s", "help_median_s", "jax imported before the message: run"),
    "wind_farm_vs_wombat": ("ratio_wombat_over_ours_cold", "ratio_wombat_over_ours_warm", "ratio_wombat_over_ours_cpu_warm",
                            "wombat_repair_requests (median per run)", "ours_repair_work_orders (median per replica)",
                            "wombat_availability_time_based (median)", "ours_availability (median)",
                            "load_avg_1min_before_after"),
    "readme_wind_farm": ("wall_median_s", "load_avg_1min_before_after"),
}


def run_benchmarks(out_dir: Path, *, quick: bool = False, only: list[str] | None = None,
                   repeats: int = 5, soak: bool = False) -> list[BenchResult]:
    unknown = sorted(set(only or ()) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"simengine bench: unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results = []
    for name in BENCHMARKS:
        if only and name not in only:
            continue
        bench = benchmark(name)
        print(f"running {name} ...", flush=True)
        extra = {"soak": soak} if "soak" in inspect.signature(bench).parameters else {}
        result = bench(repeats=repeats, quick=quick, **extra)
        path = write(result, out_dir)
        print(table([result]))
        print(f"    -> {path}", flush=True)
        results.append(result)
    print()
    print(summary_table(results, HEADLINES))
    return results
