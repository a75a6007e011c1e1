"""What a fatigue batch tells its user: HDF5 tables, plots and a terminal summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from simengine.config import to_dict
from simengine.fatigue.batch import INVALID, STATUS
from simengine.fatigue.runner import FatigueRun
from simengine.results import ReplicaResult, Table, write_run
from simengine.units import HOURS_PER_YEAR

_EVENT_DTYPE = [("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")]


def survival_table(run: FatigueRun, points: int = 200) -> Table:
    years = np.linspace(0.0, run.config.horizon_years, points)
    p, lo, hi = run.failure_probability(years)
    return Table("time_years", {"time_years": years, "survival": 1 - p, "survival_lower": 1 - hi,
                                "survival_upper": 1 - lo}, {"time_years": "year", "survival": "1"})


def yearly_table(run: FatigueRun) -> Table:
    years = np.arange(1, int(np.floor(run.config.horizon_years)) + 1, dtype=float)
    p, lo, hi = run.failure_probability(years)
    return Table("year", {"year": years, "p_failure": p, "p_failure_lower": lo, "p_failure_upper": hi},
                 {"year": "year", "p_failure": "1"})


def replica_results(run: FatigueRun) -> list[ReplicaResult]:
    """One row per replica: its sampled parameters, its life and its crack history."""
    p = run.params
    times_h = run.record_years * HOURS_PER_YEAR
    out = []
    for i in range(run.n):
        kpis = {"time_to_failure_years": float(run.failure_years[i]), "status": float(run.status[i]),
                "paris_C": float(p.paris_C[i]), "paris_m": float(p.paris_m[i]),
                "initial_flaw_m": float(p.initial_flaw_m[i]), "load_scale": float(run.load_scale[i])}
        out.append(ReplicaResult(replica=i, seed_entropy=run.seed, kpis=kpis, events=np.zeros(0, _EVENT_DTYPE),
                                 series_time_h=times_h, series={"crack_length_m": run.crack_m[:, i:i + 1]},
                                 series_units={"crack_length_m": "m"}, recorded_assets=np.zeros(1, int)))
    return out


def life_table(run: FatigueRun) -> Table:
    """The batch's answer in one row: median life and P(failure) at the horizon with its interval.
    (Life is censored at the horizon, so a mean over replicas would mislead.)"""
    p, lo, hi = run.failure_probability(np.array([run.config.horizon_years]))
    return Table("horizon_years", {"horizon_years": np.array([run.config.horizon_years]),
                                   "median_life_years": np.array([run.median_life_years()]),
                                   "p_failure": p, "p_failure_lower": lo, "p_failure_upper": hi,
                                   "replicas": np.array([float(run.n)])},
                 {"horizon_years": "year", "median_life_years": "year", "p_failure": "1"})


def write_fatigue(run: FatigueRun, path: Path, config: dict) -> Path:
    units = {"time_to_failure_years": "year", "paris_C": "m/cycle/(MPa*m^0.5)^m", "initial_flaw_m": "m"}
    return write_run(path, config=config, seed=run.seed, replicas=replica_results(run), units=units,
                     tables={"life": life_table(run), "survival": survival_table(run),
                             "failure_probability": yearly_table(run)},
                     summary_kpis=["paris_C", "paris_m", "initial_flaw_m", "load_scale"])


def plot_fatigue(run: FatigueRun, out_dir: Path) -> list[Path]:
    return [_survival_plot(run, out_dir / "survival.png"), _yearly_plot(run, out_dir / "failure_probability.png"),
            _crack_fan(run, out_dir / "crack_fan.png")]


def _survival_plot(run, path):
    t = survival_table(run)
    fig, ax = _figure()
    c = t.columns
    ax.fill_between(c["time_years"], c["survival_lower"], c["survival_upper"], color="tab:blue", alpha=0.25,
                    linewidth=0, label="pointwise 95 % interval (Clopper–Pearson)")
    ax.step(c["time_years"], c["survival"], where="post", color="tab:blue", label="survival")
    ax.set(xlabel="Time [years]", ylabel="Fraction surviving [-]", ylim=(-0.02, 1.02),
           title=f"Survival of {run.config.name} ({run.n} replicas)")
    ax.legend(loc="lower left")
    return _save(fig, path)


def _yearly_plot(run, path):
    t = yearly_table(run).columns
    fig, ax = _figure()
    ax.bar(t["year"], t["p_failure"], color="tab:red", alpha=0.6, label="P(failure by year)")
    ax.errorbar(t["year"], t["p_failure"], yerr=[t["p_failure"] - t["p_failure_lower"], t["p_failure_upper"] - t["p_failure"]],
                fmt="none", ecolor="black", capsize=2, label="95 % Clopper–Pearson")
    ax.set(xlabel="Year", ylabel="Probability of failure [-]", title="Probability of failure by year")
    ax.legend(loc="upper left")
    return _save(fig, path)


def _crack_fan(run, path):
    mm = np.where(np.isfinite(run.crack_m), run.crack_m, np.nan) * 1e3
    p = np.nanpercentile(mm, [5, 25, 50, 75, 95], axis=1)
    fig, ax = _figure()
    ax.fill_between(run.record_years, p[0], p[4], color="tab:blue", alpha=0.2, linewidth=0, label="5–95 %")
    ax.fill_between(run.record_years, p[1], p[3], color="tab:blue", alpha=0.4, linewidth=0, label="25–75 %")
    ax.plot(run.record_years, p[2], color="tab:blue", label="median")
    ax.axhline(run.config.material.critical_m * 1e3, color="tab:red", linestyle="--", label="critical depth")
    ax.set(xlabel="Time [years]", ylabel="Crack depth [mm]", title="Crack depth across replicas")
    ax.legend(loc="upper left")
    return _save(fig, path)


def summary_text(run: FatigueRun, time_base: str | None = None) -> str:
    """The terminal summary: median life, P(failure) at the horizon, how many replicas that estimate
    holds and why any are not in it, and (given) the time base of a recorded load."""
    horizon = run.config.horizon_years
    p, lo, hi = run.failure_probability(np.array([horizon]))
    counts = run.status_counts()
    left_out = counts.get(STATUS[INVALID], 0)
    if not np.isfinite(p[0]):
        return f"fatigue batch {run.config.name}: no valid replica of {run.n}; " + ", ".join(
            f"{name}: {count}" for name, count in counts.items() if count)
    median = run.median_life_years()
    median_txt = f"{median:.1f} years" if np.isfinite(median) else f"beyond the {horizon:g}-year horizon"
    lines = [f"fatigue batch {run.config.name}: {run.n} replicas, {horizon:g} years, seed {run.seed}",
             f"  median life:            {median_txt}",
             f"  P(failure by {horizon:g} years):  {p[0]:.4f}  (95 % CI {lo[0]:.4f} – {hi[0]:.4f})",
             f"  replicas in P(failure): {run.n - left_out} of {run.n}"
             + (f" ({left_out} left out: {STATUS[INVALID]})" if left_out else "")]
    lines += [f"  {name}: {count}" for name, count in counts.items() if count]
    if time_base:
        lines.append(f"  load time base:         {time_base}")
    return "\n".join(lines)


def _figure():
    fig = Figure(figsize=(8, 4.5), dpi=120)
    return fig, fig.add_subplot()


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path)
    return path


def config_for_provenance(run: FatigueRun, settings: dict) -> dict:
    return {"fatigue": to_dict(run.config), "run": settings}
