"""Report by exception at the edge: which row features are transmitted.

A row's feature F_h (available at the row's end, t_h, in hours) is sent when

    deadband = 0,  or  |F_h − V| > deadband,  or  t_h − T ≥ heartbeat_h,

where V and T are the last transmitted value and time (nothing sent yet: send).
A stuck sensor's feature is constant, so it sends heartbeats only. With rows of
dt hours a heartbeat falls every P = ⌈heartbeat_h / dt⌉ rows.

:func:`deadband_chain` runs this chain exactly (raw fidelity). The feature
fidelity counts instead: exactly for deadband 0 and for heartbeat-only rows
(:func:`heartbeat_rows`), approximately otherwise (:func:`deadband_rate`):
for i.i.d. features the last-sent value is a Markov chain, solved once on a grid.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import special

from simengine.sensors.features import MAX, max_moments

_EPS = 1e-9
RHO_GRID = np.linspace(0.0, 10.0, 81)  # deadband / sd(feature)


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


def _standard_density(shape: int, n: int):
    """Grid x (in sd from the mean) and probability weights of a standardised feature."""
    x = np.linspace(-7.0, 7.0, 241)
    if shape == MAX:
        m, s = max_moments(n)
        z = m + s * x
        w = np.exp(np.log(n) - 0.5 * z * z + (n - 1) * special.log_ndtr(z))
    else:
        w = np.exp(-0.5 * x * x)
    return x, w / w.sum()


@functools.lru_cache(maxsize=64)
def _rate_table(shape: int, n: int, period: int) -> np.ndarray:
    """Stationary transmissions per row for each ρ of RHO_GRID (i.i.d. features, heartbeat every P rows).

    Embedded chain at transmissions, state v = last-sent value: with p(v) =
    P(|F − v| > ρ), the gap G is Geometric(p) truncated at P, E[G|v] = (1 −
    (1 − p)^P)/p; the next value is F given |F − v| > ρ if G < P, else F. Rate =
    1 / E_π[G]. (Without heartbeats the rate is P(|F − F'| > ρ), F' an independent copy.)
    """
    x, f = _standard_density(shape, n)
    dx = x[1] - x[0]
    dist = np.abs(x[:, None] - x[None, :])
    rates = np.empty(RHO_GRID.size)
    for i, rho in enumerate(RHO_GRID):
        beyond = np.clip((dist - rho) / dx + 0.5, 0.0, 1.0)  # linear interpolation of the step
        p = beyond @ f
        stay = (1.0 - p) ** (period - 1)
        gap = np.where(p > 0, (1.0 - (1.0 - p) ** period) / np.maximum(p, 1e-300), period)
        kernel = ((1.0 - stay) / np.maximum(p, 1e-300))[:, None] * beyond * f[None, :] + stay[:, None] * f[None, :]
        a = kernel.T - np.eye(x.size)
        a[-1] = 1.0
        rhs = np.zeros(x.size)
        rhs[-1] = 1.0
        pi = np.linalg.solve(a, rhs)
        rates[i] = 1.0 / float(pi @ gap)
    return rates


def deadband_rate(rho, shape: int, n: int, period: int):
    """Transmissions per row for deadband = ρ · sd(feature) (table + linear interpolation).

    `shape` is the feature kind: the max uses the law of the max of n samples,
    mean and RMS a normal law. Beyond ρ = 10 only heartbeats remain.
    """
    return np.interp(rho, RHO_GRID, _rate_table(int(shape == MAX) * MAX, int(n) if shape == MAX else 0, int(period)))


def expected_transmissions(rows, rate, total_variation, deadband):
    """Expected sends over `rows` rows: noise-driven rate plus trend following (TV of μ / deadband), ≤ rows."""
    return np.minimum(rows, rows * rate + total_variation / deadband)
