"""Report by exception at the edge: which row features are transmitted.

A row's feature F_h (available at the row's end, t_h, in hours) is sent when

    deadband = 0,  or  |F_h − V| > deadband,  or  t_h − T ≥ heartbeat_h,

where V and T are the last transmitted value and time (nothing sent yet: send).
A stuck sensor's feature is constant, so it sends heartbeats only. With rows of
dt hours a heartbeat falls every P = ⌈heartbeat_h / dt⌉ rows.

:func:`deadband_chain` runs this chain exactly (raw fidelity). The feature
fidelity counts instead: exactly for deadband 0 and for heartbeat-only rows
(:func:`heartbeat_rows`), approximately otherwise (:func:`deadband_rate`): for
i.i.d. row noise on a linear trend the last-sent value is a Markov chain,
solved once on a grid per feature law and heartbeat period (cached).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import special

from simengine.sensors.features import MAX, max_moments

_EPS = 1e-9


def deadband_chain(features, row_end_h, deadband, heartbeat_h, last_value, last_time, heartbeat_only):
    """Run the chain over rows exactly.

    features (R, m) (NaN: every sample lost, nothing to send); row_end_h (R,);
    deadband, heartbeat_h, last_value, last_time (m,); heartbeat_only (R, m) bool.
    Returns sent (R, m) bool and the state before each row and after the last:
    values and times, each (R + 1, m).
    """
    rows, m = features.shape
    sent = np.zeros((rows, m), bool)
    values = np.empty((rows + 1, m))
    times = np.empty((rows + 1, m))
    v = np.array(last_value, float)
    t = np.array(last_time, float)
    values[0], times[0] = v, t
    for r in range(rows):
        f = features[r]
        due = row_end_h[r] - t >= heartbeat_h - _EPS
        with np.errstate(invalid="ignore"):
            exception = (deadband == 0) | np.isnan(v) | (np.abs(f - v) > deadband)
        send = ~np.isnan(f) & (due | (exception & ~heartbeat_only[r]))
        v = np.where(send, f, v)
        t = np.where(send, row_end_h[r], t)
        sent[r] = send
        values[r + 1], times[r + 1] = v, t
    return sent, values, times


def heartbeat_period(heartbeat_h, dt_h):
    """Rows between heartbeats, P = ⌈heartbeat_h / dt⌉ ≥ 1."""
    return np.maximum(np.ceil(np.asarray(heartbeat_h, float) / dt_h - _EPS), 1).astype(np.int64)


def heartbeat_rows(last_time, t0_h, dt_h, heartbeat_h, first_row, count_from, n_rows):
    """Heartbeats of heartbeat-only rows, exact.

    The rows from `first_row` on send only heartbeats, the last transmission
    being at `last_time` (h, -inf: never). Counts those in [count_from, n_rows);
    returns (count, time of the last heartbeat before n_rows, or `last_time`).
    All arguments broadcast over sensors.
    """
    period = heartbeat_period(heartbeat_h, dt_h)
    with np.errstate(invalid="ignore"):
        due = np.ceil((last_time + heartbeat_h - t0_h) / dt_h - 1.0 - _EPS)  # first row whose end is due
    first = np.maximum(np.nan_to_num(due, neginf=-1e18, posinf=1e18), first_row)
    k_lo = np.maximum(0, np.ceil((count_from - first) / period))
    k_hi = np.floor((n_rows - 1 - first) / period)
    count = np.maximum(0, k_hi - k_lo + 1).astype(np.int64)
    last = np.where(k_hi >= 0, t0_h + (first + k_hi * period + 1) * dt_h, last_time)
    return count, last


def _standard_density(shape: int, n: int, x):
    """Probability weights on grid x (in sd from the mean) of a standardised feature."""
    if shape == MAX:
        m, s = max_moments(n)
        z = m + s * x
        w = np.exp(np.log(n) - 0.5 * z * z + (n - 1) * special.log_ndtr(z))
    else:
        w = np.exp(-0.5 * x * x)
    return w / w.sum()


X_GRID = np.linspace(-6.0, 6.0, 97)
RHO_GRID = np.linspace(0.0, 10.0, 41)  # deadband / sd(feature)
TAU_GRID = (X_GRID[1] - X_GRID[0]) * np.array([0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128])  # drift / sd per row


@functools.lru_cache(maxsize=64)
def _rate_table(shape: int, n: int, period: int) -> np.ndarray:
    """Stationary transmissions per row on RHO_GRID × TAU_GRID: i.i.d. noise on a linear trend.

    Embedded chain at transmissions, state v = last-sent value minus the mean
    then (in sd). k rows later the mean moved by kτ; the row exceeds with
    p_k(v) = P(|F − (v − kτ)| > ρ). The gap G stops at the first exceedance or
    at the heartbeat (row P); E[G|v] = Σ_{k<P} Π_{j≤k} (1 − p_j(v)). The next
    state is F given that exceedance, or F at the heartbeat. Rate = 1 / E_π[G],
    π the chain's stationary law (a linear solve on the grid).
    """
    x = X_GRID
    size, dx = x.size, x[1] - x[0]
    f = _standard_density(shape, n, x)
    offsets = np.arange(-(size - 1), size)  # v − z in grid steps
    src = np.arange(size)[None, :] - offsets[:, None]  # index of z = v − d
    toeplitz = np.where((src >= 0) & (src < size), f[np.clip(src, 0, size - 1)], 0.0)  # [d, v] = f(v − d)
    diff = np.arange(size)[:, None] - np.arange(size)[None, :] + size - 1  # index of v − z
    k = np.arange(1, period)[:, None]
    table = np.empty((RHO_GRID.size, TAU_GRID.size))
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    for j, tau in enumerate(TAU_GRID):
        shifted = np.abs(offsets[None, :] * dx - k * tau)  # |v − kτ − z|, (k, d)
        for i, rho in enumerate(RHO_GRID):
            g = np.clip((shifted - rho) / dx + 0.5, 0.0, 1.0)  # exceedance indicator, step linearly interpolated
            p = g @ toeplitz  # (k, v)
            survive = np.cumprod(np.concatenate([np.ones((1, size)), 1.0 - p]), axis=0)  # S_0 .. S_{P-1}
            h = survive[:-1].T @ g  # (v, d)
            kernel = (np.take_along_axis(h, diff, axis=1) + survive[-1][:, None]) * f[None, :]
            a = kernel.T - np.eye(size)
            a[-1] = 1.0
            table[i, j] = 1.0 / float(np.linalg.solve(a, rhs) @ survive.sum(axis=0))
    return table


def deadband_rate(rho, tau, shape: int, n: int, period: int):
    """Transmissions per row for deadband = ρ sd and a trend of τ sd per row (bilinear in the table).

    `shape` is the feature kind: the max uses the law of the max of n samples,
    mean and RMS a normal law. Past the table (ρ > 10 or τ > 16) the noise is
    negligible: a trend crosses the deadband every ⌊ρ/τ⌋ + 1 rows, at most P.
    """
    rho, tau = np.broadcast_arrays(np.asarray(rho, float), np.asarray(tau, float))
    table = _rate_table(int(shape == MAX) * MAX, int(n) if shape == MAX else 0, int(period))
    fr = np.clip(rho / RHO_GRID[1], 0.0, RHO_GRID.size - 1.000001)
    i = fr.astype(np.int64)
    wr = fr - i
    j = np.clip(np.searchsorted(TAU_GRID, tau, side="right") - 1, 0, TAU_GRID.size - 2)
    wt = np.clip((tau - TAU_GRID[j]) / (TAU_GRID[j + 1] - TAU_GRID[j]), 0.0, 1.0)
    inside = (1 - wr) * ((1 - wt) * table[i, j] + wt * table[i, j + 1]) + wr * ((1 - wt) * table[i + 1, j] + wt * table[i + 1, j + 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.minimum(np.floor(rho / tau) + 1.0, period)
    outside = 1.0 / np.nan_to_num(gap, nan=period, posinf=period)
    return np.where((rho > RHO_GRID[-1]) | (tau > TAU_GRID[-1]), outside, inside)
