"""Batch memory benchmark: the driver's peak RSS at 1,000, 10,000 and 100,000 replicas of a tiny scenario.

Finished replicas go to disk as they arrive, chunk by chunk, so the driver's
memory should not grow with the replica count but for the KPI table (a few
numbers per replica: 100,000 x 20 x 8 B = 16 MB). Each size runs in a fresh
driver process (its own peak, ``ru_maxrss``), on a local pool of 2 worker
processes whose memory is not counted; the results folder is published as
`simengine run` publishes it (run.h5 merged from the pieces, no plots).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

from simengine.bench.harness import BenchResult

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
TINY = {"fleet.count": 1, "horizon_years": 0.01, "outputs.record_assets": 0}  # 88 hours of one crane

_CHILD = """
import json, resource, sys, time
from simengine.api import load_scenario, run
n, out_dir = int(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
result = run(load_scenario("crane_fleet", json.loads(sys.argv[3])), replicas=n, seed=0, executor="processes",
             workers=2, out_dir=out_dir, plots=False, progress=False, keep=0)
assert result.kpis["availability"].shape == (n,)
print(json.dumps({"wall_s": time.perf_counter() - start,
                  "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def driver_peak(replicas: int) -> dict:
    """Peak RSS (MB) and wall time of one driver process running `replicas` replicas to a results folder."""
    with tempfile.TemporaryDirectory(prefix="simengine-batch-memory-") as out_dir:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(replicas), out_dir, json.dumps(TINY)],
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {replicas}-replica run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(repeats: int = 1, quick: bool = False) -> BenchResult:
    """One run per size (`repeats` is not used: a 100,000-replica run is long, and a peak is not noisy)."""
    sizes = QUICK_SIZES if quick else SIZES
    figures: dict[str, float | str] = {}
    timings: dict[str, list[float]] = {}
    start = time.perf_counter()
    for n in sizes:
        got = driver_peak(n)
        figures[f"peak_driver_rss_MB_{n}"] = got["peak_rss_MB"]
        figures[f"wall_s_{n}"] = got["wall_s"]
        timings[f"replicas_{n}"] = [got["wall_s"]]
    small, large = sizes[0], sizes[-1]
    figures["rss_growth_MB_first_to_last"] = figures[f"peak_driver_rss_MB_{large}"] - figures[f"peak_driver_rss_MB_{small}"]
    figures["rss_ratio_last_over_first"] = figures[f"peak_driver_rss_MB_{large}"] / figures[f"peak_driver_rss_MB_{small}"]
    figures["sizes"] = ", ".join(str(n) for n in sizes)
    return BenchResult(
        name="batch_memory", goal="peak driver RSS flat in the replica count (growth ~ the KPI table only)",
        figures=figures, timings_s=timings,
        notes=f"crane_fleet with {TINY}, executor=processes, 2 workers, keep=0, results published to a temporary "
              f"folder; each size in a fresh driver; total {time.perf_counter() - start:.0f} s")
