"""PNG plots of a :class:`simengine.calibration.fit.Calibration` and of what follows from it.

Drawn on matplotlib's Agg canvas directly, never through pyplot, as in
:mod:`simengine.results.plots`. Times are given in s (the window) or h and shown
in minutes, hours or days by their span; crack lengths in m are shown in mm,
remaining lives in h are shown in days.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simengine.calibration.fit import Calibration
from simengine.calibration.model import OUTPUTS
from simengine.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

_LABELS = {"temperature_C": ("Temperature", "°C"), "natural_frequency_hz": ("Natural frequency", "Hz"),
           "vibration_rms": ("Vibration RMS", "m/s²")}
_CORRELATION_CMAP = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.75")  # grey: not identifiable


def plot_calibration(cal: Calibration, folder: Path) -> list[Path]:
    """Write calibration_fit.png, calibration_residuals.png and calibration_correlation.png into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [_plot_fit(cal, folder / "calibration_fit.png"), _plot_residuals(cal, folder / "calibration_residuals.png"),
            _plot_correlation(cal, folder / "calibration_correlation.png")]


def _plot_fit(cal: Calibration, path: Path) -> Path:
    """Mean readings and the fitted model of each quantity with readings, against time."""
    used = _used(cal)
    t, t_label = _time_axis(cal.window.time_s)
    fig = _figure(height=2.6 * len(used))
    axes = fig.subplots(len(used), 1, sharex=True, squeeze=False)[:, 0]
    for ax, i in zip(axes, used):
        name, unit = _LABELS[OUTPUTS[i]]
        ax.plot(t, cal.window.observed[i], ".", ms=2, color="tab:blue", alpha=0.35, label="mean reading")
        ax.plot(t, cal.predicted[i], color="tab:red", lw=1.5, label="fitted model")
        ax.set_ylabel(f"{name} [{unit}]")
        r2 = cal.goodness.get(OUTPUTS[i], {}).get("r2", float("nan"))
        ax.set_title(f"{name}: R² = {r2:.4f}" if np.isfinite(r2) else f"{name}: R² n/a (readings constant)")
        ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel(t_label)
    fig.suptitle(f"Calibration fit, asset {cal.window.asset}")
    return _save(fig, path)


def _plot_residuals(cal: Calibration, path: Path) -> Path:
    """Residuals (reading - model)·√n/σ against time, and their histogram beside the N(0, 1) density."""
    used = _used(cal)
    t, t_label = _time_axis(cal.window.time_s)
    fig = _figure(height=2.6 * len(used))
    axes = fig.subplots(len(used), 2, sharey="row", squeeze=False, gridspec_kw={"width_ratios": (3, 1)})
    for (ax, hist), i in zip(axes, used):
        q = OUTPUTS[i]
        counts = cal.window.counts[i]
        with np.errstate(invalid="ignore"):
            z = np.where(counts > 0, (cal.window.observed[i] - cal.predicted[i]) * np.sqrt(counts) / cal.noise_sd[q], np.nan)
        ax.plot(t, z, ".", ms=2, color="tab:blue", alpha=0.5)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_ylabel(f"{_LABELS[q][0]} [σ]")
        ax.set_title(f"{_LABELS[q][0]}: residual / noise sd (σ = {cal.noise_sd[q]:.3g} {_LABELS[q][1]})")
        finite = z[np.isfinite(z)]
        hist.hist(finite, bins=40, density=True, orientation="horizontal", color="tab:blue", alpha=0.5)
        reach = max(4.0, float(np.abs(finite).max(initial=0.0)))
        grid = np.linspace(-reach, reach, 200)
        hist.plot(np.exp(-0.5 * grid**2) / np.sqrt(2.0 * np.pi), grid, color="tab:red", label="N(0, 1)")
        hist.legend(loc="upper right", fontsize="small")
    axes[-1, 0].set_xlabel(t_label)
    axes[-1, 1].set_xlabel("Density")
    return _save(fig, path)


def _plot_correlation(cal: Calibration, path: Path) -> Path:
    """Heatmap of the parameter correlation matrix; rows of parameters with infinite sd are grey, "n/a"."""
    p = len(cal.names)
    corr = np.array(cal.correlation, float)
    free = ~np.isfinite(cal.sd)
    corr[free, :], corr[:, free] = np.nan, np.nan
    fig, ax = _figure_with_axes(height=max(3.5, 0.9 * p + 1.5), width=max(5.0, 1.1 * p + 3.0))
    image = ax.imshow(np.ma.masked_invalid(corr), cmap=_CORRELATION_CMAP, vmin=-1.0, vmax=1.0)
    for i in range(p):
        for j in range(p):
            v = corr[i, j]
            ax.text(j, i, f"{v:+.2f}" if np.isfinite(v) else "n/a", ha="center", va="center", fontsize="small",
                    color="white" if np.isfinite(v) and abs(v) > 0.6 else "black")
    ax.set_xticks(range(p), cal.names, rotation=35, ha="right")
    ax.set_yticks(range(p), cal.names)
    fig.colorbar(image, ax=ax, label="Correlation [-]")
    ax.set_title("Parameter correlation" + (" (grey: not identifiable)" if free.any() else ""))
    return _save(fig, path, grid=False)


def plot_crack_track(times_h, estimate_m, sd_m, path: Path, truth_m=None) -> Path:
    """Tracked crack length (n,) in m with its ±2 sd band, and the true length if known, over times (n,) in h."""
    times_h, estimate_m, sd_m = (np.asarray(a, float) for a in (times_h, estimate_m, sd_m))
    if not times_h.shape == estimate_m.shape == sd_m.shape or times_h.ndim != 1:
        raise ValueError(f"times_h, estimate_m and sd_m must be 1-d of one length, got shapes "
                         f"{times_h.shape}, {estimate_m.shape}, {sd_m.shape}")
    t, t_label = _time_axis(times_h * SECONDS_PER_HOUR)
    low, high = np.clip(estimate_m - 2.0 * sd_m, 0.0, None) * 1e3, (estimate_m + 2.0 * sd_m) * 1e3
    fig, ax = _figure_with_axes()
    ax.fill_between(t, low, high, where=np.isfinite(low) & np.isfinite(high), color="tab:blue", alpha=0.25,
                    linewidth=0, label="±2 sd")
    ax.plot(t, estimate_m * 1e3, color="tab:blue", label="estimate")
    if truth_m is not None:
        ax.plot(t, np.asarray(truth_m, float) * 1e3, "--", color="k", label="truth")
    ax.set(xlabel=t_label, ylabel="Crack length [mm]", title="Tracked crack length")
    ax.legend(loc="best")
    return _save(fig, Path(path))


def plot_remaining_life(hours_samples, path: Path) -> Path:
    """Histogram of remaining-life samples in h (inf: survives the horizon), shown in days, with 5/50/95 % lines."""
    hours = np.asarray(hours_samples, float).ravel()
    hours = hours[~np.isnan(hours)]
    if hours.size == 0:
        raise ValueError("hours_samples must hold at least one sample that is not NaN")
    days = hours / 24.0
    finite = days[np.isfinite(days)]
    survive = days.size - finite.size
    fig, ax = _figure_with_axes()
    if finite.size:
        ax.hist(finite, bins=min(50, max(10, finite.size // 20)), color="tab:blue", alpha=0.6)
    # quantiles of all samples, survivors included, so a survivor-heavy tail reads as "beyond"
    for q, v, style in zip((5, 50, 95), np.quantile(days, [0.05, 0.5, 0.95], method="inverted_cdf"), (":", "-", ":")):
        if np.isfinite(v):
            ax.axvline(v, color="tab:red", linestyle=style, label=f"{q} %: {v:.3g} d")
        else:
            ax.plot([], [], color="tab:red", linestyle=style, label=f"{q} %: beyond horizon")
    ax.set(xlabel="Remaining life [days]", ylabel="Samples",
           title=f"Remaining life ({days.size} samples, {survive} survive the horizon)")
    ax.legend(loc="best")
    return _save(fig, Path(path))


def _used(cal: Calibration) -> list[int]:
    return [i for i in range(len(OUTPUTS)) if (cal.window.counts[i] > 0).any()]


def _time_axis(t_s: np.ndarray) -> tuple[np.ndarray, str]:
    span = float(np.nanmax(t_s) - np.nanmin(t_s)) if np.size(t_s) else 0.0
    if span <= 3 * SECONDS_PER_HOUR:
        return t_s / 60.0, "Time [min]"
    if span <= 3 * SECONDS_PER_DAY:
        return t_s / SECONDS_PER_HOUR, "Time [h]"
    return t_s / SECONDS_PER_DAY, "Time [days]"


def _figure(height: float = 4.5, width: float = 8.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _figure_with_axes(height: float = 4.5, width: float = 8.0):
    fig = _figure(height, width)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path, grid: bool = True) -> Path:
    for ax in fig.axes if grid else ():
        ax.grid(True, alpha=0.3)
    fig.savefig(path, dpi=120)
    fig.clear()  # not managed by pyplot, so clearing is all the closing it needs
    return path
