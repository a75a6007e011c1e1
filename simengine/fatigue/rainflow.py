"""Rainflow cycle counting to ASTM E1049-85 (reapproved 2017), §5.4.4.

Method: the standard's three-point "rainflow counting" of §5.4.4.2 with its
starting-point rule. Reading the reversals in order, X is the range between
the newest two points and Y the range before it:

* X < Y: read the next reversal;
* X >= Y and Y holds the starting point S: count Y as a half cycle, discard
  the first point of Y, and S moves to the second point of Y;
* X >= Y otherwise: count Y as one cycle and discard its peak and valley.

At the end of the history every range left is counted as a half cycle. For
the standard's Fig. 6 history (-2, 1, -3, 5, -1, 3, -4, 4, -2) this gives its
Table 4: range 3: 0.5, 4: 1.5, 6: 0.5, 8: 1.0, 9: 0.5.

The four-point method (pyLife's `FourPointDetector`) leaves its residue
open; booked as half cycles, it gives the same count per (range, mean) as
§5.4.4 (tested on random signals). The rows can differ only on exact ties in
the part of the history that the starting-point rule consumes: there the
four-point method books one full cycle where §5.4.4 books two half cycles of
the same range and mean. Signals without ties give identical full cycles.

Reversals (turning points): the first sample, each final peak and valley and
the last sample, as the standard treats the ends of a history. A plateau is
one reversal at its first sample; samples that continue the current direction
are not reversals. An optional hysteresis gate h >= 0 drops reversals whose
travel back is not more than h (h = 0: any travel counts). Values are in the
unit of the signal (Pa for a stress history); ranges and means likewise.

Counting streams: `RainflowCounter.process(chunk)` returns the cycles that
chunk closes and keeps the open stack and the pending extreme, `finish()`
counts the residue; any split of the signal gives the rows of the whole.
The loops run compiled (numba), see `_rainflow_kernel`; the machine code is
kept in the user's cache folder (`simengine.caches`), so only a user's first
process compiles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simengine.fatigue import _rainflow_kernel as _k

__all__ = ["Cycles", "RainflowCounter", "count_cycles", "turning_points"]


@dataclass(frozen=True, eq=False)
class Cycles:
    """Counted cycles, one row per full or half cycle (read-only arrays, all shape (n,)).

    ranges: |a - b| of the cycle's reversals a (earlier) and b, unit of the signal.
    means:  (a + b) / 2, unit of the signal.
    counts: 1.0 for a full cycle, 0.5 for a half cycle.
    start, end: int64 sample indices of a and b; None where unknown (e.g.
        cycles rebuilt from a histogram).
    """

    ranges: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    start: np.ndarray | None = None
    end: np.ndarray | None = None

    def __post_init__(self):
        fields = {"ranges": self.ranges, "means": self.means, "counts": self.counts}
        fields.update({k: v for k, v in (("start", self.start), ("end", self.end)) if v is not None})
        arrays = {k: np.array(real_array(v, f"Cycles.{k}"), dtype=np.int64 if k in ("start", "end") else np.float64)
                  for k, v in fields.items()}
        problems = [f"{k} must be 1-D, got shape {a.shape}" for k, a in arrays.items() if a.ndim != 1]
        if (self.start is None) != (self.end is None):
            problems.append("start and end must be given together or not at all")
        lengths = {k: a.shape[0] for k, a in arrays.items() if a.ndim == 1}
        if len(set(lengths.values())) > 1:
            problems.append(f"arrays must have one length, got {lengths}")
        if not problems:
            for k in ("ranges", "means", "counts"):
                bad = np.flatnonzero(~np.isfinite(arrays[k]))
                if bad.size:
                    problems.append(f"{k}[{bad[0]}] = {arrays[k][bad[0]]} must be finite")
            bad = np.flatnonzero(arrays["ranges"] < 0)
            if bad.size:
                problems.append(f"ranges[{bad[0]}] = {arrays['ranges'][bad[0]]} must be >= 0")
            bad = np.flatnonzero(arrays["counts"] <= 0)
            if bad.size:
                problems.append(f"counts[{bad[0]}] = {arrays['counts'][bad[0]]} must be > 0")
        if problems:
            raise ValueError("Cycles: " + "; ".join(problems))
        for k, a in arrays.items():
            a.setflags(write=False)
            object.__setattr__(self, k, a)

    @classmethod
    def _trusted(cls, ranges, means, counts, start, end) -> Cycles:
        """Wrap kernel output without re-validating it (the kernel's invariants hold)."""
        self = object.__new__(cls)
        for k, a in (("ranges", ranges), ("means", means), ("counts", counts), ("start", start), ("end", end)):
            if a is not None:
                a.setflags(write=False)
            object.__setattr__(self, k, a)
        return self

    @classmethod
    def empty(cls) -> Cycles:
        z, i = np.empty(0, np.float64), np.empty(0, np.int64)
        return cls._trusted(z, z.copy(), z.copy(), i, i.copy())

    @classmethod
    def concatenate(cls, parts: Sequence[Cycles]) -> Cycles:
        """Rows of `parts` in order; indices kept only if every part has them."""
        if not parts:
            return cls.empty()
        with_index = all(p.start is not None for p in parts)
        return cls._trusted(np.concatenate([p.ranges for p in parts]), np.concatenate([p.means for p in parts]),
                            np.concatenate([p.counts for p in parts]),
                            np.concatenate([p.start for p in parts]) if with_index else None,
                            np.concatenate([p.end for p in parts]) if with_index else None)

    def __len__(self) -> int:
        return self.ranges.shape[0]

    @property
    def amplitudes(self) -> np.ndarray:
        """Half ranges, unit of the signal."""
        return 0.5 * self.ranges

    @property
    def total(self) -> float:
        """Number of cycles: sum of counts (half cycles count 0.5)."""
        return float(self.counts.sum())

    def moment(self, m: float) -> float:
        """Sum of count * range**m: the damage-relevant sum for a Basquin slope m."""
        return float(np.dot(self.counts, self.ranges ** m))


_EXPECTED = "expected a 1-D array of finite real numbers (a list, tuple or NumPy array of ints or floats)"


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def real_array(value, name: str) -> np.ndarray:
    """`value` as a float64 array of any shape, or a TypeError naming `name`, what it got and what is expected:
    strings, None, mappings, complex, boolean and non-numeric values are refused, not coerced."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} is {_shown(value)}; {_EXPECTED}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged nesting
        raise ValueError(f"{name} is {_shown(value)}, not an array ({err}); {_EXPECTED}") from None
    if arr.dtype.kind not in "iuf":
        what = {"c": "complex values", "b": "booleans", "U": "strings", "S": "bytes", "O": "Python objects",
                "M": "datetimes", "m": "timedeltas"}.get(arr.dtype.kind, f"dtype {arr.dtype}")
        raise TypeError(f"{name} holds {what} ({_shown(value)}); {_EXPECTED}")
    return arr.astype(np.float64, copy=False)


def _as_signal(signal, offset: int = 0, name: str = "signal") -> np.ndarray:
    x = real_array(signal, name)
    if x.ndim == 0:
        raise TypeError(f"{name} is a scalar ({_shown(signal)}); {_EXPECTED}")
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}; {_EXPECTED}")
    x = np.ascontiguousarray(x)
    if x.size and not np.isfinite(np.add.reduce(x)):  # one fast pass; finite sum => all finite
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name} sample {offset + i} is {x[i]}; rainflow counting needs finite samples")
    return x


def _as_gate(hysteresis: float) -> float:
    if isinstance(hysteresis, (bool, np.bool_)) or not isinstance(hysteresis, (int, float, np.integer, np.floating)):
        raise TypeError(f"hysteresis is {_shown(hysteresis)}; expected a finite real number >= 0")
    h = float(hysteresis)
    if not (h >= 0.0 and np.isfinite(h)):
        raise ValueError(f"hysteresis {hysteresis!r} must be finite and >= 0")
    return h


def turning_points(signal, *, hysteresis: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Reversals of a signal: (indices (k,) int64, values (k,) float64).

    The first sample, every peak and valley (a plateau once, at its first
    sample; reversals whose travel back is not more than `hysteresis` are
    dropped) and the end point. A constant signal has only its first sample.
    """
    x = _as_signal(signal)
    rv, ri = np.empty(x.size + 1, np.float64), np.empty(x.size + 1, np.int64)
    k = _k.call(_k.reversals_into, x, _as_gate(hysteresis), rv, ri)
    return ri[:k], rv[:k]


def count_cycles(signal, *, hysteresis: float = 0.0) -> Cycles:
    """Rainflow cycles of a whole signal (shape (n,), any unit), residue counted as half cycles."""
    return RainflowCounter(hysteresis)._count(_as_signal(signal), last=True)


_STACK0 = 4 * _k.BLOCK


def _rows(capacity: int) -> tuple[np.ndarray, ...]:
    """Output buffers for the kernel: ranges, means, counts, start, end."""
    f, i = np.float64, np.int64
    return (np.empty(capacity, f), np.empty(capacity, f), np.empty(capacity, f),
            np.empty(capacity, i), np.empty(capacity, i))


class RainflowCounter:
    """Streaming rainflow counter: chunks in, the cycles each chunk closes out.

        counter = RainflowCounter()
        closed = [counter.process(chunk) for chunk in chunks]
        closed.append(counter.finish())           # residue as half cycles
        Cycles.concatenate(closed)                 # == count_cycles(whole signal)

    Sample indices in the output are global (counted from the first sample of
    the first chunk).
    """

    def __init__(self, hysteresis: float = 0.0):
        self.hysteresis = _as_gate(hysteresis)
        self._fstate = np.zeros(1, np.float64)
        self._istate = np.zeros(3, np.int64)
        self._sv = np.empty(_STACK0, np.float64)   # grows only for converging histories
        self._si = np.empty(_STACK0, np.int64)
        self._n = 0
        self._seen = 0
        self._finished = False

    @property
    def samples_seen(self) -> int:
        return self._seen

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def residue(self) -> tuple[np.ndarray, np.ndarray]:
        """Open reversals so far, as (indices, values); the last may still move."""
        idx, val = self._si[:self._n].copy(), self._sv[:self._n].copy()
        if self._istate[0] != 0:
            idx = np.append(idx, self._istate[1])
            val = np.append(val, self._fstate[0])
        return idx, val

    def process(self, chunk) -> Cycles:
        """Cycles closed by this chunk (shape (m,) samples, any m >= 0)."""
        self._check_open("process")
        return self._count(_as_signal(chunk, self._seen, "chunk"), last=False)

    def finish(self) -> Cycles:
        """The residue as half cycles; the counter takes no more samples afterwards."""
        self._check_open("finish")
        return self._count(np.empty(0, np.float64), last=True)

    def _count(self, x: np.ndarray, last: bool) -> Cycles:
        m = x.shape[0]
        out = _rows(self._n + m + 2)
        k, lo = 0, 0
        while True:
            self._n, k, lo = _k.call(_k.process_into, x, lo, self._seen, self.hysteresis, self._fstate,
                                     self._istate, self._sv, self._si, self._n, *out, k)
            if lo == m:
                break
            self._grow()
        self._seen += m
        if last:
            k = _k.call(_k.residue_into, self._fstate, self._istate, self._sv, self._si, self._n, *out, k)
            self._n = 0
            self._finished = True
        return Cycles._trusted(*(a[:k] for a in out))

    def _grow(self) -> None:
        cap = 2 * self._sv.shape[0]
        sv, si = np.empty(cap, np.float64), np.empty(cap, np.int64)
        sv[:self._n], si[:self._n] = self._sv[:self._n], self._si[:self._n]
        self._sv, self._si = sv, si

    def _check_open(self, what: str) -> None:
        if self._finished:
            raise RuntimeError(f"RainflowCounter.{what}() after finish(); start a new counter")
