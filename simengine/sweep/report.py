"""The comparison table of a sweep, as aligned text for the terminal and as Markdown beside sweep.h5."""

from __future__ import annotations

import math

from simengine.sweep.compare import IDENTICAL, NO_PAIRS, Comparison, reduction_summary

HEADER = ("kpi", "variant", "mean", "95% CI", "vs baseline", "95% CI (paired)", "CRN variance ÷")


def rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """One row per KPI and variant; the baseline's difference columns say 'baseline'."""
    out = []
    for name, per_variant in comparison.means.items():
        for v, mean in enumerate(per_variant):
            diff = comparison.differences[name][v]
            if v == comparison.baseline:
                delta, delta_ci, reduction = "baseline", "", ""
            else:
                delta = _num(diff.mean)
                delta_ci = {NO_PAIRS: "-"}.get(diff.method, f"[{_num(diff.ci95_low)}, {_num(diff.ci95_high)}]")
                if diff.method == IDENTICAL:
                    delta_ci += " (every pair equal)"
                reduction = _factor(diff.variance_reduction)
            ci = "-" if math.isnan(mean["ci95_low"]) else f"[{_num(mean['ci95_low'])}, {_num(mean['ci95_high'])}]"
            out.append((name if v == 0 else "", str(v), _num(mean["mean"]), ci, delta, delta_ci, reduction))
    return out


def variant_lines(comparison: Comparison) -> list[str]:
    return [f"{v}: {label}{'  (baseline)' if v == comparison.baseline else ''}"
            for v, label in enumerate(comparison.labels)]


def method_note(comparison: Comparison, replicas: int) -> str:
    methods = sorted({d.method for diffs in comparison.differences.values() for d in diffs} - {IDENTICAL, NO_PAIRS})
    return (f"{replicas} replicas per variant, common random numbers (replica i of every variant: the same seeds). "
            f"Means: each KPI's interval as in a run's table. Differences: variant minus baseline, replica by "
            f"replica, {' / '.join(methods) or 'no'} interval. CRN variance ÷: how many times smaller the variance "
            f"of the difference is than with independent seeds, (s²_variant + s²_baseline) / s²_difference.")


def text_report(comparison: Comparison, replicas: int) -> str:
    table = [HEADER, *rows(comparison)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = ["variants:", *(f"  {line}" for line in variant_lines(comparison)), ""]
    for k, row in enumerate(table):
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]),
                 *(cell.rjust(w) for cell, w in zip(row[2:], widths[2:]))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", method_note(comparison, replicas), _reduction_line(comparison)]
    return "\n".join(lines)


def markdown_report(comparison: Comparison, replicas: int, title: str, plots: list[str]) -> str:
    lines = [f"# {title}", "", "## Variants", "", *(f"- {line}" for line in variant_lines(comparison)), "",
             "## KPIs", "", method_note(comparison, replicas), "",
             "| " + " | ".join(HEADER) + " |", "|" + "|".join([" --- "] * 2 + [" ---: "] * 5) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows(comparison)]
    lines += ["", _reduction_line(comparison)]
    if plots:
        lines += ["", "## Plots", "", *(f"![{p}]({p})" for p in plots)]
    return "\n".join(lines) + "\n"


def _reduction_line(comparison: Comparison) -> str:
    summary = {k: v for k, v in reduction_summary(comparison).items() if not math.isnan(v)}
    if not summary:
        return "variance reduction by common random numbers: not defined (one variant, or no spread)"
    shown = ", ".join(f"{k} {_factor(v)}" for k, v in summary.items())
    return f"variance reduction by common random numbers (median over variants): {shown}"


def _factor(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞"
    return f"{value:.3g}×"


def _num(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e9 else f"{value:.4g}"
