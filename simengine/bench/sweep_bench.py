"""Benchmark: a 12-variant what-if sweep end to end, against the same variants as 12 separate runs.

``simengine run -m crews.count=1,2,3,4 policy.kind=corrective,scheduled,condition_based`` on the crane
fleet, through the command line (Hydra composition, one pool for all 12 × replicas tasks, sweep.h5,
report.md, a plot per KPI), timed alternately with the reference: the 12 variants as 12 `simengine.run`
calls one after another on the same executor (each its own pool, run.h5 and plots). Also reported: the
variance reduction common random numbers bought for the total cost and the availability (median over the
comparisons with the baseline where the KPI differs at all): how many times more replicas independent seeds would need.
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import tempfile
from pathlib import Path

from simengine.bench.harness import BenchResult, alternate

CREWS = (1, 2, 3, 4)
POLICIES = ("corrective", "scheduled", "condition_based")


def sizes(quick: bool) -> dict:
    if quick:
        return {"fleet.count": 4, "horizon_years": 0.5, "replicas": 3, "executor": "serial"}
    return {"fleet.count": 24, "horizon_years": 1.0, "replicas": 8, "executor": "processes"}


def sweep_command(size: dict, out_dir: Path) -> list[str]:
    return ["run", "-m", f"crews.count={','.join(map(str, CREWS))}", f"policy.kind={','.join(POLICIES)}",
            f"fleet.count={size['fleet.count']}", f"horizon_years={size['horizon_years']}",
            f"replicas={size['replicas']}", f"executor={size['executor']}", "workers=2", "seed=0",
            "progress=false", f"out_dir={out_dir}"]


def run_sweep_cli(size: dict, out_dir: Path) -> Path:
    from simengine.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(sweep_command(size, out_dir))
    if code != 0:
        raise RuntimeError(f"simengine {' '.join(sweep_command(size, out_dir))} returned {code}")
    return max(out_dir.glob("sweep-*/sweep.h5"), key=lambda p: p.stat().st_mtime)


def run_separately(size: dict, out_dir: Path) -> None:
    import simengine

    for crews in CREWS:
        for policy in POLICIES:
            scenario = simengine.load_scenario("crane_fleet", {"fleet.count": size["fleet.count"],
                                                               "horizon_years": size["horizon_years"],
                                                               "crews.count": crews, "policy.kind": policy})
            simengine.run(scenario, replicas=size["replicas"], seed=0, executor=size["executor"], workers=2,
                          out_dir=out_dir, progress=False)


def reduction(path: Path, kpi: str) -> float:
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        g = f["comparison"]
        names = list(g["kpi"].asstr()[()])
        values = g["variance_reduction"][names.index(kpi)]
        baseline = int(g.attrs["baseline"])
    # Variants the KPI does not tell apart from the baseline (every pair equal: infinite) are left out.
    finite = [v for i, v in enumerate(values) if i != baseline and math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    size = sizes(quick)
    repeats = min(repeats, 3)  # each repeat is 2 × 12 × replicas replicas of the crane fleet
    with tempfile.TemporaryDirectory(prefix="simengine-sweep-bench-") as tmp:
        tmp = Path(tmp)
        run_sweep_cli(size, tmp / "warm-up")  # JIT compile and imports, outside the timings
        timings, last = alternate({"sweep_12_variants": lambda: run_sweep_cli(size, tmp / "sweep"),
                                   "12_separate_runs": lambda: run_separately(size, tmp / "separate")}, repeats)
        sweep_h5 = last["sweep_12_variants"]
        files = sorted(p.name for p in sweep_h5.parent.iterdir())
        total = len(CREWS) * len(POLICIES) * size["replicas"]
        sweep_s = statistics.median(timings["sweep_12_variants"])
        separate_s = statistics.median(timings["12_separate_runs"])
        return BenchResult(
            name="sweep", goal="12 variants end to end in one pool, no slower than 12 separate runs",
            figures={
                "variants": 12.0, "replicas_per_variant": float(size["replicas"]),
                "cranes": float(size["fleet.count"]), "simulated_years": float(size["horizon_years"]),
                "executor": f"{size['executor']} (2 workers)" if size["executor"] != "serial" else "serial",
                "sweep_wall_median_s": sweep_s, "separate_runs_wall_median_s": separate_s,
                "ratio_separate_over_sweep": separate_s / sweep_s,
                "replicas_per_s (sweep)": total / sweep_s,
                "crn_variance_reduction_total_cost_eur (median, differing variants)": reduction(sweep_h5, "total_cost_eur"),
                "crn_variance_reduction_availability (median, differing variants)": reduction(sweep_h5, "availability"),
                "files_in_sweep_folder": float(len(files)),
            },
            timings_s=timings,
            notes="through simengine.cli.main (Hydra composition included), after one warm-up sweep; "
                  "variance reduction = (s²_variant + s²_baseline) / s²_difference from the sweep's own replicas",
        )


if __name__ == "__main__":
    import sys

    from simengine.bench.harness import table

    print(table([run(repeats=1, quick="--quick" in sys.argv)]))
