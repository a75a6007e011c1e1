"""Rainflow matrix (range x mean) and range histogram of counted cycles.

Bins follow `numpy.histogram`: each bin is half-open [e_i, e_(i+1)) except
the last, which also holds its right edge. Counts are the sums of the cycle
counts (half cycles add 0.5), so a histogram holds exactly the total of the
cycles it was built from. Bin counts given as an int make equal-width edges:
ranges from 0 to the largest range, means from the smallest to the largest
mean (a degenerate span widens to one signal unit). Explicit edges must be
strictly increasing; a cycle outside them is an error unless `clip=True`,
which puts it in the nearest outer bin. Values are in the unit of the signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simengine.fatigue.rainflow import Cycles

__all__ = ["RainflowMatrix", "RangeHistogram", "rainflow_matrix", "range_histogram"]


@dataclass(frozen=True, eq=False)
class RangeHistogram:
    """Cycle counts per range bin: edges (k+1,), counts (k,)."""

    edges: np.ndarray
    counts: np.ndarray

    def __post_init__(self):
        _freeze(self, edges=self.edges, counts=self.counts)
        if self.counts.shape != (self.edges.size - 1,):
            raise ValueError(f"counts shape {self.counts.shape} must be ({self.edges.size - 1},) for "
                             f"{self.edges.size} edges")

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def to_cycles(self) -> Cycles:
        """One row per non-empty bin at the bin centre (mean 0: a range histogram has no means)."""
        keep = self.counts > 0
        return Cycles(self.centers[keep], np.zeros(int(keep.sum())), self.counts[keep])

    def __add__(self, other: RangeHistogram) -> RangeHistogram:
        _same_edges("edges", self.edges, other.edges)
        return RangeHistogram(self.edges, self.counts + other.counts)


@dataclass(frozen=True, eq=False)
class RainflowMatrix:
    """Cycle counts per (range bin, mean bin): range_edges (p+1,), mean_edges (q+1,), counts (p, q)."""

    range_edges: np.ndarray
    mean_edges: np.ndarray
    counts: np.ndarray

    def __post_init__(self):
        _freeze(self, range_edges=self.range_edges, mean_edges=self.mean_edges, counts=self.counts)
        shape = (self.range_edges.size - 1, self.mean_edges.size - 1)
        if self.counts.shape != shape:
            raise ValueError(f"counts shape {self.counts.shape} must be {shape} for the edges given")

    @property
    def range_centers(self) -> np.ndarray:
        return 0.5 * (self.range_edges[:-1] + self.range_edges[1:])

    @property
    def mean_centers(self) -> np.ndarray:
        return 0.5 * (self.mean_edges[:-1] + self.mean_edges[1:])

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def range_histogram(self) -> RangeHistogram:
        """The marginal over means."""
        return RangeHistogram(self.range_edges, self.counts.sum(axis=1))

    def to_cycles(self) -> Cycles:
        """One row per non-empty cell at the cell centre (a spectrum for S-N or crack growth)."""
        r, m = np.nonzero(self.counts > 0)
        return Cycles(self.range_centers[r], self.mean_centers[m], self.counts[r, m])

    def __add__(self, other: RainflowMatrix) -> RainflowMatrix:
        _same_edges("range_edges", self.range_edges, other.range_edges)
        _same_edges("mean_edges", self.mean_edges, other.mean_edges)
        return RainflowMatrix(self.range_edges, self.mean_edges, self.counts + other.counts)


def range_histogram(cycles: Cycles, bins: int | np.ndarray = 32, *, clip: bool = False) -> RangeHistogram:
    """Histogram of cycle ranges; `bins` is a bin count or the edges (k+1,)."""
    edges = _edges("bins", bins, cycles.ranges, lower=0.0)
    i = _bin_index("ranges", cycles.ranges, edges, clip)
    return RangeHistogram(edges, np.bincount(i, weights=cycles.counts, minlength=edges.size - 1))


def rainflow_matrix(cycles: Cycles, range_bins: int | np.ndarray = 32, mean_bins: int | np.ndarray = 32,
                    *, clip: bool = False) -> RainflowMatrix:
    """Range x mean matrix of cycle counts; each of `range_bins`, `mean_bins` a bin count or edges."""
    problems = []
    try:
        r_edges = _edges("range_bins", range_bins, cycles.ranges, lower=0.0)
    except ValueError as err:
        problems.append(str(err))
    try:
        m_edges = _edges("mean_bins", mean_bins, cycles.means, lower=None)
    except ValueError as err:
        problems.append(str(err))
    if problems:
        raise ValueError("; ".join(problems))
    i = _bin_index("ranges", cycles.ranges, r_edges, clip)
    j = _bin_index("means", cycles.means, m_edges, clip)
    p, q = r_edges.size - 1, m_edges.size - 1
    flat = np.bincount(i * q + j, weights=cycles.counts, minlength=p * q)
    return RainflowMatrix(r_edges, m_edges, flat.reshape(p, q))


def _edges(name: str, bins, values: np.ndarray, lower: float | None) -> np.ndarray:
    if np.ndim(bins) == 0:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"{name} {bins!r} must be a positive int or an array of edges")
        lo = lower if lower is not None else (float(values.min()) if values.size else 0.0)
        hi = float(values.max()) if values.size else lo
        if hi <= lo:  # no spread: one signal unit wide, centred when there is no fixed lower edge
            lo, hi = (lo, lo + 1.0) if lower is not None else (lo - 0.5, lo + 0.5)
        return np.linspace(lo, hi, int(bins) + 1)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{name} edges must be 1-D with at least 2 entries, got shape {edges.shape}")
    if not np.all(np.isfinite(edges)):
        raise ValueError(f"{name} edges must be finite, got {edges}")
    if not np.all(np.diff(edges) > 0):
        raise ValueError(f"{name} edges must be strictly increasing, got {edges}")
    return edges


def _bin_index(name: str, values: np.ndarray, edges: np.ndarray, clip: bool) -> np.ndarray:
    i = np.searchsorted(edges, values, side="right") - 1
    i[values == edges[-1]] = edges.size - 2          # the last bin holds its right edge
    outside = (i < 0) | (i > edges.size - 2)
    if outside.any():
        if not clip:
            raise ValueError(f"{int(outside.sum())} cycle(s) have {name} outside the edges "
                             f"[{edges[0]}, {edges[-1]}] (values {values[outside].min()} .. "
                             f"{values[outside].max()}); widen the edges or pass clip=True")
        i = np.clip(i, 0, edges.size - 2)
    return i


def _same_edges(name: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or not np.array_equal(a, b):
        raise ValueError(f"cannot add histograms with different {name}: {a} vs {b}")


def _freeze(obj, **arrays) -> None:
    for name, value in arrays.items():
        a = np.array(value, dtype=np.float64)
        a.setflags(write=False)
        object.__setattr__(obj, name, a)
