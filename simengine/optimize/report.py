"""What `simengine optimize` prints and writes: the table of settings, the best, and report.md."""

from __future__ import annotations

import math

from simengine.config.optimize import Constraint, OptimizeSettings
from simengine.optimize.compare import BEST, SAME, Candidate
from simengine.optimize.space import format_value

TERMINAL_ROWS = 12


def table_rows(candidates: list[Candidate], keys: list[str], constraints: list[Constraint]) -> tuple[list[str], list[list[str]]]:
    head = ["rank", *keys, "mean", "95% CI", "vs best (paired 95% CI)", *(f"{c.kpi}" for c in constraints), "verdict"]
    rows = []
    for rank, c in enumerate(candidates, 1):
        diff = "" if c.diff is None else ("0" if c.verdict == BEST else
                                          f"{_g(c.diff[0])} [{_g(c.diff[1])}, {_g(c.diff[2])}]")
        rows.append([str(rank), *(format_value(c.setting[k]) for k in keys), _g(c.mean),
                     f"[{_g(c.ci[0])}, {_g(c.ci[1])}]", diff, *(_g(c.means[k.kpi]) for k in constraints), c.verdict])
    return head, rows


def terminal_table(candidates: list[Candidate], keys: list[str], constraints: list[Constraint]) -> str:
    head, rows = table_rows(candidates, keys, constraints)
    shown = rows[:TERMINAL_ROWS]
    widths = [max(len(r[i]) for r in [head, *shown]) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i < len(head) - 1 else cell for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [head, ["-" * w for w in widths], *shown]]
    if len(rows) > len(shown):
        lines.append(f"... {len(rows) - len(shown)} more settings in report.md")
    return "\n".join(lines)


def best_line(candidates: list[Candidate], keys: list[str], objective: str) -> str:
    best = next((c for c in candidates if c.verdict == BEST), None)
    if best is None:
        return "no setting met the constraints; the table lists the closest first"
    same = sum(c.verdict == SAME for c in candidates)
    setting = ", ".join(f"{k}={format_value(best.setting[k])}" for k in keys)
    return (f"best: {setting}: {objective} {_g(best.mean)} (95 % CI {_g(best.ci[0])} – {_g(best.ci[1])}, "
            f"{best.ci_method}); {same} other setting{'' if same == 1 else 's'} within the noise of it")


def markdown(settings: OptimizeSettings, scenario_name: str, keys: list[str], candidates: list[Candidate],
             n_trials: int, plot: str | None) -> str:
    constraints = settings.parsed_constraints()
    head, rows = table_rows(candidates, keys, constraints)
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    limits = ", ".join(map(str, constraints)) or "none"
    lines = [
        f"# Optimisation of {scenario_name}: {settings.direction} {settings.objective}",
        "",
        f"- decision variables: {', '.join(f'`{k}` {_range(settings.variables[k])}' for k in keys)}",
        f"- constraints (on KPI means): {limits}",
        f"- {n_trials} trials ({len(candidates)} distinct settings), TPE sampler seeded with {settings.seed}, "
        f"{settings.batch} trials per batch",
        f"- {settings.replicas} replicas per setting, the same seeds for every setting (common random numbers)",
        "",
        "## Best",
        "",
        best_line(candidates, keys, settings.objective),
        "",
        "A setting is *indistinguishable* from the best when the 95 % Student t interval of the paired "
        "difference (replica by replica, on the same seeds) includes 0. The intervals are per comparison, "
        "and the best's mean is optimistic (it won among noisy means): confirm it with fresh seeds "
        "(`simengine run ... seed=<another>`) before acting on it.",
        "",
        "## Settings",
        "",
        *table,
    ]
    if plot:
        lines += ["", f"![trade-off]({plot})"]
    return "\n".join(lines) + "\n"


def _range(v) -> str:
    if v.choices is not None:
        return "in {" + ", ".join(format_value(c) for c in v.choices) + "}"
    extra = ", log scale" if v.log else (f", step {format_value(v.step)}" if v.step else "")
    return f"in [{format_value(v.low)}, {format_value(v.high)}]{extra}"


def _g(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.5g}"
