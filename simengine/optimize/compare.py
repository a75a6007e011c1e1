"""Which settings the noise cannot tell from the best: paired comparisons on common random numbers.

Every setting ran the same replica seeds, so the difference of a setting and
the best is taken replica by replica, d_i = x_i - x_best,i, and its mean gets
a Student t interval (95 %). Much of the noise is shared by both settings
(the same failures, the same weather) and cancels in d_i, so the interval is
far narrower than the two settings' own intervals would suggest. A setting
whose interval includes 0 is "indistinguishable" from the best: more
replicas would be needed to rank them. The intervals are per comparison (no
multiplicity correction): among many settings some worse one may pass by
chance, and the best's own mean is optimistic for the same reason (it won a
contest among noisy means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simengine.config.optimize import Constraint
from simengine.engine.kpis import KPIS
from simengine.optimize.study import TrialResult, kpi_mean
from simengine.results.intervals import student_t
from simengine.results.summary import summarize

BEST, SAME, WORSE, INFEASIBLE, NO_VALUE = "best", "indistinguishable", "worse", "infeasible", "no value"


@dataclass
class Candidate:
    """A distinct setting, its objective's mean and interval, and how it compares with the best."""

    setting: dict[str, float | int]
    trials: list[int]
    kpis: dict[str, np.ndarray]
    mean: float
    ci: tuple[float, float]
    ci_method: str
    violations: list[float]
    diff: tuple[float, float, float] | None = None  # mean, low, high of (this - best), paired
    verdict: str = WORSE
    means: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.mean) and all(v <= 0.0 for v in self.violations)


def compare(trials: list[TrialResult], objective: str, direction: str, constraints: list[Constraint]) -> list[Candidate]:
    """The distinct settings, best first, then those indistinguishable from it, the worse ones, the infeasible."""
    candidates = _distinct(trials, objective, constraints)
    sign = 1.0 if direction == "minimize" else -1.0
    feasible = [c for c in candidates if c.feasible]
    for c in candidates:
        c.verdict = NO_VALUE if not math.isfinite(c.mean) else INFEASIBLE
    if not feasible:
        return sorted(candidates, key=lambda c: (sum(max(v, 0.0) for v in c.violations), sign * _or_inf(c.mean)))
    best = min(feasible, key=lambda c: sign * c.mean)
    best.verdict, best.diff = BEST, (0.0, 0.0, 0.0)
    for c in feasible:
        if c is not best:
            c.diff = paired_difference(c.kpis[objective], best.kpis[objective])
            c.verdict = SAME if c.diff[1] <= 0.0 <= c.diff[2] else WORSE
    order = {BEST: 0, SAME: 1, WORSE: 2, INFEASIBLE: 3, NO_VALUE: 4}
    return sorted(candidates, key=lambda c: (order[c.verdict], sign * _or_inf(c.mean)))


def paired_difference(x: np.ndarray, best: np.ndarray) -> tuple[float, float, float]:
    """Mean of x - best over the replicas where both have a value, with its 95 % Student t interval."""
    d = (x - best)[np.isfinite(x) & np.isfinite(best)]
    if d.size < 2:
        return (float(d.mean()) if d.size else math.nan), -math.inf, math.inf
    low, high = student_t(d)
    return float(d.mean()), float(low), float(high)


def _distinct(trials: list[TrialResult], objective: str, constraints: list[Constraint]) -> list[Candidate]:
    by_first: dict[int, Candidate] = {}
    for t in trials:
        first = t.number if t.repeat_of is None else t.repeat_of
        if first in by_first:
            by_first[first].trials.append(t.number)
            continue
        summary = summarize({objective: t.kpis[objective]}, KPIS)[objective]
        means = {name: kpi_mean(values) for name, values in t.kpis.items()}
        by_first[first] = Candidate(
            setting=t.setting, trials=[t.number], kpis=t.kpis, mean=summary["mean"],
            ci=(summary["ci95_low"], summary["ci95_high"]), ci_method=summary["ci_method"],
            violations=[c.violation(means[c.kpi]) for c in constraints], means=means)
    return list(by_first.values())


def _or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf
