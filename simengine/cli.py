"""Command line: ``simengine run|fatigue|calibrate|plc|bench ...`` — the only module that sees Hydra.

    simengine run                                   # default scenario (crane_fleet)
    simengine calibrate                             # fit the embedded virtual PLC's crane, one hour at 1 Hz
    simengine run scenario=wind_farm crews.count=4 replicas=200 seed=7 executor=processes
    simengine run -m crews.count=2,3,4 policy.kind=corrective,condition_based   # a what-if sweep

Group choices (``scenario=...``) are composed by Hydra from ``conf/``; every
other ``key=value`` is parsed by Hydra's override grammar and applied to the
composed config, which is then validated as a whole, so a user sees every
problem at once, with field, value and rule, and no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from simengine.config import ConfigError, Problem, build
from simengine.config.run import RUN_KEYS, RunSettings
from simengine.config.scenario import ScenarioConfig

GROUPS = ("scenario",)


def compose(config_name: str, overrides: list[str], calibration_section: str | None = None,
            values_after: dict | None = None) -> dict:
    """Hydra composition of conf/<config_name>.yaml with group choices, then dotted overrides,
    as plain data (not yet validated). With `calibration_section`, an override
    ``calibration=<params.yaml>`` applies that section of a calibrated parameter file first
    (the command line's own overrides still win). `values_after`: dotted key -> value, applied
    last (a sweep variant's values, already parsed)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError([Problem("<command line>", " ".join(overrides), f"not a valid override: {err}")]) from None
    group_overrides = [o for o in parsed if o.key_or_group in GROUPS]
    values = [o for o in parsed if o.key_or_group not in GROUPS]
    cfg = compose_tree(config_name, group_overrides)
    if cfg is None:
        cfg = hydra_compose(config_name, group_overrides)
    OmegaConf.set_struct(cfg, False)
    calibration = next((o for o in values if o.key_or_group == "calibration"), None) if calibration_section else None
    if calibration is not None:
        values = [o for o in values if o is not calibration]
        for key, value in calibrated_overrides(str(calibration.value()), calibration_section).items():
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    for o in values:
        if o.is_delete():
            OmegaConf.update(cfg, o.key_or_group, None, force_add=True)
        else:
            OmegaConf.update(cfg, o.key_or_group, o.value(), merge=False, force_add=True)
    for key, value in (values_after or {}).items():
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    plain = OmegaConf.to_container(cfg, resolve=True)
    if calibration is not None:
        plain["calibration"] = str(calibration.value())
    return plain


def hydra_compose(config_name: str, group_overrides: list):
    """Hydra's composition of conf/<config_name>.yaml with the group choices `group_overrides` (parsed)."""
    from hydra import compose as compose_config_groups
    from hydra import initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException

    from simengine.api import conf_dir, unknown_scenario

    groups = [o.input_line for o in group_overrides]
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="simengine"):
            return compose_config_groups(config_name=config_name, overrides=groups)
    except MissingConfigException:
        chosen = next((o.value() for o in group_overrides if o.key_or_group == "scenario"), None)
        raise ConfigError([unknown_scenario(chosen)]) from None
    except HydraException as err:  # e.g. a group override for a config without groups
        raise ConfigError([Problem("<command line>", " ".join(groups), str(err).splitlines()[0])]) from None


SELF = "_self_"
PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")


def compose_tree(config_name: str, group_overrides: list):
    """The composition Hydra makes of conf/<config_name>.yaml, made directly with OmegaConf for the one shape
    conf/ has, in a quarter of Hydra's time (Hydra composes its own configuration tree too): a primary config
    whose defaults list is ``- <group>: <name>`` entries and ``_self_``, group files headed
    ``# @package _global_`` without defaults of their own, and ``<group>=<name>`` choices. None for anything
    else (a tree of one's own in $SIMENGINE_CONF, ``+group=...``), which Hydra composes; tests/test_cli.py
    checks that both give the same configuration for every file in conf/."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    from simengine.api import conf_dir, unknown_scenario

    conf = conf_dir()
    primary_path = conf / f"{config_name}.yaml"
    if not PLAIN_NAME.match(config_name) or not primary_path.is_file() or package(primary_path) not in (None, "_global_"):
        return None
    primary = OmegaConf.load(primary_path)
    if not isinstance(primary, DictConfig) or "hydra" in primary:
        return None
    defaults = primary.pop("defaults", ListConfig([]))
    choices: dict[str, str] = {}
    order: list[str] = []
    for entry in defaults if isinstance(defaults, ListConfig) else [None]:
        if entry == SELF:
            order.append(SELF)
        elif (isinstance(entry, DictConfig) and len(entry) == 1 and (group := next(iter(entry))) in GROUPS
              and isinstance(entry[group], str) and PLAIN_NAME.match(entry[group]) and group not in choices):
            choices[group] = entry[group]
            order.append(group)
        else:
            return None
    if SELF not in order:
        if choices:  # where Hydra merges the config itself then depends on its version
            return None
        order.append(SELF)
    for o in group_overrides:  # plain `group=name` choices among the defaults; Hydra reports anything else
        name = o.value()
        if (o.key_or_group not in choices or o.package is not None or o.type.name != "CHANGE"
                or not isinstance(name, str) or not PLAIN_NAME.match(name)):
            return None
        if not (conf / o.key_or_group / f"{name}.yaml").is_file():
            if o.key_or_group != "scenario":
                return None
            raise ConfigError([unknown_scenario(name)])
        choices[o.key_or_group] = name
    cfg = OmegaConf.create()
    for item in order:
        if item == SELF:
            cfg.merge_with(primary)
            continue
        path = conf / item / f"{choices[item]}.yaml"
        if not path.is_file() or package(path) != "_global_":
            return None
        loaded = OmegaConf.load(path)
        if not isinstance(loaded, DictConfig) or "defaults" in loaded or "hydra" in loaded:
            return None
        cfg.merge_with(loaded)
    return cfg


def package(path: Path) -> str | None:
    """The ``# @package`` of a config file's header as Hydra reads it (leading ``# @key value`` lines; None:
    no package line), or "" for a header line Hydra refuses."""
    found = None
    for line in path.read_text(encoding="utf-8")[:512].splitlines():
        line = line.strip()
        if not line:
            continue
        if not re.match(r"#\s*@", line):
            break
        words = line.lstrip("#").split()
        if len(words) != 2:
            return ""
        if words[0] == "@package":
            found = words[1]
    return found


def calibrated_overrides(path: str, section: str) -> dict:
    """The dotted overrides of one section of a calibrated parameter file (`simengine calibrate`)."""
    import yaml
    from omegaconf import OmegaConf

    try:
        data = OmegaConf.to_container(OmegaConf.load(path))
    except (OSError, ValueError, yaml.YAMLError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError([Problem("calibration", path, f"not a readable parameter file: {reason}")]) from None
    overrides = data.get(section) if isinstance(data, dict) else None
    if overrides is not None and not isinstance(overrides, dict):
        raise ConfigError([Problem(f"calibration[{section}]", path, "must be a mapping of dotted keys to values")])
    if not overrides:
        hint = " (crack-growth values come from `simengine calibrate continuous.enabled=true`)" if section == "fatigue" else ""
        raise ConfigError([Problem("calibration", path, f"holds no `{section}` parameters{hint}")])
    return overrides


def build_parts(plain: dict, run_keys: tuple[str, ...], run_schema, schema):
    """Split plain config into run settings and the rest; validate both, listing every problem."""

    from simengine.config.validate import unknown_rule

    plain = dict(plain)
    run_part = {k: plain.pop(k) for k in run_keys if k in plain}
    calibration = plain.pop("calibration", None)
    problems: list[Problem] = []
    built = []
    for cls, data in ((run_schema, run_part), (schema, plain)):
        try:
            built.append(build(cls, data))
        except ConfigError as err:
            problems.extend(err.problems)
    # An unknown top-level key is measured against the run keys too: `replica=5` means `replicas`.
    known = [*run_keys, *(f.name for f in dataclasses.fields(schema) if f.init)]
    problems = [Problem(p.field, p.value, unknown_rule(p.field, known))
                if p.field in plain and p.rule.startswith("unknown field") else p for p in problems]
    if problems:
        raise ConfigError(problems)
    provenance = {"run": run_part, "config": plain}
    if calibration is not None:
        provenance["run"] = {**run_part, "calibration": calibration}
    return built[1], built[0], provenance


def compose_config(overrides: list[str]) -> tuple[ScenarioConfig, RunSettings, dict]:
    """`simengine run`: the validated scenario and run settings."""
    return build_parts(compose("config", overrides, "scenario"), RUN_KEYS, RunSettings, ScenarioConfig)


@dataclasses.dataclass(frozen=True)
class SweptKey:
    """One swept key of a multirun: its values as the command line spells them and as parsed."""

    key: str
    text: str  # as written: 2,3,4 or range(2,5)
    texts: list[str]
    values: list


def split_sweep(overrides: list[str]) -> tuple[list[str], list[SweptKey]]:
    """Hydra's sweep grammar: the overrides every variant shares, and each swept key's values
    (comma lists, ``choice()``, ``range()``, ``glob()`` over scenarios), in command-line order.
    Every problem (a run key swept, a range with no values, ...) in one ConfigError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob
    from hydra.errors import HydraException

    from simengine.api import scenario_names

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError([Problem("<command line>", " ".join(overrides), f"not a valid override: {err}")]) from None
    common, swept, problems = [], [], []
    for o in parsed:
        if not o.is_sweep_override():
            common.append(o.input_line)
            continue
        key, text = o.key_or_group, o.input_line.split("=", 1)[1]
        if key.split(".")[0] in RUN_KEYS:
            problems.append(Problem(key, text, "is a run setting, one for the whole sweep (common random numbers "
                                               "need one seed and one replica count); sweep scenario keys only"))
        elif isinstance(o.value(), Glob):
            if key not in GROUPS:
                problems.append(Problem(key, text, "glob() chooses among config files; only scenario=glob(...) "
                                                   "is a group here; list values instead (a,b or choice(a,b))"))
                continue
            names = o.value().filter(scenario_names())
            if names:
                swept.append(SweptKey(key, text, names, names))
            else:
                problems.append(Problem(key, text, f"matches no scenario; there are {', '.join(scenario_names())}"))
        elif not o.is_discrete_sweep():
            problems.append(Problem(key, text, "a continuous interval has no values to run; list them "
                                               "(a,b,c), or use range(start, stop, step)"))
        else:
            values, texts = list(o.sweep_iterator()), list(o.sweep_string_iterator())
            repeated = sorted({t for t in texts if texts.count(t) > 1})
            if not values:
                problems.append(Problem(key, text, "gives no values: range(start, stop[, step]) runs from start up "
                                                   "to stop, excluded, so start < stop with a positive step"))
            elif repeated:
                problems.append(Problem(key, text, f"lists {', '.join(repeated)} more than once; each variant "
                                                   "must differ"))
            else:
                swept.append(SweptKey(key, text, texts, values))
    if problems:
        raise ConfigError(problems)
    return common, swept


def compose_sweep(overrides: list[str]):
    """`simengine run -m`: the variants (one per combination of swept values, the last key varying
    fastest) and the run settings, every variant's problems listed once."""
    import itertools

    common, swept = split_sweep(overrides)
    sweep_text = {s.key: s.text for s in swept}

    def unknown_once(p: Problem) -> Problem:  # an unknown swept key: one message with its values, not one per value
        return Problem(p.field, sweep_text[p.field], p.rule) if p.field in sweep_text and p.rule.startswith("unknown") else p

    variants, problems, settings, provenance = [], [], None, None
    for combo in itertools.product(*(range(len(s.values)) for s in swept)):
        chosen = [(s, k) for s, k in zip(swept, combo)]
        groups = [f"{s.key}={s.texts[k]}" for s, k in chosen if s.key in GROUPS]
        values = {s.key: s.values[k] for s, k in chosen if s.key not in GROUPS}
        try:
            plain = compose("config", common + groups, "scenario", values_after=values)
            baseline = plain.get("sweep", {}).get("baseline") if isinstance(plain.get("sweep"), dict) else None
            if isinstance(baseline, int) and not isinstance(baseline, bool):  # a variant's number
                plain["sweep"] = {**plain["sweep"], "baseline": str(baseline)}
            scenario, settings, provenance = build_parts(plain, RUN_KEYS, RunSettings, ScenarioConfig)
        except ConfigError as err:
            problems += [p for p in map(unknown_once, err.problems) if p not in problems]
            continue
        label = " ".join(f"{s.key}={s.texts[k]}" for s, k in chosen) or "as configured"
        variants.append((label, {s.key: s.values[k] for s, k in chosen}, scenario))
    if problems:
        raise ConfigError(problems)
    from simengine.sweep.store import Variant  # HDF5: only once every variant is valid

    return [Variant(*v) for v in variants], settings, provenance


def cmd_sweep(args: argparse.Namespace) -> int:
    import shlex

    from simengine.api import Interrupted, check_out_dir

    variants, settings, provenance = compose_sweep(args.overrides)
    if settings.profile:
        raise ConfigError([Problem("profile", True, "profiles one run, not a sweep (-m): profile a variant with "
                                                    "simengine run <its overrides> profile=true")])
    # the engine, HDF5 and plotting only for a valid configuration (simengine.results loads them all)
    from simengine.results.publish import Terminated, signals_end_run
    from simengine.sweep import run_sweep
    from simengine.sweep.run import baseline_index, check_variants

    check_variants(variants)
    baseline_index(settings.sweep.baseline, [v.label for v in variants])  # a wrong baseline: before anything runs
    if settings.resume is None:
        check_out_dir(settings.out_dir)
    first = variants[0].scenario
    print(f"simengine sweep: {first.name}, {len(variants)} variants × {settings.replicas} replicas "
          f"(common random numbers), seed {settings.seed}, {settings.executor}")
    recorded = {k: getattr(settings, k) for k in RUN_KEYS if k not in ("dask", "resume", "sweep")}
    recorded["overrides"] = list(args.overrides)
    with signals_end_run() as pending:
        try:
            result = run_sweep(variants, replicas=settings.replicas, seed=settings.seed, executor=settings.executor,
                               workers=settings.workers, out_dir=settings.out_dir, plots=settings.plots,
                               progress=settings.progress, baseline=settings.sweep.baseline,
                               dask_address=settings.dask.address, dask_timeout_s=settings.dask.timeout_s,
                               resume=settings.resume, chunk=settings.chunk, on_chunk=pending.check,
                               settings=recorded)
        except Interrupted as err:
            again = " ".join(shlex.quote(a) for a in args.overrides if not a.startswith("resume="))
            print(f"simengine: interrupted; {err.done} of {err.total} replicas (variants × replicas) are kept in "
                  f"{err.folder}\n  resume with: simengine run -m {again} resume={shlex.quote(str(err.folder))}\n"
                  f"  (or run the same command again)", file=sys.stderr)
            return 143 if isinstance(err.signal, Terminated) else 130
    print(result.report)
    print(f"results: {result.path}")
    print(f"report:  {result.path.parent / 'report.md'}")
    if result.plots:
        print(f"plots:   {result.path.parent}/kpi-*.png ({len(result.plots)})")
    return 0


def refuse_sweep_without_multirun(overrides: list[str]) -> None:
    """A sweep's values in a plain run: say that -m runs them (Hydra's own message is about its launcher)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return  # compose() reports it
    problems = [Problem(o.key_or_group, o.input_line.split("=", 1)[1],
                        "several values make a sweep; add -m (simengine run -m ...) to run one variant per value")
                for o in parsed if o.is_sweep_override()]
    if problems:
        raise ConfigError(problems)


def cmd_run(args: argparse.Namespace) -> int:
    if args.multirun:
        return cmd_sweep(args)
    refuse_sweep_without_multirun(args.overrides)
    return cmd_single_run(args)


def cmd_single_run(args: argparse.Namespace) -> int:
    from simengine.api import Interrupted, check_out_dir, run

    scenario, settings, provenance = compose_config(args.overrides)
    if settings.resume is None:
        check_out_dir(settings.out_dir)  # before the banner and before any replica runs
    # the engine, HDF5 and plotting only for a valid configuration (simengine.results loads them all)
    from simengine.results.publish import Terminated, signals_end_run

    calibration = provenance["run"].get("calibration")
    if calibration:
        print(f"calibrated values from {calibration}: {calibrated_overrides(calibration, 'scenario')}")
    print(f"simengine: {scenario.name}, {scenario.describe_assets()}, "
          f"{scenario.horizon_years:g} years, {settings.replicas} replicas, seed {settings.seed}, {settings.executor}")
    recorded = {k: getattr(settings, k) for k in RUN_KEYS if k not in ("dask", "resume", "sweep")}
    # Ctrl-C and SIGTERM end the run wherever they land; the finished replicas stay, resumable
    with signals_end_run() as pending:
        try:
            result = run(scenario, replicas=settings.replicas, seed=settings.seed, executor=settings.executor,
                         workers=settings.workers, out_dir=settings.out_dir, plots=settings.plots,
                         progress=settings.progress, dask_address=settings.dask.address,
                         dask_timeout_s=settings.dask.timeout_s, resume=settings.resume, chunk=settings.chunk,
                         keep=0, on_chunk=pending.check, profile=settings.profile,
                         settings={**recorded, **({"calibration": calibration} if calibration else {})})
        except Interrupted as err:
            again = " ".join(a for a in args.overrides if not a.startswith("resume="))
            print(f"simengine: interrupted; {err.done} of {err.total} replicas are kept in {err.folder}\n"
                  f"  resume with: simengine run {again} resume={err.folder}\n"
                  f"  (or run the same command again)", file=sys.stderr)
            return 143 if isinstance(err.signal, Terminated) else 130
    from simengine.results import format_table

    if scenario.groups:
        from simengine.plant.report import format_groups, split_summary

        plant, by_group = split_summary(result.summary, list(scenario.groups))
        print(format_table(plant))
        print(f"\nby group (mean ±95 % CI half-width; {settings.replicas} replicas):")
        print(format_groups(by_group))
    else:
        print(format_table(result.summary))
    print(f"results: {result.path}")
    if settings.plots:
        for png in sorted(result.path.parent.glob("*.png")):
            print(f"plot:    {png}")
    if result.profile is not None:
        print(f"profile: {result.profile} (and {result.profile.with_suffix('.prof').name} for snakeviz)")
    return 0


def cmd_fatigue(args: argparse.Namespace) -> int:
    from simengine.config.fatigue import FatigueConfig
    from simengine.config.run import FATIGUE_RUN_KEYS, FatigueSettings

    cfg, settings, plain = build_parts(compose("fatigue", args.overrides, "fatigue"), FATIGUE_RUN_KEYS, FatigueSettings, FatigueConfig)
    # JAX, numba, HDF5 and plotting only for a valid configuration
    from simengine.fatigue_cli.command import run_batch
    from simengine.results.publish import Terminated, signals_end_run

    # Ctrl-C and SIGTERM end the run wherever they land (a library may drop the KeyboardInterrupt):
    # nothing is published, the staging folder goes
    with signals_end_run() as pending:
        try:
            return run_batch(cfg, settings, plain, pending)
        except Terminated:
            print("simengine: terminated", file=sys.stderr)
            return 143


def cmd_calibrate(args: argparse.Namespace) -> int:
    from simengine.config.calibrate import CalibrateConfig

    keys = tuple(f.name for f in dataclasses.fields(CalibrateConfig))
    scenario, cfg, provenance = build_parts(compose("calibrate", args.overrides, "scenario"), keys, CalibrateConfig,
                                           ScenarioConfig)
    from simengine.calibration.job import run_job
    from simengine.calibration.report import summary_text

    mode = "continuous, " if cfg.continuous.enabled else ""
    print(f"simengine calibrate: {scenario.fleet.kind} asset {cfg.asset}, source {cfg.source}, {mode}"
          f"fitting {', '.join(cfg.fit.parameters)}")
    job = run_job(cfg, scenario, config={"calibrate": provenance["run"], "scenario": provenance["config"]})
    print(summary_text(job.calibration))
    if job.continuous is not None:
        print(job.continuous.summary_text())
    print(f"parameters: {job.parameter_file}")
    print(f"results:    {job.results}")
    print(f"readings:   {job.readings}")
    for png in job.plots:
        print(f"plot:       {png}")
    return 0


def cmd_plc(args: argparse.Namespace) -> int:
    from simengine.config.plc import RecordConfig, ServeConfig, serve_problems

    plain = compose("plc", args.overrides)
    parts = {key: plain.pop(key, {}) for key in ("serve", "record")}
    problems, built = [], {}
    for key, cls, data in (("serve", ServeConfig, parts["serve"]), ("record", RecordConfig, parts["record"]),
                           ("scenario", ScenarioConfig, plain)):
        try:
            built[key] = build(cls, data, path="" if key == "scenario" else key)
        except ConfigError as err:
            problems.extend(err.problems)
    if problems:
        raise ConfigError(problems)
    serve_cfg, rec_cfg, scenario = built["serve"], built["record"], built["scenario"]
    if problems := serve_problems(serve_cfg, scenario):
        raise ConfigError(problems)
    # the physics, the protocols and HDF5 only for a valid configuration
    from simengine.plc.interrupt import run_interruptible
    from simengine.plc.progress import RecordProgress
    from simengine.plc.recorder import read_recording
    from simengine.plc.service import port_problems, record_modbus, serve, servers_for, tag_indices
    from simengine.plc.tags import load_tagmap
    from simengine.results.publish import stamped_name
    from simengine.virtual_plc import PhysicsSource

    try:
        source = PhysicsSource(scenario, list(serve_cfg.assets), seed=serve_cfg.seed, true_params=serve_cfg.true_params,
                               initial_crack_m=serve_cfg.initial_crack_m)
    except ValueError as err:
        raise ConfigError([Problem("serve", list(serve_cfg.assets), str(err))]) from None
    fault_problems = []
    for i, fault in enumerate(serve_cfg.faults):
        try:
            tag_indices(source.tagmap(), fault.tags)
        except ValueError as err:
            fault_problems.append(Problem(f"serve.faults[{i}].tags", list(fault.tags), str(err)))
    if fault_problems:
        raise ConfigError(fault_problems)
    if args.action == "serve":
        if problems := port_problems(serve_cfg):
            raise ConfigError(problems)
        try:
            servers = servers_for(source.tagmap(), serve_cfg)
        except (ValueError, OSError) as err:
            raise ConfigError([Problem("serve.credentials_file" if serve_cfg.credentials_file else "serve.opcua_secure",
                                       serve_cfg.credentials_file or True, str(err))]) from None
        try:
            steps = run_interruptible(serve(source, serve_cfg, servers=servers))
        except KeyboardInterrupt:
            return 0
        print(f"served {steps} updates")
        return 0
    tagmap = load_tagmap(rec_cfg.tagmap, field="record.tagmap") if rec_cfg.tagmap else source.tagmap()
    if not (tagmap.modbus_tags if rec_cfg.protocol == "modbus" else tagmap.opcua_tags):
        where = "modbus address" if rec_cfg.protocol == "modbus" else "opcua node_id"
        raise ConfigError([Problem("record.tagmap", rec_cfg.tagmap or tagmap.name,
                                   f"has no tag with a {where}: nothing to record over record.protocol={rec_cfg.protocol}")])
    path = Path(rec_cfg.out or f"results/recordings/{stamped_name(tagmap.name)}.h5")
    config = {"record": parts["record"], "serve": parts["serve"]}
    with RecordProgress(rec_cfg) as progress:
        if rec_cfg.protocol == "opcua":
            from simengine.plc.secrets import load_credentials
            from simengine.plc.service import record_opcua

            try:
                credentials = load_credentials(rec_cfg.credentials_file or None) if rec_cfg.opcua_secure else None
            except (OSError, ValueError) as err:
                raise ConfigError([Problem("record.credentials_file", rec_cfg.credentials_file, str(err))]) from None
            run_interruptible(record_opcua(tagmap, rec_cfg, path, config, credentials=credentials, progress=progress,
                                     log=progress.log))
        else:
            run_interruptible(record_modbus(tagmap, rec_cfg, path, config, progress=progress, log=progress.log))
    rec = read_recording(path)
    bad = int((rec.quality != 0).sum())
    print(f"recorded {rec.time_s.size} blocks of {len(rec.tags)} tags, {bad} values flagged, "
          f"{len(rec.gaps)} gaps -> {path}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    plain = compose("sensitivity", args.overrides, "scenario")
    from simengine.sensitivity.command import run_command  # validates `plain`, listing every problem

    return run_command(plain)


def cmd_optimize(args: argparse.Namespace) -> int:
    plain = compose("optimize", args.overrides, "scenario")
    from simengine.optimize.command import run_command  # validates `plain`, listing every problem

    return run_command(plain)


def cmd_bench(args: argparse.Namespace) -> int:
    from simengine.bench import run_benchmarks

    run_benchmarks(Path(args.out), quick=args.quick, only=args.only, repeats=args.repeats, soak=args.soak)
    return 0


def cmd_dtdl(args: argparse.Namespace) -> int:
    from simengine.plant.dtdl_command import run_command  # validates the overrides before HDF5 is imported

    return run_command(args.overrides)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simengine", description="Digital-twin simulation engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a Monte Carlo batch of a scenario")
    p_run.add_argument("-m", "--multirun", action="store_true",
                       help="a what-if sweep: one variant per combination of values (crews.count=2,3,4 "
                            "policy.kind=corrective,condition_based, range(), choice(), scenario=glob(*)), "
                            "compared with common random numbers")
    p_run.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scenario=wind_farm crews.count=4")
    p_run.set_defaults(fn=cmd_run)
    p_fat = sub.add_parser("fatigue", help="a time-accelerated fatigue batch (P(failure) over years)")
    p_fat.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. replicas=10000 horizon_years=25")
    p_fat.set_defaults(fn=cmd_fatigue)
    p_cal = sub.add_parser("calibrate", help="fit an asset's physics to PLC readings, with uncertainty")
    p_cal.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. source=modbus fit.loss=huber")
    p_cal.set_defaults(fn=cmd_calibrate)
    p_plc = sub.add_parser("plc", help="serve the virtual PLC, or record a PLC's tags into HDF5")
    p_plc.add_argument("action", choices=("serve", "record"))
    p_plc.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. serve.assets=[0,1] record.duration_s=60")
    p_plc.set_defaults(fn=cmd_plc)
    p_sens = sub.add_parser("sensitivity", help="global sensitivity: Sobol indices of KPIs over parameter ranges")
    p_sens.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. samples=64 kpis=[total_cost_eur]")
    p_sens.set_defaults(fn=cmd_sensitivity)
    p_opt = sub.add_parser("optimize", help="search maintenance decisions for the least expected cost (Optuna)")
    p_opt.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. trials=40 objective=total_cost_eur")
    p_opt.set_defaults(fn=cmd_optimize)
    p_dtdl = sub.add_parser("dtdl", help="export the plant as DTDL v3 models and twins for Azure Digital Twins")
    p_dtdl.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scenario=wind_farm, or "
                                                     "from=results/<run>/run.h5")
    p_dtdl.set_defaults(fn=cmd_dtdl)
    p_bench = sub.add_parser("bench", help="run the benchmarks, write results/bench/*.json")
    p_bench.add_argument("--out", default="results/bench")
    p_bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    p_bench.add_argument("--only", action="append", help="run only these benchmarks (repeatable)")
    p_bench.add_argument("--repeats", type=_positive_int, default=5)
    p_bench.add_argument("--soak", action="store_true", help="PLC ingest for 10 minutes instead of 60 s")
    p_bench.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ConfigError as err:
        print(f"simengine: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `simengine run | head`: the reader has all it wanted; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 141  # 128 + SIGPIPE, as a shell tool ends
    except OSError as err:  # a file we cannot write, a PLC that does not answer, a port in use
        print(f"simengine: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # each command has left what it keeps (a recording, a resumable run) and said so
        print("simengine: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
