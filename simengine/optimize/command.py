"""`simengine optimize`: search decision variables of a scenario, publish results/optimize-<UTC time>/.

The folder holds optimize.h5 (:mod:`simengine.optimize.store`), report.md and
tradeoff.png; it appears only when all of them are complete (built hidden
and renamed), and a mistake in the input is one ConfigError before anything
runs or is written.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from simengine.config import ConfigError, Problem, build, to_dict
from simengine.config.optimize import OPTIMIZE_KEYS, OptimizeSettings, parse_constraint
from simengine.config.scenario import ScenarioConfig
from simengine.optimize.space import Space, flatten_variables, path_problems
from simengine.results.publish import StagedFolder, Terminated, signals_end_run, stamped_name

if TYPE_CHECKING:  # the search, the engine, HDF5 and plotting load only once the configuration is valid
    from simengine.optimize.compare import Candidate
    from simengine.optimize.study import TrialResult


@dataclass(frozen=True)
class Optimisation:
    space: Space
    trials: list[TrialResult]
    candidates: list[Candidate]  # distinct settings, best first
    path: Path | None = None  # the published folder


def optimize(scenario: ScenarioConfig, settings: OptimizeSettings, *, pool=None, progress: bool = False,
             on_chunk=None) -> Optimisation:
    """Search `settings.variables` of `scenario` (library use; nothing is written). `pool`: an open pool
    (`simengine.batch.pools.open_pool`); None runs in this process."""
    from simengine.batch.pools import open_pool
    from simengine.optimize.compare import compare
    from simengine.optimize.study import search

    space = Space(scenario, settings.variables)
    own = pool is None
    pool = open_pool("serial") if own else pool
    # The pool collects garbage after every task; with JAX and SciPy loaded a full collection walks
    # ~0.3 s of long-lived objects. Frozen, they are skipped, and a study of small replicas is not
    # mostly garbage collection.
    gc.freeze()
    try:
        trials = search(space, settings, pool, progress=progress, on_chunk=on_chunk)
    finally:
        gc.unfreeze()
        if own:
            pool.close()
    candidates = compare(trials, settings.objective, settings.direction, settings.parsed_constraints())
    return Optimisation(space, trials, candidates)


def settings_and_scenario(plain: dict) -> tuple[ScenarioConfig, OptimizeSettings, dict]:
    """Validate the composed configuration: the search settings, the scenario, and every variable's place in it."""
    from simengine.cli import build_parts

    plain = dict(plain)
    if "variables" in plain:
        plain["variables"] = flatten_variables(plain["variables"])
    try:
        scenario, settings, provenance = build_parts(plain, OPTIMIZE_KEYS, OptimizeSettings, ScenarioConfig)
    except ConfigError as err:
        problems = list(err.problems)
        scenario_part = {k: v for k, v in plain.items() if k not in OPTIMIZE_KEYS and k != "calibration"}
        try:  # say too which variables the scenario lacks, so that one message lists everything
            base = build(ScenarioConfig, scenario_part)
        except ConfigError:
            base = None
        if base is not None and isinstance(plain.get("variables"), Mapping):
            problems += path_problems(base, plain["variables"])
        problems += _constraint_problems(plain.get("constraints"), {p.field for p in problems})
        raise ConfigError(problems) from None
    Space(scenario, settings.variables)  # raises for variables not in the scenario, or ranges it refuses
    return scenario, settings, provenance


def _constraint_problems(raw, reported: set[str]) -> list[Problem]:
    """Malformed constraints, when another field's problem kept the settings' own check from running."""
    if not isinstance(raw, (list, tuple)):
        return []
    return [Problem(f"constraints[{i}]", text, rule) for i, text in enumerate(raw)
            if isinstance(text, str) and isinstance(rule := parse_constraint(text), str)
            and f"constraints[{i}]" not in reported]


def run_command(plain: dict) -> int:
    scenario, settings, provenance = settings_and_scenario(plain)
    from simengine.batch.pools import open_pool
    from simengine.optimize.plots import plot_tradeoff
    from simengine.optimize.report import best_line, markdown, terminal_table
    from simengine.optimize.store import write_study

    progress = sys.stderr.isatty() if settings.progress is None else settings.progress
    with signals_end_run() as pending:
        try:
            with StagedFolder(settings.out_dir, stamped_name("optimize")) as folder:  # fails here if out_dir is unwritable
                print(f"simengine optimize: {scenario.name}, {settings.direction} {settings.objective}"
                      f"{' subject to ' + ', '.join(settings.constraints) if settings.constraints else ''}; "
                      f"{settings.trials} trials x {settings.replicas} replicas, seed {settings.seed}, "
                      f"{settings.executor}")
                pool = open_pool(settings.executor, settings.workers, settings.dask.address, settings.dask.timeout_s)
                try:
                    result = optimize(scenario, settings, pool=pool, progress=progress, on_chunk=pending.check)
                finally:
                    pool.close()
                pending.check()
                keys = result.space.keys
                constraints = settings.parsed_constraints()
                config = {"optimize": provenance["run"], "scenario": to_dict(scenario)}
                write_study(folder.staging / "optimize.h5", settings=settings, keys=keys, trials=result.trials,
                            candidates=result.candidates, config=config)
                plot = None
                if settings.plots:
                    plot_tradeoff(folder.staging / "tradeoff.png", result.candidates, result.space.decisions,
                                  settings.objective, constraints, settings.replicas)
                    plot = "tradeoff.png"
                (folder.staging / "report.md").write_text(
                    markdown(settings, scenario.name, keys, result.candidates, len(result.trials), plot))
                path = folder.publish()
        except (KeyboardInterrupt, Terminated) as err:
            print("simengine: optimize interrupted; nothing written", file=sys.stderr)
            return 143 if isinstance(err, Terminated) else 130
    print(terminal_table(result.candidates, keys, constraints))
    print(best_line(result.candidates, keys, settings.objective))
    print(f"results: {path / 'optimize.h5'}")
    print(f"report:  {path / 'report.md'}")
    if plot:
        print(f"plot:    {path / plot}")
    return 0
