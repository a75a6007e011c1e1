"""The library API, for scripts and notebooks: no Hydra needed.

    import simengine
    scenario = simengine.load_scenario("crane_fleet", {"crews.count": 4, "fleet.count": 10})
    run = simengine.run(scenario, replicas=20, seed=7)
    run.summary["availability"]["mean"], run.path
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from simengine.batch import run_replicas
from simengine.config import ConfigError, Problem, build, to_dict
from simengine.config.run import RunSettings
from simengine.config.scenario import ScenarioConfig
from simengine.engine.kpis import KPIS
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
            raise ConfigError([unknown_scenario(str(name_or_path))])
    cfg = OmegaConf.load(path)
    for key, value in (overrides or {}).items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return build(ScenarioConfig, OmegaConf.to_container(cfg, resolve=True))


def unknown_scenario(name: str) -> Problem:
    """The problem of a scenario name that names no file: the names there are, and the closest."""
    names = scenario_names()
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return Problem("scenario", name, f"unknown scenario; choose one of {', '.join(names)}{hint}")


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
    def summary(self) -> dict[str, dict]:
        return summarize(self.kpis, KPIS)


def run(scenario: ScenarioConfig, *, replicas: int = 8, seed: int = 0, executor: str = "serial", workers: int = 2,
        out_dir: str | Path | None = None, plots: bool = True, progress: bool | None = None,
        settings: dict | None = None) -> Run:
    """Run a Monte Carlo batch; with `out_dir`, publish ``<out_dir>/<name>-<UTC time>/`` holding run.h5 and plots.

    The arguments and `out_dir` are checked before anything runs (a mistake is
    one ConfigError). The run's folder appears only once run.h5 and the plots
    are complete, so a failed run leaves nothing behind. `progress`: None
    shows progress bars when stderr is a terminal.
    """
    check_run_arguments(replicas=replicas, seed=seed, executor=executor, workers=workers)
    if out_dir is not None:
        check_out_dir(out_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    results = run_replicas(scenario, replicas=replicas, seed=seed, executor=executor, workers=workers, progress=progress)
    path = None
    if out_dir is not None:
        config = {"scenario": to_dict(scenario), "run": dict(settings or {}, replicas=replicas, seed=seed, executor=executor)}
        path = _publish(Path(out_dir), scenario.name, config, seed, results, plots)
    return Run(scenario, seed, results, path)


def check_run_arguments(**arguments) -> None:
    """The run settings' rules (replicas >= 1, a known executor, ...), as one ConfigError."""
    build(RunSettings, arguments)


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse an `out_dir` that cannot hold results, before any replica runs; create nothing."""
    path = Path(out_dir)
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ConfigError([Problem("out_dir", str(out_dir), f"{existing} is not a folder")])
    try:  # os.access trusts the mode bits, which a read-only mount or root ignore; a real file tells
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError([Problem("out_dir", str(out_dir), f"cannot write in {existing}: {err.strerror}")]) from None


def _publish(out_dir: Path, name: str, config: dict, seed: int, results: list[ReplicaResult], plots: bool) -> Path:
    # Built in a hidden folder beside the final one, then renamed: readers never see half a result.
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = out_dir / f"{name}-{stamp}"
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=out_dir))
    try:
        written = write_run(staging / "run.h5", config=config, seed=seed, replicas=results, specs=KPIS)
        if plots:
            plot_run(read_run(written), staging)
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a result folder is not
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in created:  # innermost first; a folder someone else filled meanwhile stays
            try:
                parent.rmdir()
            except OSError:
                break
        raise
    return folder / "run.h5"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
