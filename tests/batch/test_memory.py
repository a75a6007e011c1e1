"""The driver's memory does not grow with the replica count: finished replicas go to disk as they arrive.
(100,000 replicas at flat memory: the `batch_memory` benchmark.)"""

import tracemalloc

import simengine.results.store as store
from simengine.api import load_scenario, run

N = 40


def scenario():
    # hourly series: each replica's results weigh ~25 kB, so keeping them shows within a hundred replicas
    return load_scenario("crane_fleet", {"fleet.count": 1, "horizon_years": 0.05, "outputs.record_interval_h": 1.0})


def peak_bytes(replicas: int, out_dir, monkeypatch, keep: int = 0) -> int:
    """Peak Python memory of a run, but for the KPI summary's interval computation (scipy's BCa
    bootstrap holds resamples x n values: simengine.results.intervals' business, not the batch's)."""
    real, peaks = store.summarize, []

    def unmeasured(*args, **kwargs):
        peaks.append(tracemalloc.get_traced_memory()[1])
        out = real(*args, **kwargs)
        tracemalloc.reset_peak()
        return out

    monkeypatch.setattr(store, "summarize", unmeasured)
    tracemalloc.start()
    try:
        result = run(scenario(), replicas=replicas, seed=0, out_dir=out_dir, plots=False, keep=keep, chunk=20)
        peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
        monkeypatch.undo()
    assert result.kpis["availability"].shape == (replicas,)
    return max(peaks)


def test_memory_stays_flat_from_n_to_4n_replicas(tmp_path, monkeypatch):
    run(scenario(), replicas=1, seed=0)  # imports and JIT caches before measuring
    small = peak_bytes(N, tmp_path / "small", monkeypatch)
    large = peak_bytes(4 * N, tmp_path / "large", monkeypatch)
    # Kept in memory (as before streaming), 3N = 120 more replicas' events and hourly series add ~3 MB
    # (measured: 3.2 MB with keep=4N); their KPIs add 120 x 20 x 8 B = 19 kB (the run's table, which its
    # summary needs)
    assert large - small < 1_000_000, (small, large)
