"""The driver's memory does not grow with the replica count: finished replicas go to disk as they arrive."""

import tracemalloc

import simengine.results.store as store
from simengine.api import load_scenario, run


def peak_bytes(replicas: int, out_dir, monkeypatch, keep: int = 0) -> int:
    """Peak Python memory of a run, but for the KPI summary's interval computation (scipy's BCa
    jackknife holds n x n values: simengine.results.intervals' business, not the batch's)."""
    sc = load_scenario("crane_fleet", {"fleet.count": 1, "horizon_years": 0.05})
    run(sc, replicas=1, seed=0)  # imports and JIT caches before measuring
    real, peaks = store.summarize, []

    def unmeasured(*args, **kwargs):
        peaks.append(tracemalloc.get_traced_memory()[1])
        out = real(*args, **kwargs)
        tracemalloc.reset_peak()
        return out

    monkeypatch.setattr(store, "summarize", unmeasured)
    tracemalloc.start()
    try:
        result = run(sc, replicas=replicas, seed=0, out_dir=out_dir, plots=False, keep=keep, chunk=50)
        peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    assert result.kpis["availability"].shape == (replicas,)
    return max(peaks)


def test_memory_stays_flat_from_100_to_1000_replicas(tmp_path, monkeypatch):
    small = peak_bytes(100, tmp_path / "small", monkeypatch)
    large = peak_bytes(1000, tmp_path / "large", monkeypatch)
    # Kept in memory (as before streaming), 900 more replicas' events and series add megabytes;
    # their KPIs add 900 x 20 x 8 B = 0.14 MB (the run's table, which its summary needs)
    assert large - small < 700_000, (small, large)
