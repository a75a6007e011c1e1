"""`simengine sensitivity` from the composed configuration: validate, sample, run, analyse, publish.

Order matters to a user: every problem of the configuration (a parameter
without bounds or not a scenario field, an unknown KPI, a sample size that is
not a power of 2, a bound the scenario refuses, a sample point it refuses) is
one message before anything runs, and an output folder that cannot be written
is refused before the first replica; the results folder appears only whole.
"""

from __future__ import annotations

import sys

from simengine.config import ConfigError, Problem, build
from simengine.config.scenario import ScenarioConfig
from simengine.config.sensitivity import SENSITIVITY_KEYS, SensitivitySettings, SobolParameter
from simengine.config.validate import choice_rule
from simengine.sensitivity.evaluators import EngineEvaluator, IshigamiEvaluator
from simengine.sensitivity.parameters import Parameter, bound_problems, flatten, resolve


def run_command(plain: dict) -> int:
    """The whole command; returns the exit code (ConfigError and OSError are the CLI's to print)."""
    from simengine.results.publish import Terminated, signals_end_run

    settings, scenario, evaluator, provenance = configure(plain)
    with signals_end_run() as pending:
        try:
            return run_study_to_folder(settings, scenario, evaluator, provenance, pending)
        except Terminated:
            print("simengine: terminated", file=sys.stderr)
            return 143


def configure(plain: dict):
    """Settings, scenario, evaluator (its sample points not yet drawn) and provenance; one ConfigError listing
    every problem."""
    from simengine.cli import build_parts

    plain = dict(plain)
    plain["parameters"] = flatten(plain.get("parameters") or {})
    problems: list[Problem] = []
    settings = scenario = None
    provenance = {"run": {k: plain[k] for k in SENSITIVITY_KEYS if k in plain},
                  "config": {k: v for k, v in plain.items() if k not in SENSITIVITY_KEYS}}
    try:
        scenario, settings, provenance = build_parts(plain, SENSITIVITY_KEYS, SensitivitySettings, ScenarioConfig)
    except ConfigError as err:
        problems.extend(err.problems)
    plain_scenario = provenance["config"]
    engine = plain.get("model", "engine") == "engine"
    params: list[Parameter] = []
    if engine:
        name_problems, params = _parameter_problems(plain["parameters"], settings, plain_scenario)
        problems += name_problems + _kpi_problems(plain.get("kpis"))
    if settings is None:  # the settings' own cross-field rules ran only if every field built: say this one anyway
        problems += _samples_problems(plain.get("samples"))
    if problems:
        raise ConfigError(problems)
    if not engine:
        return settings, scenario, IshigamiEvaluator(), provenance
    if problems := bound_problems(plain_scenario, params):
        raise ConfigError(problems)
    evaluator = EngineEvaluator(plain_scenario, params, settings.kpis, replicas=settings.replicas, seed=settings.seed,
                                chunk=settings.chunk)
    return settings, scenario, evaluator, provenance


def _parameter_problems(raw: dict, settings: SensitivitySettings | None, plain_scenario: dict):
    """Each parameter key as a scenario field (with its built spec where the settings built)."""
    if not isinstance(raw, dict):
        return [], []
    problems, params = [], []
    for name, spec in raw.items():
        built = settings.parameters.get(name) if settings is not None else None
        if built is None:
            try:
                built = build(SobolParameter, spec, path=f"parameters.{name}")
            except (ConfigError, TypeError):
                built = SobolParameter(0.0, 1.0)  # its own problems are reported by the settings; here only the name
        found = resolve(name, built, plain_scenario)
        if isinstance(found, Problem):
            problems.append(Problem(found.field, spec, found.rule))  # as the user wrote it
        else:
            params.append(found)
    return problems, params


def _samples_problems(samples) -> list[Problem]:
    try:
        build(SensitivitySettings, {"samples": samples, "model": "ishigami"})
    except ConfigError as err:
        return [p for p in err.problems if p.field == "samples" and "power of 2" in p.rule]
    return []


def _kpi_problems(kpis) -> list[Problem]:
    from simengine.engine.kpis import KPIS  # the catalogue only; the engine itself stays unloaded

    if not isinstance(kpis, (list, tuple)):
        return []
    return [Problem(f"kpis[{i}]", k, "unknown KPI: " + choice_rule(k, list(KPIS)))
            for i, k in enumerate(kpis) if isinstance(k, str) and k not in KPIS]


def banner(settings: SensitivitySettings, scenario: ScenarioConfig, evaluator, points: int) -> str:
    runs = points * evaluator.replicas
    head = (f"simengine sensitivity: {scenario.name}, {scenario.describe_assets()}, "
            f"{scenario.horizon_years:g} years" if evaluator.model == "engine" else
            "simengine sensitivity: the Ishigami function (a=7, b=0.1), x1, x2, x3 uniform on [-π, π]; KPI y "
            "(the configuration's parameters and kpis are not used)")
    return (f"{head}; {len(evaluator.parameters)} parameters, N={settings.samples}: {points} points × "
            f"{evaluator.replicas} replicas = {runs} runs, seed {settings.seed}, {settings.executor}")


def run_study_to_folder(settings: SensitivitySettings, scenario: ScenarioConfig, evaluator, provenance: dict,
                        pending) -> int:
    from simengine.batch.pools import open_pool
    from simengine.results.publish import StagedFolder, stamped_name
    from simengine.sensitivity.report import markdown, plot, table, write_h5
    from simengine.sensitivity.sobol import design, run_study

    points = design(evaluator, settings.samples, settings.seed)  # every sample point checked: a ConfigError here
    try:  # before the first replica: an output folder that cannot be written costs nothing
        staged = StagedFolder(settings.out_dir, stamped_name("sensitivity"))
    except OSError as err:
        raise ConfigError([Problem("out_dir", settings.out_dir,
                                   f"must be a folder this run can write: {err.strerror or err}")]) from None
    head = banner(settings, scenario, evaluator, len(points.values))
    print(head, flush=True)
    specs = [p.describe() for p in evaluator.parameters]
    with staged:
        pool = open_pool(settings.executor, settings.workers, settings.dask.address, settings.dask.timeout_s)
        try:
            pending.check()
            progress = sys.stderr.isatty() if settings.progress is None else settings.progress
            study = run_study(evaluator, points, pool, seed=settings.seed, resamples=settings.resamples,
                              confidence=settings.confidence, progress=progress, on_chunk=pending.check)
        finally:
            pool.close()
        pending.check()
        config = {"sensitivity": provenance["run"], "scenario": provenance["config"]}
        write_h5(study, staged.staging / "sensitivity.h5", config, specs)
        files = ["sensitivity.h5", "report.md"]
        if settings.plots:
            plot(study, staged.staging / "sensitivity.png")
            files.append("sensitivity.png")
        (staged.staging / "report.md").write_text(markdown(study, banner=head, parameters=specs, files=files))
        pending.check()
        folder = staged.publish()
    print(table(study))
    print(f"results: {folder / 'sensitivity.h5'}")
    print(f"report:  {folder / 'report.md'}")
    if settings.plots:
        print(f"plot:    {folder / 'sensitivity.png'}")
    return 0
