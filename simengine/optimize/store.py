"""optimize.h5: every trial's setting and KPI means, the compared settings, the best, and provenance.

Layout (h5py; strings as UTF-8):

- root attributes: objective, direction, constraints, variables (JSON), seed, replicas, trials, created_utc
- ``/trials``: ``number``, ``repeat_of`` (-1: simulated for this trial), ``setting/<variable>``,
  ``kpi_mean/<kpi>``, ``objective`` (trial x replica), ``constraint_violation`` (trial x constraint; <= 0 met)
- ``/settings``: the distinct settings as compared, best first: ``setting/<variable>``, ``mean``,
  ``ci95_low``, ``ci95_high``, ``diff_mean``/``diff_low``/``diff_high`` (paired, vs the best), ``verdict``,
  ``first_trial``
- ``/best``: attributes: found, each variable's value, mean, ci95_low, ci95_high, ci_method
- ``/provenance``: attributes config_yaml (scenario and search settings), seed, package versions, git revision
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from omegaconf import OmegaConf

from simengine.config.optimize import OptimizeSettings
from simengine.optimize.compare import BEST, Candidate
from simengine.optimize.study import TrialResult
from simengine.results.provenance import environment, redact_secrets, to_plain

STR = h5py.string_dtype("utf-8")


def write_study(path: Path, *, settings: OptimizeSettings, keys: list[str], trials: list[TrialResult],
                candidates: list[Candidate], config: dict) -> Path:
    constraints = settings.parsed_constraints()
    with h5py.File(path, "w") as f:
        f.attrs.update({"objective": settings.objective, "direction": settings.direction,
                        "constraints": json.dumps(list(settings.constraints)), "variables": json.dumps(keys),
                        "seed": settings.seed, "replicas": settings.replicas, "trials": len(trials),
                        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        g = f.create_group("trials")
        g["number"] = np.array([t.number for t in trials], dtype=np.int64)
        g["repeat_of"] = np.array([-1 if t.repeat_of is None else t.repeat_of for t in trials], dtype=np.int64)
        for key in keys:
            g[f"setting/{key}"] = np.array([t.setting[key] for t in trials], dtype=np.float64)
        for name in trials[0].kpis:
            g[f"kpi_mean/{name}"] = np.array([_mean(t.kpis[name]) for t in trials])
        g["objective"] = np.stack([t.kpis[settings.objective] for t in trials])
        g["constraint_violation"] = np.array([[c.violation(_mean(t.kpis[c.kpi])) for c in constraints]
                                              for t in trials], dtype=np.float64).reshape(len(trials), len(constraints))
        s = f.create_group("settings")
        for key in keys:
            s[f"setting/{key}"] = np.array([c.setting[key] for c in candidates], dtype=np.float64)
        s["mean"] = np.array([c.mean for c in candidates])
        s["ci95_low"] = np.array([c.ci[0] for c in candidates])
        s["ci95_high"] = np.array([c.ci[1] for c in candidates])
        for i, part in enumerate(("diff_mean", "diff_low", "diff_high")):
            s[part] = np.array([np.nan if c.diff is None else c.diff[i] for c in candidates])
        s.create_dataset("verdict", data=[c.verdict for c in candidates], dtype=STR)
        s["first_trial"] = np.array([c.trials[0] for c in candidates], dtype=np.int64)
        b = f.create_group("best")
        best = next((c for c in candidates if c.verdict == BEST), None)
        b.attrs["found"] = best is not None
        if best is not None:
            b.attrs.update({**{key: best.setting[key] for key in keys}, "mean": best.mean, "ci95_low": best.ci[0],
                            "ci95_high": best.ci[1], "ci_method": best.ci_method})
        p = f.create_group("provenance")
        p.attrs["config_yaml"] = OmegaConf.to_yaml(OmegaConf.create(redact_secrets(to_plain(config))))
        p.attrs["seed"] = settings.seed
        p.attrs.update(environment())
    return path


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
