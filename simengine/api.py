"""The library API, for scripts and notebooks: no Hydra needed.

    import simengine
    scenario = simengine.load_scenario("crane_fleet", {"crews.count": 4, "fleet.count": 10})
    run = simengine.run(scenario, replicas=20, seed=7)
    run.summary["availability"]["mean"], run.path
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from simengine.batch import run_replicas
from simengine.config import ConfigError, Problem, build, to_dict
from simengine.config.scenario import ScenarioConfig
from simengine.results import ReplicaResult, plot_run, read_run, summarize, write_run


def conf_dir() -> Path:
    """The Hydra config tree: $SIMENGINE_CONF, else the one shipped inside the package."""
    # Inside the package, not beside it: an installed wheel has no checkout around it.
    return Path(os.environ.get("SIMENGINE_CONF", Path(__file__).resolve().parent / "conf"))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml"))


def load_scenario(name_or_path: str | Path, overrides: dict | None = None) -> ScenarioConfig:
    """A scenario by name (``conf/scenario/<name>.yaml``) or path, with dotted-key overrides."""
    path = Path(name_or_path)
    if not path.suffix:
        path = conf_dir() / "scenario" / f"{name_or_path}.yaml"
        if not path.exists():
            raise ConfigError([Problem("scenario", str(name_or_path), f"unknown scenario; choose one of {', '.join(scenario_names())}")])
    cfg = OmegaConf.load(path)
    for key, value in (overrides or {}).items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return build(ScenarioConfig, OmegaConf.to_container(cfg, resolve=True))


@dataclass(frozen=True)
class Run:
    scenario: ScenarioConfig
    seed: int
    replicas: list[ReplicaResult]
    path: Path | None

    @property
    def kpis(self) -> dict[str, np.ndarray]:
        return {k: np.array([r.kpis[k] for r in self.replicas]) for k in self.replicas[0].kpis}

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return summarize(self.kpis)


def run(scenario: ScenarioConfig, *, replicas: int = 8, seed: int = 0, executor: str = "serial", workers: int = 2,
        out_dir: str | Path | None = None, plots: bool = True, progress: bool = False,
        settings: dict | None = None) -> Run:
    """Run a Monte Carlo batch; with `out_dir`, write ``<out_dir>/<name>-<UTC time>/run.h5`` and plots."""
    results = run_replicas(scenario, replicas=replicas, seed=seed, executor=executor, workers=workers, progress=progress)
    path = None
    if out_dir is not None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        folder = Path(out_dir) / f"{scenario.name}-{stamp}"
        folder.mkdir(parents=True, exist_ok=True)
        config = {"scenario": to_dict(scenario), "run": dict(settings or {}, replicas=replicas, seed=seed, executor=executor)}
        path = write_run(folder / "run.h5", config=config, seed=seed, replicas=results)
        if plots:
            plot_run(read_run(path), folder)
    return Run(scenario, seed, results, path)
