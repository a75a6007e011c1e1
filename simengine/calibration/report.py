"""What a calibration leaves behind: a parameter file for the scenarios, an HDF5 group, a summary.

The parameter file (YAML) carries every fitted value with its sd and
interval, and the dotted overrides it implies (only values the fit vouches
for: converged, a finite interval, no warning naming them): ``scenario`` for
``simengine run calibration=<file>`` and, where the crack filter ran,
``fatigue`` for ``simengine fatigue calibration=<file>``. Parameters of the
window only (ambient and initial temperature, the hoist's heat) are kept
for the record but override nothing.

The HDF5 file holds the group ``/calibration``: parameter table (``names``,
``value``, ``sd``, ``ci_low``, ``ci_high``, ``covariance``, ``correlation``),
the aligned readings and the fitted model over ``time_s``, goodness of fit
and warnings as attributes, and ``/provenance`` (configuration without
secrets, package versions, git revision). Written under a temporary name and
renamed: a crash leaves no half-written file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
from omegaconf import OmegaConf

from simengine.calibration.fit import Calibration
from simengine.calibration.model import OUTPUTS
from simengine.results.provenance import environment, redact_secrets, to_plain
from simengine.results.publish import atomic_path

# where a fitted physics parameter lives in a scenario
SCENARIO_KEYS = {
    "thermal_tau_s": "fleet.thermal.tau_s",
    "thermal_resistance_K_per_W": "fleet.thermal.resistance_K_per_W",
    "natural_frequency_hz": "fleet.vibration.natural_frequency_hz",
    "vibration_rms0": "fleet.vibration.rms0",
    "wear_vibration_gain": "fleet.vibration.wear_gain",
    "stiffness_sensitivity": "fleet.crack.stiffness_sensitivity",
    "section_depth_m": "fleet.crack.section_depth_m",
    "geometry_Y": "fleet.crack.geometry_Y",
    "paris_m": "fleet.crack.paris_m",
    "paris_C": "fleet.crack.paris_C.median",
}


def parameter_file(cal: Calibration, *, about: dict, fatigue: dict | None = None) -> dict:
    """The parameter file's content (plain data)."""
    params = {n: {"value": float(v), "sd": _finite(s), "ci": [_finite(lo), _finite(hi)]}
              for n, v, s, lo, hi in zip(cal.names, cal.values, cal.sd, cal.ci_low, cal.ci_high)}
    scenario = {SCENARIO_KEYS[n]: float(v) for n, v in zip(cal.names, cal.values) if n in trusted(cal)}
    return {"calibration": {**about, "confidence": cal.confidence, "parameters": params,
                            "residual_variance": cal.residual_variance, "warnings": list(cal.warnings)},
            "scenario": scenario, "fatigue": fatigue or {}}


def trusted(cal: Calibration) -> list[str]:
    """Fitted scenario parameters fit to override a scenario: the fit converged, the value has a finite
    interval and no warning names it (not identifiable, poorly determined, on a bound)."""
    if not cal.converged:
        return []
    return [n for n, sd in zip(cal.names, cal.sd) if n in SCENARIO_KEYS and np.isfinite(sd)
            and not any(n in w for w in cal.warnings)]


def write_parameter_file(content: dict, path: Path) -> Path:
    header = ("# simengine calibration. Use it with\n#   simengine run calibration=" + str(path) +
              "\n#   simengine fatigue calibration=" + str(path) + "   (where a `fatigue` section is filled)\n")
    _atomic_text(path, header + OmegaConf.to_yaml(OmegaConf.create(content)))
    return path


def write_calibration(cal: Calibration, path: Path, *, config: dict, extra: dict[str, dict] | None = None) -> Path:
    """`/calibration` and `/provenance` into `path`, atomically. `extra`: more groups of arrays
    (e.g. the crack filter's track), {group: {name: array}}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("calibration")
        g.create_dataset("names", data=np.array(cal.names, dtype=h5py.string_dtype()))
        for key in ("values", "sd", "ci_low", "ci_high", "initial", "covariance", "correlation"):
            g.create_dataset(key, data=getattr(cal, key))
        w = cal.window
        g.create_dataset("time_s", data=w.time_s).attrs["units"] = "s"
        g.create_dataset("load_factor", data=w.load_factor)
        g.create_dataset("heat_load_factor", data=w.heat_load_factor)  # the model's heating input over each interval
        g.create_dataset("heat_load_var", data=w.heat_load_var)  # > 0 where it was estimated (missed scans, no counter)
        g.create_dataset("quantity", data=np.array(OUTPUTS, dtype=h5py.string_dtype()))
        g.create_dataset("observed", data=w.observed)
        g.create_dataset("counts", data=w.counts)
        g.create_dataset("predicted", data=cal.predicted)
        attrs = {"asset": w.asset, "start_s": w.start_s, "status": cal.status, "message": cal.message,
                 "evaluations": cal.evaluations, "cost": cal.cost, "dof": cal.dof, "loss": cal.loss,
                 "residual_variance": cal.residual_variance, "condition_number": cal.condition_number,
                 "identifiable": cal.identifiable, "confidence": cal.confidence, "seconds": cal.seconds,
                 "goodness": json.dumps(cal.goodness), "noise_sd": json.dumps(cal.noise_sd),
                 "warnings": json.dumps(list(cal.warnings)), "excluded": json.dumps(w.excluded),
                 "input_held": w.input_held, "repeated": w.repeated, "gaps": w.gaps, "gap_s": w.gap_s, "tags": json.dumps(w.tags),
                 "clock_breaks": w.clock_breaks, "link_gaps": w.link_gaps, "link_gap_s": w.link_gap_s,
                 "received": w.received, "expected": w.expected}
        g.attrs.update(attrs)
        for name, arrays in (extra or {}).items():
            sub = f.create_group(name)
            for key, value in arrays.items():
                value = np.asarray(value)
                if value.dtype.kind in "UO":
                    value = value.astype(h5py.string_dtype())
                sub.create_dataset(key, data=value)
        prov = f.create_group("provenance")
        prov.attrs["config"] = json.dumps(redact_secrets(to_plain(config)), default=str)
        prov.attrs.update(environment())
    return path


def summary_text(cal: Calibration) -> str:
    """A terminal table: value ± sd, interval, and the fit's verdict."""
    level = f"{100 * cal.confidence:g} %"
    rows = [f"{'parameter':<28} {'value':>13} {'sd':>11}   {level} interval"]
    for n, v, s, lo, hi in zip(cal.names, cal.values, cal.sd, cal.ci_low, cal.ci_high):
        rows.append(f"{n:<28} {v:>13.6g} {s:>11.3g}   [{lo:.6g}, {hi:.6g}]")
    rows.append(f"{cal.message}; {cal.evaluations} evaluations, {1e3 * cal.seconds:.1f} ms (the first fit of a "
                "parameter set includes compiling it); "
                f"residual variance {cal.residual_variance:.3f} (1 = noise as estimated)")
    for q, gof in cal.goodness.items():
        rows.append(f"  {q:<22} {gof['readings']:>8} readings  rms {gof['rms']:.4g}  R² {gof['r2']:.4f}  "
                    f"χ²/dof {gof['chi2_reduced']:.3f}")
    w = cal.window
    excluded = ", ".join(f"{k} {v}" for k, v in sorted(w.excluded.items())) or "none"
    rows.append(f"readings excluded: {excluded}; repeated scans dropped: {w.repeated}; "
                f"load input held: {w.input_held}; gaps: {w.gaps} ({w.gap_s:.0f} s), "
                f"link down {w.link_gaps} times ({w.link_gap_s:.0f} s)")
    link = [f"reading times: {w.received} of {w.expected} asked for ({w.received / w.expected:.0%})"] if w.expected else []
    link.append(f"clock: {w.clock_breaks} resets or jumps ({w.clock_breaks + 1} segments joined by arrival time)"
                if w.clock_breaks else "clock: no resets")
    rows.append("; ".join(link))
    rows += [f"warning: {text}" for text in cal.warnings]
    return "\n".join(rows)


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
