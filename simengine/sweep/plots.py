"""One PNG per KPI across a sweep's variants: the means with their intervals, and the paired differences.

Drawn on matplotlib's Agg canvas directly, never through pyplot (no window, no global state).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simengine.engine.kpis import KPIS
from simengine.sweep.compare import Comparison


def plot_sweep(comparison: Comparison, out_dir: Path) -> list[Path]:
    """`out_dir/kpi-<name>.png` for each KPI with a value in some variant; the paths written."""
    written = []
    for name in comparison.means:
        means = np.array([m["mean"] for m in comparison.means[name]])
        if np.isnan(means).all():
            continue
        written.append(plot_kpi(comparison, name, Path(out_dir) / f"kpi-{name}.png"))
    return written


def plot_kpi(comparison: Comparison, name: str, path: Path) -> Path:
    n = len(comparison.labels)
    x = np.arange(n)
    unit = KPIS[name].unit if name in KPIS else ""
    suffix = "" if unit in ("", "1") else f" [{unit}]"
    fig = Figure(figsize=(max(6.0, 0.9 * n + 2.0), 6.0), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    means = comparison.means[name]
    _bars(top, x, [m["mean"] for m in means], [m["ci95_low"] for m in means], [m["ci95_high"] for m in means],
          "tab:blue")
    top.set_ylabel(f"mean{suffix}")
    top.set_title(f"{name}: mean and 95 % interval per variant")
    diffs = comparison.differences[name]
    others = [v for v in range(n) if v != comparison.baseline]
    _bars(bottom, x[others], [diffs[v].mean for v in others], [diffs[v].ci95_low for v in others],
          [diffs[v].ci95_high for v in others], "tab:orange")
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.set_ylabel(f"minus baseline{suffix}")
    bottom.set_title(f"paired difference from variant {comparison.baseline} (common random numbers)")
    bottom.set_xticks(x, [f"{v}: {label}" for v, label in enumerate(comparison.labels)], rotation=30, ha="right",
                      fontsize="small")
    fig.savefig(path, dpi=90)
    return path


def _bars(ax, x, centre, low, high, colour: str) -> None:
    centre, low, high = (np.asarray(a, dtype=float) for a in (centre, low, high))
    has = ~np.isnan(low) & ~np.isnan(high)
    ax.errorbar(np.asarray(x)[has], centre[has], yerr=[centre[has] - low[has], high[has] - centre[has]], fmt="o",
                color=colour, capsize=4)
    if (~has).any():  # no interval (one replica): the point alone
        ax.plot(np.asarray(x)[~has], centre[~has], "o", color=colour, mfc="none")
    ax.grid(True, alpha=0.3)
    if all(math.isnan(c) for c in centre):
        ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center")
