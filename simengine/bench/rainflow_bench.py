"""Benchmark: rainflow counting of 10^6-sample signals, ours against pyLife and `rainflow`.

Signals (seeded): Gaussian white noise and a Gaussian random walk.

* ours against pyLife, the headline: `count_cycles` (ASTM E1049-85 §5.4.4,
  numba kernel, residue counted) and pyLife's
  `FourPointDetector(LoopValueRecorder()).process` (Cython loop, residue left
  open, its default) on the same array, timed in pairs in one process, the
  order alternating, garbage collection paused, after an untimed warm-up.
  Time is the calling thread's CPU time (both are single-threaded): on a
  shared machine the wall clock also counts the time the scheduler gives to
  other processes, which is noise to both. Wall-clock medians are reported
  beside it. The ratio is median pyLife time / median ours. Both allocate
  tens of MB a count, and in one process each runs partly on pages the
  other has just freed (no page faults) or on fresh ones: so the same
  ratio is also measured with each contender alone in its own processes,
  in steady state, as a user of either library would count.
* ours streamed: `RainflowCounter` fed in chunks of 10^4 samples;
* `rainflow` (pure Python, `extract_cycles`) on the first tenth of the signal,
  extrapolated linearly to the full length (its cost is linear in samples).

Checks: ours equals `rainflow` row for row (range, mean, count, indices) on
that tenth; against pyLife, the total count and sum(count * range^3) after
booking pyLife's residue as half cycles, and the number of full cycles.

First count in a fresh process: a child process imports the counter and
counts a short signal; the first call's time is mostly compiling the kernel
(empty cache folder) or loading it (warm cache folder, see
`simengine.caches`). Median of 3 children each, the import time beside it.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from simengine.bench.harness import BenchResult, alternate
from simengine.fatigue.rainflow import Cycles, RainflowCounter, count_cycles

CHUNK = 10_000
SOLO_ROUNDS = 2           # child processes per contender, alternating ours, pyLife, ours, pyLife
PAIRS_PER_REPEAT = 3      # ours/pyLife pairs per requested repeat: short runs, so many of them
FRESH_PROCESSES = 3
# Import, then time the first count; prints both (s).
_FIRST_COUNT = ("import time; t = time.perf_counter(); import numpy as np; "
                "from simengine.fatigue.rainflow import count_cycles; t1 = time.perf_counter(); "
                "count_cycles(np.array([0.0, 1.0, -1.0, 2.0, -2.0, 0.5])); "
                "print(t1 - t, time.perf_counter() - t1)")


def signals(n: int, seed: int = 20250101) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"gaussian": rng.standard_normal(n), "random_walk": np.cumsum(rng.standard_normal(n))}


def streamed(x: np.ndarray, chunk: int = CHUNK) -> Cycles:
    counter = RainflowCounter()
    parts = [counter.process(x[i:i + chunk]) for i in range(0, x.size, chunk)]
    return Cycles.concatenate(parts + [counter.finish()])


# One contender alone in its own process: warm-up, then `runs` timed counts per signal (CPU time of
# the thread, gc paused); prints {signal: [s]}. Both contenders' processes import the same modules.
_SOLO = ("import gc, json, sys, time\n"
         "from simengine.bench.rainflow_bench import signals, count_cycles, _pylife, _pylife_count\n"
         "who, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
         "rf = _pylife()[0]\n"
         "count = count_cycles if who == 'ours' else (lambda x: _pylife_count(rf, x))\n"
         "out = {}\n"
         "for name, x in signals(n).items():\n"
         "    count(x)\n"
         "    gc.collect(); gc.disable(); ts = []\n"
         "    for _ in range(runs):\n"
         "        c0 = time.thread_time(); count(x); ts.append(time.thread_time() - c0)\n"
         "    gc.enable(); out[name] = ts\n"
         "print(json.dumps(out))\n")


def separate_processes(n: int, runs: int, rounds: int = SOLO_ROUNDS) -> dict[str, dict[str, list[float]]]:
    """{contender: {signal: [CPU s]}}, each contender counting alone in its own processes (steady state)."""
    times: dict[str, dict[str, list[float]]] = {"ours": {}, "pylife": {}}
    for _ in range(rounds):
        for who in ("ours", "pylife"):
            out = subprocess.run([sys.executable, "-c", _SOLO, who, str(n), str(runs)], capture_output=True,
                                 text=True, check=True)
            for name, ts in json.loads(out.stdout.strip().splitlines()[-1]).items():
                times[who].setdefault(name, []).extend(ts)
    return times


def first_count_in_fresh_process(cache: str) -> tuple[float, float]:
    """(import s, first count s) in a child process whose compilation caches live in `cache`."""
    from simengine import caches

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env[caches.ENV] = cache
    out = subprocess.run([sys.executable, "-c", _FIRST_COUNT], env=env, capture_output=True, text=True, check=True)
    import_s, count_s = out.stdout.strip().splitlines()[-1].split()
    return float(import_s), float(count_s)


def fresh_process_figures(n: int = FRESH_PROCESSES) -> dict[str, float]:
    """First count with an empty cache folder (each child its own) and with a warm one, medians of n."""
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            cold.append(first_count_in_fresh_process(os.path.join(tmp, f"empty{i}")))
        for _ in range(n):                       # the last cold child filled this folder
            warm.append(first_count_in_fresh_process(os.path.join(tmp, f"empty{n - 1}")))
    med = lambda runs, i: float(np.median([r[i] for r in runs]))  # noqa: E731
    return {"first_count_fresh_process_empty_cache_s": med(cold, 1),
            "first_count_fresh_process_warm_cache_s": med(warm, 1),
            "import_fresh_process_warm_cache_s": med(warm, 0),
            "import_plus_first_count_warm_cache_s": float(np.median([a + b for a, b in warm]))}


def paired_cpu_and_wall(runs: dict[str, callable], pairs: int) -> dict[str, dict[str, list[float]]]:
    """Time each callable `pairs` times, interleaved with the order alternating, gc paused:
    {"cpu": {label: [s]}, "wall": {label: [s]}}; cpu is the calling thread's CPU time."""
    labels = list(runs)
    out = {"cpu": {k: [] for k in labels}, "wall": {k: [] for k in labels}}
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(pairs):
            for label in (labels if i % 2 == 0 else labels[::-1]):
                c0, w0 = time.thread_time(), time.perf_counter()
                runs[label]()
                w1, c1 = time.perf_counter(), time.thread_time()
                out["cpu"][label].append(c1 - c0)
                out["wall"][label].append(w1 - w0)
    finally:
        if was_enabled:
            gc.enable()
    return out


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


def _against_pylife(rf, name: str, x: np.ndarray, pairs: int, timings: dict[str, list[float]]) -> dict[str, float]:
    """The headline: ours and pyLife on the same array in interleaved pairs, CPU time and wall clock."""
    count_cycles(x), _pylife_count(rf, x)                    # warm-up, untimed
    head = paired_cpu_and_wall({"ours": lambda: count_cycles(x), "pylife": lambda: _pylife_count(rf, x)}, pairs)
    for clock, t in head.items():
        timings.update({f"{name}/{k}_{clock}": v for k, v in t.items()})
    med = {clock: {k: float(np.median(v)) for k, v in t.items()} for clock, t in head.items()}
    n = x.size
    return {f"{name}_ours_median_cpu_s": med["cpu"]["ours"],
            f"{name}_pylife_median_cpu_s": med["cpu"]["pylife"],
            f"{name}_speed_ratio_ours_over_pylife": med["cpu"]["pylife"] / med["cpu"]["ours"],
            f"{name}_speed_ratio_ours_over_pylife_wall": med["wall"]["pylife"] / med["wall"]["ours"],
            f"{name}_speed_ratio_ours_over_pylife_pairwise_median": float(np.median(
                np.array(head["cpu"]["pylife"]) / np.array(head["cpu"]["ours"]))),
            f"{name}_ours_Msamples_per_s": n / med["cpu"]["ours"] / 1e6,
            f"{name}_pylife_Msamples_per_s": n / med["cpu"]["pylife"] / 1e6}


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    n = 10**5 if quick else 10**6
    n_sub = n // 10
    pairs = PAIRS_PER_REPEAT * repeats
    rf, pylife_missing = _pylife()
    figures: dict[str, float | str] = {"samples": float(n), "repeats": float(repeats),
                                       "ours_pylife_pairs": float(pairs)}
    timings_all: dict[str, list[float]] = {}
    notes = ["ours vs pyLife: CPU time of the calling thread, pairs interleaved in one process (order alternating, "
             "gc paused), ratio = median pyLife / median ours; wall-clock ratio beside it",
             f"separate processes: each contender alone in its own processes ({SOLO_ROUNDS} each, alternating), "
             "where neither runs on pages the other freed",
             f"rainflow (pure Python) timed on the first {n_sub} samples and extrapolated x{n // n_sub}",
             "pyLife: FourPointDetector + LoopValueRecorder, residue left open (its default)",
             f"ours streamed: RainflowCounter in chunks of {CHUNK}",
             f"first count in a fresh process: median of {1 if quick else FRESH_PROCESSES} child processes each, "
             "empty vs warm cache folder (simengine.caches)"]
    data = signals(n)
    if rf is not None:              # the headline first, in a process not yet cluttered by the reference's rows
        for name, x in data.items():
            figures.update(_against_pylife(rf, name, x, pairs, timings_all))
        solo = separate_processes(n, max(pairs // SOLO_ROUNDS, 3))
        for name in data:
            ours_s, theirs_s = (float(np.median(solo[who][name])) for who in ("ours", "pylife"))
            timings_all[f"{name}/ours_cpu_own_process"] = solo["ours"][name]
            timings_all[f"{name}/pylife_cpu_own_process"] = solo["pylife"][name]
            figures[f"{name}_speed_ratio_ours_over_pylife_separate_processes"] = theirs_s / ours_s
    for name, x in data.items():
        ours: Cycles = count_cycles(x)
        runs = {"ours": lambda x=x: count_cycles(x), "ours_streamed": lambda x=x: streamed(x),
                "rainflow_subset": lambda x=x: _rainflow_rows(x[:n_sub])}
        streamed(x)                                          # warm-up, untimed
        timings, last = alternate(runs, repeats)
        timings_all.update({f"{name}/{k}_wall": v for k, v in timings.items() if k != "ours"})
        med_wall = {k: float(np.median(v)) for k, v in timings.items()}
        figures[f"{name}_ours_streamed_Msamples_per_s"] = n / med_wall["ours_streamed"] / 1e6
        rf_full_s = med_wall["rainflow_subset"] * n / n_sub
        figures[f"{name}_rainflow_extrapolated_s"] = rf_full_s
        figures[f"{name}_speedup_ours_over_rainflow"] = rf_full_s / med_wall["ours"]
        # exactness: ours == rainflow row for row on the subset; streamed == whole
        sub_equal = sorted(_rows(count_cycles(x[:n_sub]))) == sorted(last["rainflow_subset"])
        figures[f"{name}_rows_equal_rainflow_subset"] = "yes" if sub_equal else "NO"
        s = last["ours_streamed"]
        same = all(np.array_equal(getattr(s, f), getattr(ours, f)) for f in ("ranges", "means", "counts", "start", "end"))
        figures[f"{name}_streamed_equals_whole"] = "yes" if same else "NO"
        figures[f"{name}_ours_cycles_total"] = ours.total
        if rf is not None:
            theirs_detector = _pylife_count(rf, x)
            theirs = _pylife_as_cycles(theirs_detector)
            figures[f"{name}_full_cycles_ours_vs_pylife"] = (
                f"{int(np.sum(ours.counts == 1.0))} vs {len(theirs_detector.recorder.values_from)}")
            figures[f"{name}_total_rel_diff_vs_pylife_plus_residue"] = _rel(ours.total, theirs.total)
            figures[f"{name}_sum_count_range3_rel_diff_vs_pylife"] = _rel(ours.moment(3.0), theirs.moment(3.0))
    figures.update(fresh_process_figures(1 if quick else FRESH_PROCESSES))
    if rf is None:
        notes.append(f"pyLife not available ({pylife_missing}); compared with rainflow only")
    return BenchResult(name="rainflow",
                       goal=">= 1.2x pyLife four-point on both signals (median CPU time), identical counts; "
                            "first count <= 1 s in a fresh process with a warm cache",
                       figures=figures, timings_s=timings_all, notes="; ".join(notes))


if __name__ == "__main__":
    from simengine.bench.harness import table

    print(table([run(quick="--quick" in sys.argv)]))
