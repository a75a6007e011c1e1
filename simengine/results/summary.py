"""Across-replica statistics of key performance indicators (KPIs).

Each KPI is one value per replica, in the unit its :class:`KpiSpec` declares
(``downtime_h`` in hours, ``maintenance_cost_eur`` in euros); the summary
keeps that unit. The 95 % confidence interval of the mean depends on the
KPI's kind and range (see :mod:`simengine.results.intervals`): an exact
Poisson interval for counts, for fractions and continuous KPIs a bootstrap
(30 replicas or more) or a t interval within the range (fewer), the plain
Student t interval for a KPI without a spec. Each summary names its method
under ``ci_method``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STAT_NAMES = ("n", "mean", "std", "median", "ci95_low", "ci95_high", "p5", "p95")
KINDS = ("count", "fraction", "continuous")
NO_INTERVAL = "1 replica: no interval"
NO_VALUES = "no values"


@dataclass(frozen=True)
class KpiSpec:
    """What a KPI is: its kind (a count of events, a fraction, a continuous quantity), unit and range."""

    kind: str
    unit: str
    low: float = 0.0
    high: float = math.inf
    doc: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind = {self.kind!r}: must be one of {', '.join(KINDS)}")
        if self.kind == "fraction" and (self.low, self.high) != (0.0, 1.0):
            raise ValueError(f"a fraction's range is [0, 1], not [{self.low}, {self.high}]")


def summarize(kpis: dict[str, np.ndarray], specs: dict[str, KpiSpec] | None = None) -> dict[str, dict]:
    """Summarise each KPI across replicas.

    Args:
        kpis: KPI name -> array of shape (n_replicas,), one value per replica.
        specs: KPI name -> its spec; a KPI without one gets the unbounded t interval.

    Returns:
        KPI name -> {"n", "mean", "std", "median", "ci95_low", "ci95_high",
        "p5", "p95"} (floats) and "ci_method" (str). Non-finite values (a
        replica with no detection has no lead time) are left out and ``n``
        counts the rest. With n = 1 the standard deviation and the interval
        are NaN and the method says "1 replica: no interval".
    """
    specs = specs or {}
    return {name: _summarize_one(name, values, specs.get(name)) for name, values in kpis.items()}


def _summarize_one(name: str, values: np.ndarray, spec: KpiSpec | None) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"kpis[{name!r}] has shape {arr.shape}; must be 1-D (one value per replica)")
    x = arr[np.isfinite(arr)]
    n = x.size
    if n == 0:
        return {"n": 0.0} | {key: math.nan for key in STAT_NAMES[1:]} | {"ci_method": NO_VALUES}
    _check_range(name, x, spec)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    (low, high), method = _interval(name, x, spec) if n > 1 else ((math.nan, math.nan), NO_INTERVAL)
    p5, median, p95 = (float(v) for v in np.percentile(x, [5.0, 50.0, 95.0]))
    return {
        "n": float(n), "mean": mean, "std": std, "median": median,
        "ci95_low": low, "ci95_high": high, "p5": p5, "p95": p95, "ci_method": method,
    }


def _check_range(name: str, x: np.ndarray, spec: KpiSpec | None) -> None:
    # A value outside its KPI's range is a bug upstream; an interval built on it would hide that.
    if spec is None:
        return
    bad = x[(x < spec.low) | (x > spec.high)]
    if bad.size:
        raise ValueError(f"kpis[{name!r}] has {bad.size} value(s) outside its range [{spec.low}, {spec.high}], "
                         f"e.g. {bad[0]!r}")
    if spec.kind == "count" and not np.array_equal(x, np.round(x)):
        raise ValueError(f"kpis[{name!r}] is a count but holds non-integer values, e.g. {x[x != np.round(x)][0]!r}")


def _interval(name: str, x: np.ndarray, spec: KpiSpec | None) -> tuple[tuple[float, float], str]:
    from simengine.results import intervals  # scipy.stats: ~0.6 s, not needed to declare or check a KPI

    if spec is None:
        return intervals.student_t(x), intervals.STUDENT_T
    if spec.kind != "count":
        return intervals.mean_in_range(x, spec.low, spec.high)
    if not intervals.overdispersed(x):
        return intervals.poisson_exact(int(x.sum()), x.size), intervals.POISSON
    interval, method = intervals.mean_in_range(x, spec.low, spec.high)
    return interval, method + intervals.OVERDISPERSED


def format_table(summary: dict[str, dict]) -> str:
    """Render a summary as an aligned plain-text table for the terminal.

    Columns: kpi, mean, 95% CI, median, p5, p95, CI method (with the number
    of replicas that have the KPI, when some lack it).
    """
    header = ("kpi", "mean", "95% CI", "median", "p5", "p95", "CI method")
    replicas = max((int(s["n"]) for s in summary.values()), default=0)
    rows = [
        (name, _num(s["mean"]), _ci(s), _num(s["median"]), _num(s["p5"]), _num(s["p95"]), _method(s, replicas))
        for name, s in summary.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [_line(header, widths), "  ".join("-" * w for w in widths)]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


def _method(s: dict, replicas: int) -> str:
    # A KPI that some replicas lack (no detection, no lead time) is averaged over fewer: say so.
    n = int(s["n"])
    method = s.get("ci_method", "")
    if method in (NO_INTERVAL, NO_VALUES):
        return "-"  # the interval's column already says why there is none
    return f"{method}; {n} of {replicas} replicas" if 0 < n < replicas else method


def _ci(s: dict) -> str:
    if math.isnan(s["ci95_low"]) and s.get("ci_method") in (NO_INTERVAL, NO_VALUES):
        return s["ci_method"]
    return f"[{_num(s['ci95_low'])}, {_num(s['ci95_high'])}]"


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    # Names read best left-aligned, numbers right-aligned so digits line up; the method is text again.
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(cells[1:-1], widths[1:-1])]
    return "  ".join([first, *rest, cells[-1].ljust(widths[-1])]).rstrip()


def _num(value: float) -> str:
    if math.isnan(value):
        return "nan"
    # Costs and hours in the thousands read better whole than as 1.234e+04.
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e9 else f"{value:.4g}"
