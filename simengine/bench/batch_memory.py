"""Batch memory benchmark: the driver's peak RSS at 1,000, 10,000 and 100,000 replicas of a tiny scenario.

Finished replicas go to disk as they arrive, chunk by chunk, so the driver's
memory should not grow with the replica count but for the KPI table (a few
numbers per replica: 100,000 x 20 x 8 B = 16 MB). Each size runs in a fresh
driver process (its peak RSS during the batch, imports and JIT caches done before), on a local pool of 2 worker
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

# After imports and a warm-up run, the kernel's high-water mark of this process's RSS (VmHWM) is reset
# (Linux: "5" into /proc/self/clear_refs), so the peak read at the end is the batch's own.
_CHILD = """
import json, sys, time
from simengine.api import load_scenario, run

def status_MB(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":")) / 1024

n, out_dir = int(sys.argv[1]), sys.argv[2]
scenario = load_scenario("crane_fleet", json.loads(sys.argv[3]))
run(scenario, replicas=2, seed=0, plots=False, progress=False, keep=0)
before = status_MB("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
start = time.perf_counter()
result = run(scenario, replicas=n, seed=0, executor="processes", workers=2, out_dir=out_dir, plots=False,
             progress=False, keep=0)
assert result.kpis["availability"].shape == (n,)
print(json.dumps({"wall_s": time.perf_counter() - start, "rss_before_MB": before, "peak_rss_MB": status_MB("VmHWM")}))
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
        figures[f"driver_rss_before_MB_{n}"] = got["rss_before_MB"]
        figures[f"wall_s_{n}"] = got["wall_s"]
        timings[f"replicas_{n}"] = [got["wall_s"]]
        print(f"    {n} replicas: peak driver RSS {got['peak_rss_MB']:.1f} MB ({got['rss_before_MB']:.1f} MB before), "
              f"{got['wall_s']:.0f} s", flush=True)
    small, large = sizes[0], sizes[-1]
    figures["rss_growth_MB_first_to_last"] = figures[f"peak_driver_rss_MB_{large}"] - figures[f"peak_driver_rss_MB_{small}"]
    figures["rss_ratio_last_over_first"] = figures[f"peak_driver_rss_MB_{large}"] / figures[f"peak_driver_rss_MB_{small}"]
    figures["sizes"] = ", ".join(str(n) for n in sizes)
    return BenchResult(
        name="batch_memory", goal="peak driver RSS flat in the replica count (growth ~ the KPI table only)",
        figures=figures, timings_s=timings,
        notes=f"crane_fleet with {TINY}, executor=processes, 2 workers, keep=0, results published to a temporary "
              f"folder; each size in a fresh driver; total {time.perf_counter() - start:.0f} s")
