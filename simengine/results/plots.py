"""PNG plots of a run read back with :func:`simengine.results.store.read_run`.

Figures are drawn on matplotlib's Agg canvas directly, never through
pyplot, so no window opens and no global figure state is left behind.
Stored times are in hours and shown in years of 8,760 h (`simengine.units`), as the engine
counts them; crack lengths are stored in metres and shown in millimetres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simengine.results.store import RunData
from simengine.units import HOURS_PER_YEAR

_TIMELINE_STYLE = {
    # kind: (marker, colour, label)
    # drawn in this order, so the rare structural events stay on top
    "breakdown": (".", "0.6", "component breakdown"),
    "repair_end": ("s", "green", "structural repair done"),
    "alarm": ("^", "purple", "sensor alarm"),
    "detection": ("o", "orange", "defect found"),
    "failure": ("x", "red", "structural failure"),
}


def plot_run(run: RunData, out_dir: Path) -> list[Path]:
    """Write the standard plots of ``run`` into ``out_dir``.

    A plot whose series is absent from the run is skipped. Returns the
    paths of the PNG files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        plot_crack_fan(run, out_dir / "crack_fan.png"),
        plot_availability(run, out_dir / "availability.png"),
        plot_timeline(run, out_dir / "timeline.png"),
    ]
    return [path for path in written if path is not None]


def plot_crack_fan(run: RunData, path: Path) -> Path | None:
    """Fan chart of the fleet-maximum crack length across replicas, in mm."""
    crack = run.series.get("crack_length_m")
    if crack is None or crack.shape[2] == 0:
        return None
    fleet_max_mm = crack.max(axis=2) * 1e3  # (replica, time)
    fig, ax = _figure()
    _fan(ax, _years(run), fleet_max_mm, colour="tab:blue")
    ax.set_ylabel("Crack length [mm]")
    ax.set_title("Crack length across replicas (fleet max of recorded assets)")
    return _save(fig, path)


def plot_availability(run: RunData, path: Path, bins: int = 120) -> Path | None:
    """Median and spread across replicas of the fleet's available fraction, averaged over
    about `bins` equal spans of the horizon (monthly for 10 years), so the spread shows."""
    available = run.series.get("available_fraction")
    if available is None:
        return None
    years, values = _binned_means(_years(run), available[:, :, 0], bins)
    fig, ax = _figure()
    _fan(ax, years, values, colour="tab:green")
    ax.set_ylabel("Available fraction [-]")
    ax.set_title("Fleet availability over time")
    return _save(fig, path)


def _binned_means(years: np.ndarray, values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of `values` (replica, time) over `bins` equal time spans, at their centres."""
    if years.size <= bins:
        return years, values
    edges = np.linspace(years[0], years[-1], bins + 1)
    which = np.clip(np.searchsorted(edges, years, side="right") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    sums = np.stack([np.bincount(which, weights=row, minlength=bins) for row in values])
    keep = counts > 0
    return 0.5 * (edges[:-1] + edges[1:])[keep], sums[:, keep] / counts[keep]


def plot_timeline(run: RunData, path: Path) -> Path:
    """Failures, detections, alarms and repair ends of the first replica."""
    replica = int(run.replicas[0])
    events = run.replica_events(replica)
    fig, ax = _figure()
    for kind, (marker, colour, label) in _TIMELINE_STYLE.items():
        mine = events[events["kind"] == kind]
        if mine.size:
            ax.scatter(mine["time_h"] / HOURS_PER_YEAR, mine["asset"], marker=marker, color=colour, label=label)
    if ax.collections:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Time [years]")
    ax.set_ylabel("Asset index")
    ax.set_title(f"Failures and detections (replica {replica})")
    return _save(fig, path)


def _fan(ax, years: np.ndarray, values: np.ndarray, colour: str) -> None:
    """Median line with 25–75 % and 5–95 % bands of ``values`` (replica, time)."""
    p5, p25, p50, p75, p95 = np.percentile(values, [5, 25, 50, 75, 95], axis=0)
    ax.fill_between(years, p5, p95, color=colour, alpha=0.2, linewidth=0, label="5–95 %")
    ax.fill_between(years, p25, p75, color=colour, alpha=0.4, linewidth=0, label="25–75 %")
    ax.plot(years, p50, color=colour, label="median")
    ax.set_xlabel("Time [years]")
    ax.legend(loc="best")


def _years(run: RunData) -> np.ndarray:
    return run.series_time_h / HOURS_PER_YEAR


def _figure():
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=120)
    # Not managed by pyplot, so clearing is all the closing it needs.
    fig.clear()
    return path
