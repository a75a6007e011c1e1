"""Compiled inner loops of the rainflow counter (numba; no Python objects inside).

Two tight loops, run block by block so the reversals between them stay in
the L1 cache:

1. `_reversals_into` finds the final reversals (peaks and valleys) of a block
   of samples: the starting point, then each extreme once the signal has
   travelled back from it by more than the gate (0: any travel). A plateau is
   one reversal, at its first sample. The latest extreme is not final until
   the signal turns, so it stays pending in the state. Without a gate, a
   block without plateaus takes a branch-free path (signs of differences).
2. `_count_into` feeds each reversal to the three-point stack of
   ASTM E1049-85 §5.4.4 (with the starting-point rule) and writes the cycles.

The caller allocates every large array (numpy's allocator asks the kernel
for transparent huge pages; fresh 4 KiB pages from numba's allocator cost
about a third more time on a 10^6-sample signal). Everything a later chunk
needs lives in caller-owned state, so counting a
signal in chunks of any size gives exactly the rows of counting it whole:

    fstate[0]   value of the pending extreme c
    istate[0]   direction of travel since the last reversal: +1, -1, 0 = none yet
    istate[1]   sample index of c
    istate[2]   1 once the starting point has been pushed
    sv, si, n   the counting stack: values, sample indices, length. The caller
                grows it when a kernel stops for room (converging histories).

Cycle rows: from-value a (earlier), to-value b; range |a - b|, mean (a + b)/2,
count 1.0 for a full cycle or 0.5 for a half cycle, sample indices of a and b.
"""

from __future__ import annotations

import logging

import numpy as np
from numba import njit

from simengine import caches

log = logging.getLogger(__name__)

# Compiled once per user, then loaded from the cache folder (see simengine.caches).
_CACHE = caches.configure_numba()

BLOCK = 4096  # samples per block: the block's reversals fit in L1 next to the stack top


@njit(cache=_CACHE, nogil=True)
def _strict_reversals_into(x, j, hi, offset, c, ic, d, rv, ri, k):
    """Fast path of `_reversals_into` for gate 0 (c then has the value of sample j - 1).

    A sample is a reversal iff the signal rises on one side of it and not on
    the other; with no two equal neighbours (no plateau) in c, x[j:hi] that is
    exactly the state machine's rule, and it runs without branches: every
    sample is written as a candidate and the count moves on only at a
    reversal. Comparing samples (not their differences) keeps the loop short.
    Returns (k, ok, direction of the last step); ok is False if a plateau was
    seen, and the caller then takes the slow path.
    """
    up = d > 0
    prev = c
    cur = x[j]
    flat = cur == prev
    rv[k] = prev
    ri[k] = ic
    rising = cur > prev
    k += up != rising
    up = rising
    for t in range(j, hi - 1):
        prev = x[t]                        # two loads: shorter than carrying the sample over
        cur = x[t + 1]
        flat |= cur == prev
        rv[k] = prev
        ri[k] = offset + t
        rising = cur > prev
        k += up != rising
        up = rising
    return k, not flat, 1 if up else -1


@njit(cache=_CACHE, nogil=True)
def _reversals_into(x, lo, hi, offset, gate, fstate, istate, rv, ri):
    """Write the final reversals of x[lo:hi] to rv/ri; return how many."""
    k = 0
    j = lo
    if j < hi and istate[2] == 0:
        rv[0] = x[j]
        ri[0] = offset + j
        k = 1
        fstate[0] = x[j]
        istate[1] = offset + j
        istate[2] = 1
        j += 1
    c = fstate[0]
    ic = istate[1]
    d = istate[0]
    while d == 0 and j < hi:                  # no travel beyond the gate yet
        xj = x[j]
        if xj - c > gate:
            d = 1
            c = xj
            ic = offset + j
        elif c - xj > gate:
            d = -1
            c = xj
            ic = offset + j
        j += 1
    if gate == 0.0 and d != 0 and j < hi:     # with no gate, c always has the previous sample's value
        k_fast, ok, d_last = _strict_reversals_into(x, j, hi, offset, c, ic, d, rv, ri, k)
        if ok:                                # else: a plateau in the block, redo it below
            k = k_fast
            c = x[hi - 1]
            ic = offset + hi - 1
            d = d_last
            j = hi
    while j < hi:
        if d > 0:                             # rising: c is a candidate peak
            while j < hi:
                xj = x[j]
                j += 1
                if xj > c:
                    c = xj
                    ic = offset + j - 1
                elif c - xj > gate:
                    rv[k] = c
                    ri[k] = ic
                    k += 1
                    c = xj
                    ic = offset + j - 1
                    d = -1
                    break
        else:                                 # falling: c is a candidate valley
            while j < hi:
                xj = x[j]
                j += 1
                if xj < c:
                    c = xj
                    ic = offset + j - 1
                elif xj - c > gate:
                    rv[k] = c
                    ri[k] = ic
                    k += 1
                    c = xj
                    ic = offset + j - 1
                    d = 1
                    break
    fstate[0] = c
    istate[0] = d
    istate[1] = ic
    return k


@njit(cache=_CACHE, nogil=True)
def _count_into(rv, ri, nrev, sv, si, n, out_r, out_m, out_c, out_s, out_e, k):
    """Push reversals rv[:nrev] on the stack, writing closed cycles from row k; return (n, k).

    The incoming reversal z stays in registers while the ranges it closes are
    popped: X = |z - top|, Y = |top - below| in the standard's terms. X < Y
    implies that z lies beyond `below` on the side of `top`, which is cheaper
    to test; the exact test of the ranges follows, so the rows are the same.
    """
    for p in range(nrev):
        z = rv[p]
        while n >= 2:
            y2 = sv[n - 1]
            y1 = sv[n - 2]
            # X < Y: read the next reversal (the cheap test first; the ranges can round to X = Y)
            if ((z > y1) if y2 > y1 else (z < y1)) and abs(z - y2) < abs(y2 - y1):
                break
            out_r[k] = abs(y1 - y2)
            out_m[k] = 0.5 * (y1 + y2)
            if n == 2:                        # Y holds the starting point: half cycle,
                out_c[k] = 0.5                # the start moves to the second point of Y
                out_s[k] = si[0]
                out_e[k] = si[1]
                sv[0] = y2
                si[0] = si[1]
                n = 1
                k += 1
                break
            out_c[k] = 1.0                    # full cycle: drop its peak and valley
            out_s[k] = si[n - 2]
            out_e[k] = si[n - 1]
            n -= 2
            k += 1
        sv[n] = z
        si[n] = ri[p]
        n += 1
    return n, k


@njit(cache=_CACHE, nogil=True)
def residue_into(fstate, istate, sv, si, n, out_r, out_m, out_c, out_s, out_e, k):
    """Push the pending end point, then count what is left as half cycles (§5.4.4, last step).

    Writes from row k (room for n + 1 rows needed); returns the new row count.
    The stack must hold n + 1 entries. Clears the direction: nothing is pending after.
    """
    if istate[0] != 0:
        rv = np.empty(1, np.float64)
        ri = np.empty(1, np.int64)
        rv[0] = fstate[0]
        ri[0] = istate[1]
        n, k = _count_into(rv, ri, 1, sv, si, n, out_r, out_m, out_c, out_s, out_e, k)
        istate[0] = 0
    for p in range(n - 1):
        out_r[k] = abs(sv[p] - sv[p + 1])
        out_m[k] = 0.5 * (sv[p] + sv[p + 1])
        out_c[k] = 0.5
        out_s[k] = si[p]
        out_e[k] = si[p + 1]
        k += 1
    return k


@njit(cache=_CACHE, nogil=True)
def process_into(x, lo, offset, gate, fstate, istate, sv, si, n, out_r, out_m, out_c, out_s, out_e, k):
    """Count the cycles closed by samples x[lo:] (global index of x[0]: offset), from output row k.

    Output rows: room for n + len(x) + 1 needed (each row takes at least one
    reversal off the stack). Goes block by block while the stack has room for
    another block's pushes; returns (n, k, where it stopped) so that the
    caller can grow the stack and call again. State and stack are updated in place.
    """
    rv = np.empty(BLOCK + 2, np.float64)
    ri = np.empty(BLOCK + 2, np.int64)
    m = x.shape[0]
    while lo < m and n + BLOCK + 2 <= sv.shape[0]:
        hi = min(lo + BLOCK, m)
        nrev = _reversals_into(x, lo, hi, offset, gate, fstate, istate, rv, ri)
        n, k = _count_into(rv, ri, nrev, sv, si, n, out_r, out_m, out_c, out_s, out_e, k)
        lo = hi
    return n, k, lo


@njit(cache=_CACHE, nogil=True)
def reversals_into(x, gate, rv, ri):
    """Reversals of a whole signal (start, final extremes, end): values into rv, indices into ri.

    rv and ri need len(x) + 1 entries; returns how many were written.
    """
    m = x.shape[0]
    fstate = np.zeros(1, np.float64)
    istate = np.zeros(3, np.int64)
    k = _reversals_into(x, 0, m, 0, gate, fstate, istate, rv, ri)
    if istate[0] != 0:
        rv[k] = fstate[0]
        ri[k] = istate[1]
        k += 1
    return k


_KERNELS = (_strict_reversals_into, _reversals_into, _count_into, residue_into, process_into, reversals_into)


def call(kernel, *args):
    """`kernel(*args)`; if cached machine code cannot be read, compile afresh.

    numba writes its cache files atomically, but a file cut short by a full
    disk or damaged later fails to unpickle when a process first calls the
    kernel. The cache is only a shortcut: the unreadable entries are dropped
    (first the kernel's own, then those of every kernel not yet loaded, as a
    fresh compilation loads its callees), rewritten by compiling, and the
    count goes on.
    """
    if kernel.overloads or not _CACHE:        # loaded already, or nothing to load
        return kernel(*args)
    for suspects in ((kernel,), _KERNELS):
        try:
            return kernel(*args)
        except Exception as err:  # noqa: BLE001 - a failed load raises whatever unpickling raises
            log.debug("rainflow kernel cache unreadable (%s: %s): compiling afresh", type(err).__name__, err)
            for k in suspects:
                if not k.overloads:
                    k._cache.flush()          # an empty index: the next call compiles and saves
    return kernel(*args)
