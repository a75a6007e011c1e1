"""Rainflow counting: ASTM E1049-85 worked example, an independent implementation, streaming."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import rainflow as rainflow_ref  # iamlikeme/rainflow: pure-Python ASTM E1049-85 §5.4.4
from hypothesis import given, settings
from hypothesis import strategies as st

from simengine.fatigue.rainflow import Cycles, RainflowCounter, count_cycles, turning_points

# ASTM E1049-85, Fig. 6 (load history) and Table 4 (rainflow count). The same
# history and table are the reference data of the `rainflow` package's tests.
ASTM_FIG6 = [-2, 1, -3, 5, -1, 3, -4, 4, -2]
ASTM_TABLE4 = {3.0: 0.5, 4.0: 1.5, 6.0: 0.5, 8.0: 1.0, 9.0: 0.5}


def rows(c: Cycles, with_index: bool = True) -> list[tuple]:
    cols = [c.ranges, c.means, c.counts] + ([c.start, c.end] if with_index else [])
    return [tuple(r) for r in zip(*(a.tolist() for a in cols))]


def reference_rows(signal, with_index: bool = True) -> list[tuple]:
    return [r if with_index else r[:3] for r in rainflow_ref.extract_cycles(list(map(float, signal)))]


def counted_in_chunks(signal, cuts, hysteresis: float = 0.0) -> Cycles:
    counter = RainflowCounter(hysteresis=hysteresis)
    parts = [counter.process(chunk) for chunk in np.split(np.asarray(signal, dtype=float), cuts)]
    return Cycles.concatenate(parts + [counter.finish()])


def assert_same_rows(a: Cycles, b: Cycles) -> None:
    for name in ("ranges", "means", "counts", "start", "end"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


# --- the standard's worked example ---------------------------------------------------------

def test_astm_fig6_trace_step_by_step():
    # Fig. 6 (b)-(g): half -2..1, half 1..-3, full -1..3, half -3..5, then the residue
    # 5..-4, -4..4, 4..-2 as half cycles. (range, mean, count, from index, to index):
    assert rows(count_cycles(ASTM_FIG6)) == [
        (3.0, -0.5, 0.5, 0, 1),
        (4.0, -1.0, 0.5, 1, 2),
        (4.0, 1.0, 1.0, 4, 5),
        (8.0, 1.0, 0.5, 2, 3),
        (9.0, 0.5, 0.5, 3, 6),
        (8.0, 0.0, 0.5, 6, 7),
        (6.0, 1.0, 0.5, 7, 8),
    ]


def test_astm_table4_counts_by_range():
    c = count_cycles(ASTM_FIG6)
    table = Counter()
    for r, n in zip(c.ranges, c.counts):
        table[float(r)] += float(n)
    assert dict(table) == ASTM_TABLE4
    assert dict(rainflow_ref.count_cycles(ASTM_FIG6)) == ASTM_TABLE4  # the reference agrees


def test_astm_example_with_plateaus_and_midpoints_counts_the_same():
    # Doubled samples (plateaus) and points inside a monotone run are not reversals.
    doubled = [v for v in ASTM_FIG6 for _ in range(2)]
    with_midpoints = [-2, -1, 1, 0, -3, 1, 5, 2, -1, 3, -4, 0, 4, -2]
    for signal in (doubled, with_midpoints):
        assert rows(count_cycles(signal), False) == rows(count_cycles(ASTM_FIG6), False)


# --- agreement with the independent pure-Python implementation -----------------------------

def _signal(kind: str, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal(n)
    if kind == "random_walk":
        return np.cumsum(rng.standard_normal(n))
    if kind == "integers":          # many plateaus and exact ties
        return rng.integers(-3, 4, n).astype(float)
    if kind == "integer_walk":
        return np.cumsum(rng.integers(-2, 3, n)).astype(float)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["gaussian", "random_walk"])
@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_rainflow_package_row_by_row(kind, seed):
    x = _signal(kind, seed, 20_000)
    # Same arithmetic (|a - b|, (a + b)/2) on the same doubles: equal exactly, indices too.
    assert sorted(rows(count_cycles(x))) == sorted(reference_rows(x))


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_rainflow_package_where_ranges_round_to_ties(seed):
    # A walk of decimal steps: the same level reached along different paths differs in the last
    # bits, so ranges that differ in exact arithmetic often round to the same double.
    # Where X and Y round to the same double, X >= Y (as they compare) closes the cycle then, not
    # later: the rows come in the reference's order, the order the standard closes them.
    x = np.cumsum(np.random.default_rng(seed).choice([-0.3, -0.1, 0.1, 0.2], 5_000))
    assert rows(count_cycles(x)) == reference_rows(x)


@pytest.mark.parametrize("kind", ["integers", "integer_walk"])
@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_rainflow_package_on_plateaus(kind, seed):
    x = _signal(kind, seed, 5_000)
    # The package indexes a plateau at its last sample, we at its first: compare without indices.
    assert sorted(rows(count_cycles(x), False)) == sorted(reference_rows(x, False))


def test_float_signal_with_rare_plateaus_across_blocks_and_chunks():
    # The kernel takes a branch-free path through plateau-free blocks of 4096 samples and
    # the state machine elsewhere; mix both, and cut chunks across block edges.
    rng = np.random.default_rng(9)
    x = rng.standard_normal(30_000)
    for i in rng.choice(np.arange(1, x.size), 12, replace=False):
        x[i] = x[i - 1]
    whole = count_cycles(x)
    assert sorted(rows(whole, False)) == sorted(reference_rows(x, False))
    cuts = np.sort(rng.choice(np.arange(1, x.size), 40, replace=False))
    assert_same_rows(counted_in_chunks(x, cuts), whole)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=3, max_size=60).filter(lambda v: len(set(v)) > 1))
def test_agrees_with_rainflow_package_on_any_short_integer_signal(values):
    # Outside the package's two quirks: it counts a zero-range half cycle on a constant
    # signal and nothing on a two-sample one; we count none and one half cycle.
    assert sorted(rows(count_cycles(values), False)) == sorted(reference_rows(values, False))


# --- streaming: chunked == whole -----------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.integers(-3, 3), max_size=80),
       cut_seeds=st.lists(st.integers(0, 80), max_size=8),
       hysteresis=st.sampled_from([0.0, 0.5, 1.0, 2.5]))
def test_chunked_equals_whole_any_split(values, cut_seeds, hysteresis):
    cuts = sorted(c % (len(values) + 1) for c in cut_seeds)
    assert_same_rows(counted_in_chunks(values, cuts, hysteresis), count_cycles(values, hysteresis=hysteresis))


@pytest.mark.parametrize("kind", ["gaussian", "random_walk", "integers", "integer_walk"])
def test_chunks_of_size_one(kind):
    x = _signal(kind, 7, 3_000)
    assert_same_rows(counted_in_chunks(x, np.arange(1, x.size)), count_cycles(x))


@pytest.mark.parametrize("signal, cuts", [
    # boundary inside, at the start and at the end of a plateau
    ([0, 3, 3, 3, 1, 4, 4, -2, 0], [2]),
    ([0, 3, 3, 3, 1, 4, 4, -2, 0], [1, 4]),
    ([0, 3, 3, 3, 1, 4, 4, -2, 0], [3, 5, 6]),
    # boundary right after and right before a turning point
    (ASTM_FIG6, [4]),
    (ASTM_FIG6, [3]),
    (ASTM_FIG6, [1, 2, 3, 4, 5, 6, 7, 8]),
    # plateau at the very start and at the very end, chunk of one plateau sample
    ([2, 2, 2, 5, 1, 1], [1, 2, 5]),
    # empty chunks anywhere
    (ASTM_FIG6, [0, 0, 4, 4, 9, 9]),
])
def test_chunk_boundaries_on_plateaus_and_turning_points(signal, cuts):
    assert_same_rows(counted_in_chunks(signal, cuts), count_cycles(signal))


def test_process_returns_only_closed_cycles_and_finish_the_residue():
    counter = RainflowCounter()
    first = counter.process([-2, 1, -3, 5, -1])
    # -1 is still pending: it may be the start of a longer fall.
    assert rows(first) == [(3.0, -0.5, 0.5, 0, 1), (4.0, -1.0, 0.5, 1, 2)]
    idx, val = counter.residue
    assert idx.tolist() == [2, 3, 4] and val.tolist() == [-3.0, 5.0, -1.0]
    second = counter.process([3, -4, 4, -2])
    assert rows(second) == [(4.0, 1.0, 1.0, 4, 5), (8.0, 1.0, 0.5, 2, 3)]
    assert counter.samples_seen == 9
    last = counter.finish()
    assert np.all(last.counts == 0.5)
    assert rows(last) == [(9.0, 0.5, 0.5, 3, 6), (8.0, 0.0, 0.5, 6, 7), (6.0, 1.0, 0.5, 7, 8)]
    assert counter.finished and counter.residue[0].size == 0


def test_counter_refuses_samples_after_finish():
    counter = RainflowCounter()
    counter.process([0.0, 1.0])
    counter.finish()
    with pytest.raises(RuntimeError, match=r"process\(\) after finish"):
        counter.process([2.0])
    with pytest.raises(RuntimeError, match=r"finish\(\) after finish"):
        counter.finish()


def test_long_converging_history_grows_the_stack():
    # A damped oscillation keeps every reversal open: the stack must grow across chunks.
    t = np.arange(20_000)
    x = np.exp(-t / 5_000.0) * np.where(t % 2 == 0, 1.0, -1.0)
    c = counted_in_chunks(x, [10, 5_000, 5_003])
    assert np.all(c.counts == 0.5) and len(c) == x.size - 1
    assert_same_rows(c, count_cycles(x))


def test_growing_amplitude_closes_a_half_cycle_at_every_reversal():
    # 1, -2, 3, -4, ...: each reversal reaches beyond the range before it, so each closes a half
    # cycle at the starting point: a row for every sample but the last (most signals: a third).
    x = np.arange(1.0, 40_001.0) * np.where(np.arange(40_000) % 2 == 0, 1.0, -1.0)
    c = count_cycles(x)
    assert len(c) == x.size - 1 and np.all(c.counts == 0.5)
    assert rows(c) == reference_rows(x)
    assert_same_rows(counted_in_chunks(x, [7, 20_000, 20_001]), c)


# --- edge cases and bad input ----------------------------------------------------------------

@pytest.mark.parametrize("signal", [[], [1.5], [2.0, 2.0], [3.0] * 10])
def test_empty_and_constant_signals_have_no_cycles(signal):
    assert len(count_cycles(signal)) == 0
    counter = RainflowCounter()
    assert len(counter.process(signal)) == 0 and len(counter.finish()) == 0


def test_two_samples_are_one_half_cycle():
    assert rows(count_cycles([1.0, 4.0])) == [(3.0, 2.5, 0.5, 0, 1)]
    assert rows(count_cycles([1.0, 1.0, 4.0, 4.0])) == [(3.0, 2.5, 0.5, 0, 2)]


def test_finish_without_samples():
    assert len(RainflowCounter().finish()) == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_sample_is_named_by_index(bad):
    x = np.arange(10.0)
    x[6] = bad
    with pytest.raises(ValueError, match=rf"sample 6 is {bad}"):
        count_cycles(x)
    with pytest.raises(ValueError, match=r"sample 6 is"):
        turning_points(x)
    counter = RainflowCounter()
    counter.process(x[:4])
    with pytest.raises(ValueError, match=r"sample 6 is"):   # global index, not the chunk's
        counter.process(x[4:])


def test_huge_finite_values_are_not_mistaken_for_nan():
    x = np.array([1e308, -1e308, 1e308, 0.0])   # their sum overflows; the samples are finite
    assert len(count_cycles(x)) == 3


@pytest.mark.parametrize("hysteresis", [-1.0, np.nan, np.inf])
def test_bad_hysteresis(hysteresis):
    with pytest.raises(ValueError, match="hysteresis .* must be finite and >= 0"):
        RainflowCounter(hysteresis=hysteresis)
    with pytest.raises(ValueError, match="hysteresis"):
        count_cycles([0.0, 1.0], hysteresis=hysteresis)


def test_signal_must_be_one_dimensional():
    with pytest.raises(ValueError, match=r"1-D, got shape \(2, 2\)"):
        count_cycles(np.zeros((2, 2)))


def test_cycles_validation_lists_every_problem():
    with pytest.raises(ValueError) as err:
        Cycles([1.0, -2.0], [0.0, np.nan], [1.0, 0.0])
    msg = str(err.value)
    assert "ranges[1] = -2.0 must be >= 0" in msg
    assert "means[1] = nan must be finite" in msg
    assert "counts[1] = 0.0 must be > 0" in msg
    with pytest.raises(ValueError, match="one length"):
        Cycles([1.0], [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="start and end must be given together"):
        Cycles([1.0], [0.0], [1.0], start=[0])


def test_concatenate_keeps_indices_only_if_all_parts_have_them():
    a = count_cycles(ASTM_FIG6)
    b = Cycles([2.0], [0.0], [1.0])
    assert Cycles.concatenate([a, a]).start.tolist() == a.start.tolist() * 2
    both = Cycles.concatenate([a, b])
    assert both.start is None and both.end is None and both.total == a.total + 1.0
    assert len(Cycles.concatenate([])) == 0


def test_cycles_are_read_only_and_summarise():
    c = count_cycles(ASTM_FIG6)
    with pytest.raises(ValueError):
        c.ranges[0] = 1.0
    assert c.total == 4.0
    assert c.moment(3.0) == pytest.approx(sum(n * r ** 3 for r, n in ASTM_TABLE4.items()))
    np.testing.assert_array_equal(c.amplitudes, c.ranges / 2)


# --- turning points and the hysteresis gate --------------------------------------------------

@pytest.mark.parametrize("signal, indices", [
    ([0, 1, 2, 1, 0], [0, 2, 4]),                 # 1 on the way up/down: not reversals
    ([0, 2, 2, 2, 1], [0, 1, 4]),                 # plateau peak: its first sample
    ([0, 2, 2, 3, 1], [0, 3, 4]),                 # step within a rise: no reversal
    ([1, 1, 0, 0, 2, 2], [0, 2, 4]),              # plateaus at both ends
    ([5, 5, 5], [0]),                             # constant: the start only
    ([], []),
])
def test_turning_points(signal, indices):
    idx, val = turning_points(signal)
    assert idx.tolist() == indices
    assert val.tolist() == [float(signal[i]) for i in indices]


def test_hysteresis_gate_drops_small_reversals():
    x = [0.0, 5.0, 4.5, 5.2, -3.0, -2.9, -3.5, 2.0]
    assert turning_points(x)[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert turning_points(x, hysteresis=1.0)[0].tolist() == [0, 3, 6, 7]


@pytest.mark.parametrize("hysteresis", [0.3, 1.0, 2.0])
def test_gated_count_is_the_astm_count_of_the_gated_reversals(hysteresis):
    x = _signal("random_walk", 3, 5_000)
    c = count_cycles(x, hysteresis=hysteresis)
    idx, val = turning_points(x, hysteresis=hysteresis)
    assert sorted(rows(c, False)) == sorted(reference_rows(val, False))
    assert c.ranges.min() > hysteresis


# --- against pyLife's four-point detector (optional) -----------------------------------------

def _pylife_detector(x):
    rf = pytest.importorskip("pylife.stress.rainflow")
    return rf.FourPointDetector(recorder=rf.FullRecorder()).process(np.asarray(x, dtype=float))


def _pylife_aggregate(x) -> Counter:
    det = _pylife_detector(x)
    agg = Counter()
    for a, b in zip(det.recorder.values_from, det.recorder.values_to):
        agg[(abs(a - b), 0.5 * (a + b))] += 1.0
    res = np.asarray(det.residuals)
    for a, b in zip(res[:-1], res[1:]):
        if a != b:          # pyLife's residue repeats the last value when the signal ends on a plateau
            agg[(abs(a - b), 0.5 * (a + b))] += 0.5
    return agg


@pytest.mark.parametrize("seed", range(20))
def test_four_point_method_with_residue_as_halves_gives_the_same_counts(seed):
    x = _signal("integers", seed, 200)
    ours = Counter()
    for r, m, n in zip(count_cycles(x).ranges, count_cycles(x).means, count_cycles(x).counts):
        ours[(r, m)] += n
    # Equal per (range, mean); on exact ties the four-point method books one full cycle
    # where §5.4.4 books two equal half cycles, so the rows themselves may differ.
    assert _pylife_aggregate(x) == ours


@pytest.mark.parametrize("kind", ["gaussian", "random_walk"])
def test_four_point_method_closes_the_same_full_cycles_without_ties(kind):
    x = _signal(kind, 5, 20_000)
    det = _pylife_detector(x)
    a, b = np.asarray(det.recorder.values_from), np.asarray(det.recorder.values_to)
    ia, ib = np.asarray(det.recorder.index_from), np.asarray(det.recorder.index_to)
    c = count_cycles(x)
    full = c.counts == 1.0
    ours = sorted(zip(c.ranges[full].tolist(), c.means[full].tolist(), c.start[full].tolist(), c.end[full].tolist()))
    theirs = sorted(zip(np.abs(a - b).tolist(), (0.5 * (a + b)).tolist(), ia.tolist(), ib.tolist()))
    assert ours == theirs
