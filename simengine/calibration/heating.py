"""The load heating the motor over each interval between readings, and how well it is known.

The motor's heat over an interval is `hoist_heat_W` times the load integrated over it. A load counter
tag (quantity ``load_time_s``: rated-load seconds, ∫ load dt, as a crane's load-spectrum recorder counts
them) gives that integral exactly, gaps included: its increase over the interval. Without one, the load
sampled at the reading stands for the interval it closes, and over a gap in the readings (polls missed,
a link down) the load is unknown: `load_over_gaps` estimates it and says how uncertain the estimate is,
and the fit widens its intervals by what that uncertainty does to the parameters
(`simengine.calibration.input_uncertainty`). It is not small: a thermal fit to an hour of readings pins
τ to 0.2 %, and half a second of a lift's heat misplaced at one missed scan in ten moved τ 4-10 sd.

Loads are load factors (1 = rated load); times in model seconds.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from simengine.kinds.quantities import PHYSICAL_RANGE
from simengine.kinds.registry import kind_of

COUNTER_RISE_MAX = PHYSICAL_RANGE["load_factor"][1]  # a counter rising faster is a spike, not load


class Heating(NamedTuple):
    load: np.ndarray  # (n,) the heating load over the interval each reading closes
    var: np.ndarray  # (n,) its variance where estimated, 0 where known
    counted: np.ndarray  # (n,) True where the counter gave it
    counter_ratio: float  # the counter's load-time over the sampled load's, where both are known; NaN: no counter


def heating_load(load: np.ndarray, counter: np.ndarray | None, dt: np.ndarray, gap: np.ndarray, typical: float,
                 longest_short_s: float) -> Heating:
    """The heating load of each interval from the sampled `load` (n,) and a load counter's readings (n,)
    (NaN where bad; None: no counter), over intervals `dt` (n,) of which `gap` (n,) are gaps; a gap up to
    `longest_short_s` hides at most one change of load."""
    estimate, var = load_over_gaps(load, dt, gap, typical, longest_short_s)
    if counter is None:
        return Heating(estimate, var, np.zeros(load.size, bool), math.nan)
    rate = np.diff(counter, prepend=np.nan) / dt
    # not across a bad reading, a reset (a fall) or a spike (a rise faster than any load could make it)
    counted = np.isfinite(rate) & (rate >= 0) & (rate <= COUNTER_RISE_MAX)
    return Heating(np.where(counted, rate, estimate), np.where(counted, 0.0, var), counted,
                   counter_ratio(rate, load, dt, counted & ~gap))


def steady_load_s(fleet) -> float:
    """The shortest time (s) a fleet's load holds still, as its kind says (a crane's: half a lift cycle)."""
    return kind_of(fleet).steady_load_s(fleet.duty.settings)


def counter_ratio(rate: np.ndarray, load: np.ndarray, dt: np.ndarray, plain: np.ndarray) -> float:
    """Σ counter increase / Σ sampled load·dt over the intervals `plain` (NaN where the load hardly moved):
    ≈ 1 for a counter of ∫ load dt in the unit it names, not for a cubic spectrum count or a wrong unit."""
    sampled = float(np.sum((load * dt)[plain]))
    return float(np.sum((rate * dt)[plain])) / sampled if sampled > 0.05 * np.sum(dt[plain]) else math.nan


def load_over_gaps(load: np.ndarray, dt: np.ndarray, gap: np.ndarray, typical: float,
                   longest_short_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The heating load over each interval, and the variance of that figure, from the sampled load alone
    (each reading's load stands for the interval it closes).

    A short gap (up to `longest_short_s`, no longer than the load holds still) of m typical intervals
    hides m - 1 loads. Within it the load changes at most once, from the reading before to the one
    after, at a point equally likely to be anywhere: each hidden load is one or the other, and the
    gap's mean load is ((m + 1)·after + (m - 1)·before) / 2m with variance δ²(m² - 1)/12m² (δ: after -
    before; 0 with no change). A long gap spans lifts: the window's mean load, with the variance of
    means of as many consecutive readings."""
    if not gap.any():
        return load, np.zeros_like(load)
    before = np.concatenate([[load[0]], load[:-1]])
    m = np.maximum(np.rint(dt / typical), 1.0)  # scans: a late poll's interval of 1.6 typical ones hides one
    estimate = np.where(gap, ((m + 1) * load + (m - 1) * before) / (2 * m), load)
    var = np.where(gap, (load - before) ** 2 * (m**2 - 1) / (12 * m**2), 0.0)
    long_gap = gap & (dt > longest_short_s)
    if long_gap.any():
        # the window's mean load; weighted by the plain intervals, or where there are none (every interval a
        # gap: readings sparse against the duty's lifts) by all of them
        plain = ~gap if np.sum(dt[~gap]) > 0 else np.ones(gap.size, bool)
        estimate[long_gap] = np.average(load[plain], weights=dt[plain])
        var[long_gap] = [block_mean_variance(load, k) for k in m[long_gap].astype(int)]
    return estimate, var


def block_mean_variance(x: np.ndarray, k: int) -> float:
    """Variance of the means of k consecutive values of x (k capped at half of x)."""
    k = max(1, min(k, x.size // 2))
    c = np.concatenate([[0.0], np.cumsum(x)])
    return float(np.var((c[k:] - c[:-k]) / k))
