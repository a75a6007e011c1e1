"""Benchmark: rainflow counting of 10^6-sample signals, ours against pyLife and `rainflow`.

Signals (seeded): Gaussian white noise and a Gaussian random walk. Each
contender runs once untimed, then all are timed interleaved in one process;
medians reported (and the ratio of the best runs, as the machine is shared),
all single-threaded:

* ours: `count_cycles` (ASTM E1049-85 §5.4.4, numba kernel, residue counted),
  and the streaming `RainflowCounter` fed in chunks of 10^4 samples;
* pyLife: `FourPointDetector(LoopValueRecorder()).process` (Cython loop; the
  residue stays open, as pyLife does by default);
* `rainflow` (pure Python, `extract_cycles`) on the first tenth of the signal,
  extrapolated linearly to the full length (its cost is linear in samples).

Checks: ours equals `rainflow` row for row (range, mean, count, indices) on
that tenth; against pyLife, the total count and sum(count * range^3) after
booking pyLife's residue as half cycles, and the number of full cycles. The
JIT compile is excluded from the timings (warm-up first) and reported apart:
in a child process with an empty numba cache, and in this process (which may
load from the on-disk cache).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from simengine.bench.harness import BenchResult, alternate
from simengine.fatigue.rainflow import Cycles, RainflowCounter, count_cycles

CHUNK = 10_000
_COLD = ("import time; t = time.perf_counter(); import numpy as np; "
         "from simengine.fatigue.rainflow import RainflowCounter, count_cycles, turning_points; "
         "x = np.array([0.0, 1.0, -1.0, 2.0]); count_cycles(x); turning_points(x); "
         "c = RainflowCounter(); c.process(x); c.finish(); print(time.perf_counter() - t)")


def signals(n: int, seed: int = 20250101) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"gaussian": rng.standard_normal(n), "random_walk": np.cumsum(rng.standard_normal(n))}


def streamed(x: np.ndarray, chunk: int = CHUNK) -> Cycles:
    counter = RainflowCounter()
    parts = [counter.process(x[i:i + chunk]) for i in range(0, x.size, chunk)]
    return Cycles.concatenate(parts + [counter.finish()])


def cold_compile_s() -> float:
    """Import + first calls of every entry point, numba cache empty, in a child process."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _COLD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _pylife():
    try:
        import pylife.stress.rainflow as rf
    except Exception as err:  # noqa: BLE001 - any import failure means: not available here
        return None, f"{type(err).__name__}: {err}"
    return rf, None


def _pylife_count(rf, x: np.ndarray):
    return rf.FourPointDetector(recorder=rf.LoopValueRecorder()).process(x)


def _pylife_as_cycles(detector) -> Cycles:
    """pyLife's closed loops as full cycles plus its open residue booked as half cycles."""
    a, b = np.asarray(detector.recorder.values_from), np.asarray(detector.recorder.values_to)
    res = np.asarray(detector.residuals, dtype=np.float64)
    ra, rb = res[:-1], res[1:]
    keep = ra != rb
    ra, rb = ra[keep], rb[keep]
    return Cycles(np.concatenate([np.abs(a - b), np.abs(ra - rb)]),
                  np.concatenate([0.5 * (a + b), 0.5 * (ra + rb)]),
                  np.concatenate([np.ones(a.size), np.full(ra.size, 0.5)]))


def _rainflow_rows(x: np.ndarray) -> list[tuple]:
    import rainflow

    return list(rainflow.extract_cycles(x.tolist()))


def _rows(c: Cycles) -> list[tuple]:
    return list(zip(c.ranges.tolist(), c.means.tolist(), c.counts.tolist(), c.start.tolist(), c.end.tolist()))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    n = 10**5 if quick else 10**6
    n_sub = n // 10
    rf, pylife_missing = _pylife()
    t0 = time.perf_counter()
    count_cycles(np.array([0.0, 1.0, -1.0, 2.0]))
    streamed(np.array([0.0, 1.0, -1.0, 2.0]))
    first_call_here = time.perf_counter() - t0
    figures: dict[str, float | str] = {
        "samples": float(n), "repeats": float(repeats),
        "jit_compile_cold_s": cold_compile_s(), "jit_first_call_this_process_s": first_call_here,
    }
    timings_all: dict[str, list[float]] = {}
    notes = [f"rainflow (pure Python) timed on the first {n_sub} samples and extrapolated x{n // n_sub}",
             "pyLife: FourPointDetector + LoopValueRecorder, residue left open (its default)",
             f"ours streamed: RainflowCounter in chunks of {CHUNK}"]
    for name, x in signals(n).items():
        runs = {"ours": lambda x=x: count_cycles(x), "ours_streamed": lambda x=x: streamed(x),
                "rainflow_subset": lambda x=x: _rainflow_rows(x[:n_sub])}
        if rf is not None:
            runs["pylife"] = lambda x=x: _pylife_count(rf, x)
        for label in ("ours", "ours_streamed", "pylife"):     # warm caches and the allocator, untimed
            if label in runs:
                runs[label]()
        timings, last = alternate(runs, repeats)
        timings_all.update({f"{name}/{k}": v for k, v in timings.items()})
        med = {k: float(np.median(v)) for k, v in timings.items()}
        ours: Cycles = last["ours"]
        figures[f"{name}_ours_median_s"] = med["ours"]
        figures[f"{name}_ours_Msamples_per_s"] = n / med["ours"] / 1e6
        figures[f"{name}_ours_streamed_Msamples_per_s"] = n / med["ours_streamed"] / 1e6
        rf_full_s = med["rainflow_subset"] * n / n_sub
        figures[f"{name}_rainflow_extrapolated_s"] = rf_full_s
        figures[f"{name}_rainflow_Msamples_per_s"] = n / rf_full_s / 1e6
        figures[f"{name}_speedup_ours_over_rainflow"] = rf_full_s / med["ours"]
        # exactness: ours == rainflow row for row on the subset; streamed == whole
        sub_equal = sorted(_rows(count_cycles(x[:n_sub]))) == sorted(last["rainflow_subset"])
        figures[f"{name}_rows_equal_rainflow_subset"] = "yes" if sub_equal else "NO"
        s = last["ours_streamed"]
        same = all(np.array_equal(getattr(s, f), getattr(ours, f)) for f in ("ranges", "means", "counts", "start", "end"))
        figures[f"{name}_streamed_equals_whole"] = "yes" if same else "NO"
        figures[f"{name}_ours_cycles_total"] = ours.total
        if rf is not None:
            figures[f"{name}_pylife_median_s"] = med["pylife"]
            figures[f"{name}_pylife_Msamples_per_s"] = n / med["pylife"] / 1e6
            figures[f"{name}_speed_ratio_ours_over_pylife"] = med["pylife"] / med["ours"]
            figures[f"{name}_speed_ratio_ours_over_pylife_best"] = min(timings["pylife"]) / min(timings["ours"])
            theirs = _pylife_as_cycles(last["pylife"])
            figures[f"{name}_full_cycles_ours_vs_pylife"] = (
                f"{int(np.sum(ours.counts == 1.0))} vs {len(last['pylife'].recorder.values_from)}")
            figures[f"{name}_total_rel_diff_vs_pylife_plus_residue"] = _rel(ours.total, theirs.total)
            figures[f"{name}_sum_count_range3_rel_diff_vs_pylife"] = _rel(ours.moment(3.0), theirs.moment(3.0))
    if rf is None:
        notes.append(f"pyLife not available ({pylife_missing}); compared with rainflow only")
    return BenchResult(name="rainflow", goal=">= 1.0x pyLife four-point samples/s, identical counts",
                       figures=figures, timings_s=timings_all, notes="; ".join(notes))


if __name__ == "__main__":
    from simengine.bench.harness import table

    print(table([run(quick="--quick" in sys.argv)]))
