"""Rainflow matrix and range histogram: counts conserved, bin edges as numpy.histogram."""

from __future__ import annotations

import numpy as np
import pytest

from simengine.fatigue.histogram import RainflowMatrix, RangeHistogram, rainflow_matrix, range_histogram
from simengine.fatigue.rainflow import Cycles, RainflowCounter, count_cycles

ASTM_FIG6 = [-2, 1, -3, 5, -1, 3, -4, 4, -2]


@pytest.fixture
def cycles() -> Cycles:
    return count_cycles(np.cumsum(np.random.default_rng(11).standard_normal(20_000)))


@pytest.mark.parametrize("range_bins, mean_bins", [(1, 1), (7, 3), (64, 64), (np.linspace(0, 200, 9), 5)])
def test_counts_are_conserved(cycles, range_bins, mean_bins):
    m = rainflow_matrix(cycles, range_bins, mean_bins, clip=True)
    h = range_histogram(cycles, range_bins)
    assert m.total == cycles.total == h.total
    assert m.counts.shape == (m.range_edges.size - 1, m.mean_edges.size - 1)


def test_matrix_marginal_is_the_range_histogram(cycles):
    m = rainflow_matrix(cycles, 20, 10)
    np.testing.assert_array_equal(m.range_histogram().counts, range_histogram(cycles, m.range_edges).counts)


def test_astm_table4_as_a_histogram():
    h = range_histogram(count_cycles(ASTM_FIG6), np.arange(0.0, 11.0))
    expected = np.zeros(10)
    expected[[3, 4, 6, 8, 9]] = [0.5, 1.5, 0.5, 1.0, 0.5]
    np.testing.assert_array_equal(h.counts, expected)


def test_edges_are_half_open_except_the_last():
    c = Cycles([0.0, 1.0, 1.5, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.5, 1.0, 0.5])
    h = range_histogram(c, np.array([0.0, 1.0, 2.0]))
    # 0 -> [0, 1); 1 and 1.5 -> [1, 2]; 2, on the last edge, stays in the last bin
    np.testing.assert_array_equal(h.counts, [1.0, 2.0])
    np.testing.assert_array_equal(h.counts, np.histogram(c.ranges, [0.0, 1.0, 2.0], weights=c.counts)[0])


def test_automatic_edges_span_the_data(cycles):
    m = rainflow_matrix(cycles, 10, 4)
    assert m.range_edges[0] == 0.0 and m.range_edges[-1] == cycles.ranges.max()
    assert m.mean_edges[0] == cycles.means.min() and m.mean_edges[-1] == cycles.means.max()
    assert m.range_edges.size == 11 and m.mean_edges.size == 5


def test_degenerate_data_gets_one_unit_wide_edges():
    c = Cycles([2.0, 2.0], [3.0, 3.0], [1.0, 0.5])
    m = rainflow_matrix(c, 2, 2)
    np.testing.assert_array_equal(m.mean_edges, [2.5, 3.0, 3.5])
    assert m.total == 1.5
    empty = rainflow_matrix(Cycles.empty(), 4, 4)
    assert empty.total == 0.0 and empty.counts.shape == (4, 4)


def test_outside_explicit_edges_is_an_error_unless_clipped():
    c = Cycles([0.5, 5.0, 9.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"2 cycle\(s\) have ranges outside the edges \[0.0, 4.0\] "
                                         r"\(values 5.0 .. 9.0\)"):
        range_histogram(c, np.array([0.0, 2.0, 4.0]))
    h = range_histogram(c, np.array([0.0, 2.0, 4.0]), clip=True)
    np.testing.assert_array_equal(h.counts, [1.0, 1.5])
    with pytest.raises(ValueError, match="means outside"):
        rainflow_matrix(c, 2, np.array([1.0, 2.0]))


@pytest.mark.parametrize("bins, message", [
    (0, "must be a positive int"),
    (True, "must be a positive int"),
    (2.5, "must be a positive int"),
    ([1.0], "at least 2 entries"),
    (np.zeros((2, 2)), "1-D"),
    ([0.0, np.nan, 2.0], "finite"),
    ([0.0, 2.0, 2.0], "strictly increasing"),
    ([3.0, 2.0], "strictly increasing"),
])
def test_bad_bins(cycles, bins, message):
    with pytest.raises(ValueError, match=message):
        range_histogram(cycles, bins)


def test_matrix_reports_both_bad_bin_arguments_at_once(cycles):
    with pytest.raises(ValueError, match=r"range_bins 0 .*; mean_bins edges must be strictly increasing"):
        rainflow_matrix(cycles, 0, [1.0, 0.0])


def test_to_cycles_round_trip(cycles):
    m = rainflow_matrix(cycles, 16, 8)
    spectrum = m.to_cycles()
    assert spectrum.total == m.total
    again = rainflow_matrix(spectrum, m.range_edges, m.mean_edges)
    np.testing.assert_array_equal(again.counts, m.counts)
    h = m.range_histogram()
    np.testing.assert_array_equal(range_histogram(h.to_cycles(), h.edges).counts, h.counts)


def test_histograms_of_chunks_add_up_to_the_whole():
    x = np.random.default_rng(2).standard_normal(5_000)
    r_edges, m_edges = np.linspace(0, 10, 21), np.linspace(-5, 5, 11)
    counter = RainflowCounter()
    total = RainflowMatrix(r_edges, m_edges, np.zeros((20, 10)))
    for chunk in np.array_split(x, 7):
        total = total + rainflow_matrix(counter.process(chunk), r_edges, m_edges)
    total = total + rainflow_matrix(counter.finish(), r_edges, m_edges)
    np.testing.assert_array_equal(total.counts, rainflow_matrix(count_cycles(x), r_edges, m_edges).counts)


def test_adding_different_edges_is_refused():
    a = RangeHistogram(np.array([0.0, 1.0]), np.array([1.0]))
    b = RangeHistogram(np.array([0.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="different edges"):
        a + b


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"counts shape \(3,\) must be \(1,\)"):
        RangeHistogram(np.array([0.0, 1.0]), np.zeros(3))
    with pytest.raises(ValueError, match=r"must be \(1, 2\)"):
        RainflowMatrix(np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0]), np.zeros((2, 2)))
