"""The trade-off plot: the objective against each decision variable (and against a constrained KPI).

Every distinct setting is a point with its 95 % interval; the best is a star,
the settings the noise cannot tell from it are filled, worse ones hollow, and
those that break a constraint are crosses. Drawn on matplotlib's Agg canvas,
never through pyplot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simengine.config.optimize import Constraint
from simengine.optimize.compare import BEST, INFEASIBLE, SAME, WORSE, Candidate
from simengine.optimize.space import Decision

_STYLE = {  # verdict: marker, face colour, edge colour, label
    BEST: ("*", "red", "red", "best"),
    SAME: ("o", "orange", "orange", "indistinguishable from the best (paired 95 % interval includes 0)"),
    WORSE: ("o", "none", "0.4", "worse than the best"),
    INFEASIBLE: ("x", "0.6", None, "breaks a constraint"),
}


def plot_tradeoff(path: Path, candidates: list[Candidate], decisions: list[Decision], objective: str,
                  constraints: list[Constraint], replicas: int) -> Path:
    panels = [(d.key, d) for d in decisions] + [(c.kpi, c) for c in constraints[:1]]
    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (label, what) in zip(axes, panels):
        for verdict, (marker, face, edge, legend) in _STYLE.items():
            group = [c for c in candidates if c.verdict == verdict]
            if not group:
                continue
            if isinstance(what, Decision):
                x = np.array([c.setting[what.key] for c in group], float)
            else:
                x = np.array([c.means[what.kpi] for c in group], float)
            y = np.array([c.mean for c in group])
            err = np.array([[c.mean - c.ci[0] for c in group], [c.ci[1] - c.mean for c in group]])
            ax.errorbar(x, y, yerr=np.clip(np.nan_to_num(err), 0, None), fmt="none", ecolor="0.75", elinewidth=1,
                        zorder=1)
            ax.scatter(x, y, marker=marker, s=160 if verdict == BEST else 40, facecolors=face, edgecolors=edge,
                       label=legend, zorder=3 if verdict == BEST else 2)
        if isinstance(what, Decision):
            if what.log_scale:
                ax.set_xscale("log")
        else:
            ax.axvline(what.bound, color="0.3", linestyle="--", linewidth=1, label=f"limit: {what}")
            label = f"{what.kpi} (mean)"
        ax.set_xlabel(label)
        ax.set_ylabel(f"{objective} (mean, 95 % CI)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{objective}: {len(candidates)} settings, {replicas} common-random-number replicas each", fontsize=10)
    fig.savefig(path, dpi=110)
    return path
