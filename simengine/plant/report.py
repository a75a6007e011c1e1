"""A plant's KPIs for the terminal: the plant's table, then one row per group."""

from __future__ import annotations

import math

COLUMNS = ("availability", "producing", "failures", "lost_h", "maintenance_cost_eur", "downtime_cost_eur")


def split_summary(summary: dict[str, dict], groups: list[str]) -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """The plant's KPIs, and each group's (<group>.<kpi>) by group and KPI."""
    by_group: dict[str, dict[str, dict]] = {g: {} for g in groups}
    plant = {}
    for name, stats in summary.items():
        group, _, kpi = name.partition(".")
        if kpi and group in by_group:
            by_group[group][kpi] = stats
        else:
            plant[name] = stats
    return plant, by_group


def format_groups(by_group: dict[str, dict[str, dict]]) -> str:
    """One row per group: each KPI's mean ± the half-width of its 95 % interval."""
    header = ("group", *COLUMNS)
    rows = [(group, *(_cell(kpis.get(k)) for k in COLUMNS)) for group, kpis in by_group.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cell(stats: dict | None) -> str:
    if stats is None or math.isnan(stats["mean"]):
        return "-"
    low, high = stats["ci95_low"], stats["ci95_high"]
    half = (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan
    mean = stats["mean"]
    if math.isnan(half) or half == 0:
        return f"{mean:.4g}"
    digits = 1 - math.floor(math.log10(half))  # two significant digits of the half-width; the mean to match
    if digits > 0:
        return f"{mean:.{digits}f} ±{half:.{digits}f}"
    step = 10.0 ** -digits
    return f"{round(mean / step) * step:.0f} ±{round(half / step) * step:.0f}"
