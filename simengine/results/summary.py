"""Across-replica statistics of key performance indicators (KPIs).

Each KPI is one value per replica, in whatever unit the KPI name says
(``downtime_h`` in hours, ``maintenance_cost_eur`` in euros). The summary
keeps that unit. The confidence interval of the mean is the Student t
interval

    mean ± t_{0.975, n-1} · s / sqrt(n),

with ``s`` the sample standard deviation (ddof = 1).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

STAT_NAMES = ("n", "mean", "std", "median", "ci95_low", "ci95_high", "p5", "p95")


def summarize(kpis: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Summarise each KPI across replicas.

    Args:
        kpis: KPI name -> array of shape (n_replicas,), one value per replica.

    Returns:
        KPI name -> {"n", "mean", "std", "median", "ci95_low", "ci95_high",
        "p5", "p95"}. Non-finite values (a replica with no detection has no
        lead time) are left out and ``n`` counts the rest. With n = 1 the
        standard deviation and the interval are NaN: one sample says nothing
        about spread.
    """
    return {name: _summarize_one(name, values) for name, values in kpis.items()}


def _summarize_one(name: str, values: np.ndarray) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"kpis[{name!r}] has shape {arr.shape}; must be 1-D (one value per replica)")
    x = arr[np.isfinite(arr)]
    n = x.size
    if n == 0:
        return {"n": 0.0} | {key: math.nan for key in STAT_NAMES[1:]}
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    low, high = _t_interval(mean, std, n)
    p5, median, p95 = (float(v) for v in np.percentile(x, [5.0, 50.0, 95.0]))
    return {
        "n": float(n), "mean": mean, "std": std, "median": median,
        "ci95_low": low, "ci95_high": high, "p5": p5, "p95": p95,
    }


def _t_interval(mean: float, std: float, n: int) -> tuple[float, float]:
    if n < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, df=n - 1)) * std / math.sqrt(n)
    return mean - half, mean + half


def format_table(summary: dict[str, dict[str, float]]) -> str:
    """Render a summary as an aligned plain-text table for the terminal.

    Columns: kpi, mean, 95% CI, median, p5, p95.
    """
    header = ("kpi", "mean", "95% CI", "median", "p5", "p95")
    rows = [
        (
            name,
            _num(s["mean"]),
            f"[{_num(s['ci95_low'])}, {_num(s['ci95_high'])}]",
            _num(s["median"]),
            _num(s["p5"]),
            _num(s["p95"]),
        )
        for name, s in summary.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [_line(header, widths), "  ".join("-" * w for w in widths)]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    # Names read best left-aligned, numbers right-aligned so digits line up.
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:])]
    return "  ".join([first, *rest]).rstrip()


def _num(value: float) -> str:
    if math.isnan(value):
        return "nan"
    # Costs and hours in the thousands read better whole than as 1.234e+04.
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e9 else f"{value:.4g}"
