"""A sensitivity study's output: `sensitivity.h5`, the bar chart, the Markdown report and the terminal table."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from simengine.sensitivity.evaluators import ishigami_indices
from simengine.sensitivity.sobol import Study

NOISE_NOTE = (
    "Each engine KPI at a sample point is the mean of `replicas` Monte Carlo replicas, so it carries noise the "
    "parameters do not explain. Noise adds to the KPI's variance, pulling every first-order index S1 down, and to "
    "the differences the total-index estimator squares, pushing every total index ST up (the ST may then sum "
    "well above 1). Replica i of every sample point runs with the same random streams (common random numbers), "
    "so only the part of the noise that changes with the parameters is left; more replicas shrink it as "
    "1/replicas. `noise share` is the within-point variance / replicas as a fraction of the variance of the KPI "
    "means: where it is not small against the indices, raise `replicas`.")


def reference(study: Study) -> dict[str, np.ndarray] | None:
    """The exact indices where the model has them (Ishigami)."""
    return ishigami_indices() if study.model == "ishigami" else None


def write_h5(study: Study, path: Path, config: dict, parameters: list[str]) -> Path:
    """`/sensitivity` (indices and intervals per KPI), `/samples`, `/kpi` (per point and replica), `/provenance`."""
    import h5py

    from simengine.results.provenance import environment, package_version, redact_secrets, to_plain
    from omegaconf import OmegaConf

    names = np.array(study.names, dtype=h5py.string_dtype())
    with h5py.File(path, "w") as f:
        f.attrs["simengine_version"] = package_version("simengine", missing="unknown")
        f.attrs["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.attrs["model"] = study.model
        f.attrs["seed"] = study.seed
        f.attrs["samples"] = study.design.samples
        f.attrs["replicas"] = study.replicas
        prov = f.create_group("provenance")
        prov.attrs["config_yaml"] = OmegaConf.to_yaml(OmegaConf.create(redact_secrets(to_plain(config))))
        prov.attrs["seed"] = study.seed
        prov.attrs["salib_version"] = package_version("SALib")
        prov.attrs["method"] = ("Saltelli sampling on a scrambled Sobol' sequence (SALib.sample.sobol, "
                                "calc_second_order=False); SALib.analyze.sobol with bootstrap intervals")
        for key, value in environment().items():
            prov.attrs[key] = value
        g = f.create_group("sensitivity")
        g.attrs["confidence"] = study.confidence
        g.attrs["resamples"] = study.resamples
        g.attrs["noise_note"] = NOISE_NOTE
        g.create_dataset("parameter", data=names)
        g.create_dataset("parameter_spec", data=np.array(parameters, dtype=h5py.string_dtype()))
        g.create_dataset("kpi", data=np.array(study.kpis, dtype=h5py.string_dtype()))
        for field in ("S1", "S1_conf", "ST", "ST_conf"):
            g.create_dataset(field, data=np.array([getattr(study.indices[k], field) for k in study.kpis]))
        g.create_dataset("variance", data=np.array([study.indices[k].variance for k in study.kpis]))
        g.create_dataset("noise_share", data=np.array([study.indices[k].noise_share for k in study.kpis]))
        g.create_dataset("note", data=np.array([study.indices[k].note for k in study.kpis], dtype=h5py.string_dtype()))
        exact = reference(study)
        if exact is not None:
            r = f.create_group("reference")
            r.attrs["what"] = "closed-form indices of the Ishigami function, a=7, b=0.1"
            for field, values in exact.items():
                r.create_dataset(field, data=values)
        s = f.create_group("samples")
        s.create_dataset("unit", data=study.design.unit)
        s.create_dataset("values", data=study.design.values)
        s.create_dataset("parameter", data=names)
        k = f.create_group("kpi")
        for name in study.kpis:
            k.create_dataset(name, data=study.outputs[name])  # (point, replica)
    return path


def plot(study: Study, path: Path) -> Path:
    """Per KPI, S1 and ST of each parameter as bars with their intervals (and the exact values, for Ishigami)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(study.kpis)
    fig, axes = plt.subplots(n, 1, figsize=(max(6.0, 1.3 * len(study.names) + 3), 3.2 * n), squeeze=False)
    x = np.arange(len(study.names))
    exact = reference(study)
    for ax, kpi in zip(axes[:, 0], study.kpis):
        ind = study.indices[kpi]
        ax.bar(x - 0.2, np.nan_to_num(ind.S1), 0.4, yerr=np.nan_to_num(ind.S1_conf), capsize=3, label="first order S1")
        ax.bar(x + 0.2, np.nan_to_num(ind.ST), 0.4, yerr=np.nan_to_num(ind.ST_conf), capsize=3, label="total ST")
        if exact is not None:
            ax.plot(x - 0.2, exact["S1"], "rD", markersize=6, label="exact")
            ax.plot(x + 0.2, exact["ST"], "rD", markersize=6)
        title = f"{kpi}" + (f" (replica noise share {ind.noise_share:.2g})" if np.isfinite(ind.noise_share) else "")
        ax.set_title(title + (f": {ind.note}" if ind.note else ""))
        ax.set_xticks(x, study.names, rotation=15, ha="right")
        ax.set_ylabel(f"index ({study.confidence:.0%} interval)")
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table(study: Study) -> str:
    """The indices as a fixed-width table; with the exact values and errors for Ishigami."""
    exact = reference(study)
    head = ["kpi", "parameter", "S1", "± S1", "ST", "± ST"]
    if exact is not None:
        head += ["S1 exact", "ST exact", "S1 error", "ST error"]
    rows = []
    for kpi in study.kpis:
        ind = study.indices[kpi]
        for j, name in enumerate(study.names):
            row = [kpi, name, _g(ind.S1[j]), _g(ind.S1_conf[j]), _g(ind.ST[j]), _g(ind.ST_conf[j])]
            if exact is not None:
                row += [_g(exact["S1"][j]), _g(exact["ST"][j]), _g(ind.S1[j] - exact["S1"][j], "+.4f"),
                        _g(ind.ST[j] - exact["ST"][j], "+.4f")]
            rows.append(row)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{kpi}: {_noise_line(study, kpi)}" for kpi in study.kpis]
    return "\n".join([*lines, *notes])


def _noise_line(study: Study, kpi: str) -> str:
    ind = study.indices[kpi]
    if ind.note:
        return ind.note
    if study.model != "engine":
        return "deterministic model: no replica noise"
    if not np.isfinite(ind.noise_share):
        return "replica noise not measured (one replica per point)"
    return (f"replica noise share {ind.noise_share:.3g} of the variance of its means "
            f"({study.replicas} replicas per point, common random numbers)")


def _g(value: float, fmt: str = ".4f") -> str:
    return "nan" if not np.isfinite(value) else format(float(value), fmt)


def markdown(study: Study, *, banner: str, parameters: list[str], files: list[str]) -> str:
    """The report: what was run, the indices, the noise, and how to read them."""
    points = len(study.design.values)
    lines = [f"# Sobol sensitivity: {study.model}", "", banner, "",
             f"- parameters: {len(study.names)}", *[f"  - `{p}`" for p in parameters],
             f"- base sample N = {study.design.samples}, {points} sample points (Saltelli, N·(D+2)), "
             f"{study.replicas} replica(s) each, seed {study.seed}",
             f"- {study.confidence:.0%} intervals: bootstrap over the sample, {study.resamples} resamples",
             "", "## Indices", "", "S1: the share of the KPI's variance that a parameter explains alone. "
             "ST: its share including its interactions with the others. ST - S1 large: the parameter acts through "
             "interactions; ST near 0: the KPI does not depend on it over these ranges.", "", "```",
             table(study), "```", ""]
    if study.model == "engine":
        lines += ["## Replica noise", "", NOISE_NOTE, ""]
    else:
        exact = reference(study)
        worst = max(float(np.max(np.abs(study.indices["y"].S1 - exact["S1"]))),
                    float(np.max(np.abs(study.indices["y"].ST - exact["ST"]))))
        lines += ["## Against the closed form", "",
                  f"Ishigami a=7, b=0.1: largest error {worst:.4f} of any index; exact "
                  f"S1 = {', '.join(f'{v:.4f}' for v in exact['S1'])}, "
                  f"ST = {', '.join(f'{v:.4f}' for v in exact['ST'])}.", ""]
    lines += ["## Files", "", *[f"- `{f}`" for f in files], "",
              "`sensitivity.h5`: `/sensitivity` (S1, S1_conf, ST, ST_conf: kpi × parameter; variance and noise "
              "share per KPI), `/samples` (unit-cube and parameter values per point), `/kpi` (point × replica), "
              "`/provenance`." + (" `/reference`: the exact indices." if study.model == "ishigami" else ""), ""]
    return "\n".join(lines)

