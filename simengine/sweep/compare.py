"""Variants side by side: each KPI's mean with its interval, and paired differences against a baseline.

Replica i of every variant ran with the same random numbers, so the
difference ``d_i = x_i(variant) - x_i(baseline)`` pairs two outcomes of the
same luck, and its spread is the variants' effect alone. The interval of the
mean difference is the BCa bootstrap of their mean from
``intervals.BOOTSTRAP_MIN_N`` to ``intervals.BOOTSTRAP_MAX_N`` pairs and the
Student t interval on the d_i otherwise, as for a run's means (a difference has no range, so neither is cut).

The variance reduction that common random numbers bought: with independent
seeds the mean difference would have had the variance ``(s_v² + s_b²) / n``,
with common ones it has ``s_d² / n``; their ratio ``(s_v² + s_b²) / s_d²``
is estimated from the same replicas (each variant's own replicas are an
independent sample of it, whatever the pairing). Above 1 the pairing helped;
infinite where every pair agrees exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simengine.engine.kpis import KPIS
from simengine.results import intervals
from simengine.results.summary import summarize

PAIRED_T = "paired Student t"
PAIRED_BOOTSTRAP = "paired bootstrap BCa"
NO_PAIRS = "fewer than 2 pairs: no interval"
IDENTICAL = "every pair equal"


@dataclass(frozen=True)
class Difference:
    """A variant's KPI minus the baseline's, over the replicas where both have a value."""

    n: int
    mean: float
    ci95_low: float
    ci95_high: float
    method: str
    variance_reduction: float  # (s_v² + s_b²) / s_d²: how many times more replicas independent seeds would need


def paired_difference(x: np.ndarray, base: np.ndarray) -> Difference:
    """`x` (a variant's values over replicas) against `base` (the baseline's, the same replicas)."""
    both = np.isfinite(x) & np.isfinite(base)
    a, b = x[both], base[both]
    d = a - b
    n = int(d.size)
    if n == 0:
        return Difference(0, math.nan, math.nan, math.nan, NO_PAIRS, math.nan)
    mean = float(d.mean())
    if n < 2:
        return Difference(n, mean, math.nan, math.nan, NO_PAIRS, math.nan)
    independent = float(a.var(ddof=1) + b.var(ddof=1))
    paired = float(d.var(ddof=1))
    if paired == 0.0:
        reduction = math.nan if independent == 0.0 else math.inf
        return Difference(n, mean, mean, mean, IDENTICAL, reduction)
    if intervals.uses_bootstrap(n):
        (low, high), method = intervals.bootstrap_mean(d), PAIRED_BOOTSTRAP
    else:
        (low, high), method = intervals.student_t(d), PAIRED_T
    return Difference(n, mean, low, high, method, independent / paired)


@dataclass(frozen=True)
class Comparison:
    """Every KPI of every variant: the means (a run's summary per variant) and the differences from the baseline."""

    labels: list[str]
    baseline: int
    means: dict[str, list[dict]]  # KPI -> per variant: summarize()'s dict (mean, ci95_low, ci95_high, ci_method, ...)
    differences: dict[str, list[Difference]]  # KPI -> per variant (the baseline's own: zero, no interval)


def compare(kpis: dict[str, np.ndarray], labels: list[str], baseline: int = 0) -> Comparison:
    """`kpis`: name -> array (variant, replica), replica i of each variant with the same random numbers."""
    means = {name: [] for name in kpis}
    differences = {name: [] for name in kpis}
    for name, table in kpis.items():
        for v in range(table.shape[0]):
            means[name].append(summarize({name: table[v]}, KPIS)[name])
            differences[name].append(paired_difference(table[v], table[baseline]))
    return Comparison(list(labels), baseline, means, differences)


def reduction_summary(comparison: Comparison) -> dict[str, float]:
    """Per KPI, the median variance reduction over the non-baseline variants (NaN where none is defined)."""
    out = {}
    for name, diffs in comparison.differences.items():
        values = [d.variance_reduction for v, d in enumerate(diffs)
                  if v != comparison.baseline and not math.isnan(d.variance_reduction)]
        out[name] = float(np.median(values)) if values else math.nan
    return out
