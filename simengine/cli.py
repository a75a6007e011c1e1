"""Command line: ``simengine run|bench ...`` — the only module that sees Hydra.

    simengine run                                   # default scenario (crane_fleet)
    simengine run scenario=wind_farm crews.count=4 replicas=200 seed=7 executor=processes

Group choices (``scenario=...``) are composed by Hydra from ``conf/``; every
other ``key=value`` is parsed by Hydra's override grammar and applied to the
composed config, which is then validated as a whole, so a user sees every
problem at once, with field, value and rule, and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import OmegaConf

from simengine.config import ConfigError, Problem, build
from simengine.config.run import RUN_KEYS, RunSettings
from simengine.config.scenario import ScenarioConfig

GROUPS = ("scenario",)


def compose_config(overrides: list[str]) -> tuple[ScenarioConfig, RunSettings, dict]:
    """Hydra composition plus dotted overrides -> validated (scenario, run settings, plain config)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, MissingConfigException

    from simengine.api import conf_dir, scenario_names

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError([Problem("<command line>", " ".join(overrides), f"not a valid override: {err}")]) from None
    groups = [o.input_line for o in parsed if o.key_or_group in GROUPS]
    values = [o for o in parsed if o.key_or_group not in GROUPS]
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="simengine"):
            cfg = compose(config_name="config", overrides=groups)
    except MissingConfigException:
        chosen = next((o.value() for o in parsed if o.key_or_group == "scenario"), None)
        raise ConfigError([Problem("scenario", chosen, f"unknown scenario; choose one of {', '.join(scenario_names())}")]) from None
    OmegaConf.set_struct(cfg, False)
    for o in values:
        if o.is_delete():
            OmegaConf.update(cfg, o.key_or_group, None, force_add=True)
        else:
            OmegaConf.update(cfg, o.key_or_group, o.value(), merge=False, force_add=True)
    plain = OmegaConf.to_container(cfg, resolve=True)
    run_part = {k: plain.pop(k) for k in RUN_KEYS if k in plain}
    problems: list[Problem] = []
    scenario = settings = None
    for cls, data, prefix in ((RunSettings, run_part, ""), (ScenarioConfig, plain, "")):
        try:
            obj = build(cls, data, path=prefix)
        except ConfigError as err:
            problems.extend(err.problems)
            continue
        if cls is RunSettings:
            settings = obj
        else:
            scenario = obj
    if problems:
        raise ConfigError(problems)
    return scenario, settings, {"scenario": plain, "run": run_part}


def cmd_run(args: argparse.Namespace) -> int:
    from simengine.api import run
    from simengine.results import format_table

    scenario, settings, _ = compose_config(args.overrides)
    print(f"simengine: {scenario.name}, {scenario.fleet.count} {scenario.fleet.kind} assets, "
          f"{scenario.horizon_years:g} years, {settings.replicas} replicas, seed {settings.seed}, {settings.executor}")
    result = run(scenario, replicas=settings.replicas, seed=settings.seed, executor=settings.executor,
                 workers=settings.workers, out_dir=settings.out_dir, plots=settings.plots, progress=settings.progress,
                 settings={k: getattr(settings, k) for k in RUN_KEYS})
    print(format_table(result.summary))
    print(f"results: {result.path}")
    if settings.plots:
        for png in sorted(result.path.parent.glob("*.png")):
            print(f"plot:    {png}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from simengine.bench import run_benchmarks

    run_benchmarks(Path(args.out), quick=args.quick, only=args.only, repeats=args.repeats)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simengine", description="Digital-twin simulation engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a Monte Carlo batch of a scenario")
    p_run.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scenario=wind_farm crews.count=4")
    p_run.set_defaults(fn=cmd_run)
    p_bench = sub.add_parser("bench", help="run the benchmarks, write results/bench/*.json")
    p_bench.add_argument("--out", default="results/bench")
    p_bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    p_bench.add_argument("--only", action="append", help="run only these benchmarks (repeatable)")
    p_bench.add_argument("--repeats", type=int, default=5)
    p_bench.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ConfigError as err:
        print(f"simengine: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
