"""`simengine dtdl`: validate, find the plant (a composed scenario's, or a finished run's), export, publish.

Every mistake (a scenario field, an unknown key, a `from=` file that is not
there, scenario overrides together with `from=`, an output folder that cannot
be written) is one ConfigError before HDF5 is imported and before any file is
made; the export's folder appears whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from simengine.config import ConfigError, Problem, build
from simengine.config.dtdl import DTDL_KEYS, DtdlSettings
from simengine.config.scenario import ScenarioConfig


def run_command(overrides: list[str]) -> int:
    """The whole command; returns the exit code (ConfigError and OSError are the CLI's to print)."""
    settings, scenario = configure(overrides)
    from simengine.plant.dtdl import plant_export, write_export
    from simengine.plant.graph import plant_graph
    from simengine.results.publish import StagedFolder, stamped_name

    if settings.run is None:
        graph, source = plant_graph(scenario), f"scenario {scenario.name}"
    else:
        graph, scenario = load_run(Path(settings.run))
        source = f"run {settings.run}"
    name = scenario.name if scenario is not None else Path(settings.run).parent.name or "run"
    export = plant_export(graph, scenario)
    with StagedFolder(settings.out_dir, stamped_name(f"dtdl-{name}")) as staged:
        models, bulk = write_export(export, staged.staging)
        folder = staged.publish()
    feeds = sum(r["$relationshipName"] == "feeds" for r in export.relationships)
    print(f"simengine dtdl: {source}, {graph.n_assets} assets in {len(graph.groups)} "
          f"group{'s' * (len(graph.groups) != 1)}, {feeds} supply edges")
    if scenario is None:
        print("  (the run's stored scenario could not be read: the interfaces have no Telemetry)")
    print(f"models: {folder / models.name} ({len(export.interfaces)} DTDL v3 interfaces)")
    print(f"import: {folder / bulk.name} ({len(export.interfaces)} models, {len(export.twins)} twins, "
          f"{len(export.relationships)} relationships)")
    return 0


def configure(overrides: list[str]) -> tuple[DtdlSettings, ScenarioConfig | None]:
    """The settings and (without `from=`) the scenario; one ConfigError listing every problem."""
    from simengine.api import check_out_dir
    from simengine.cli import compose

    plain = compose("dtdl", overrides, "scenario")
    source = plain.pop("from", None)
    problems: list[Problem] = []
    settings = scenario = None
    try:
        settings = build(DtdlSettings, {"out_dir": plain.pop("out_dir", "results"), "run": source})
    except ConfigError as err:
        problems += [Problem("from" if p.field == "run" else p.field, p.value, p.rule) for p in err.problems]
    if source is None:
        try:
            scenario = build(ScenarioConfig, plain)
        except ConfigError as err:
            problems += err.problems
    else:
        given = [key for key in (_key(o) for o in overrides) if key not in DTDL_KEYS]
        if given:
            problems.append(Problem("from", source, f"exports the plant the run simulated, as it ran; "
                                                    f"drop {', '.join(given)}"))
        if isinstance(source, str) and not Path(source).is_file():
            problems.append(Problem("from", source, "no such file: give a run's run.h5 "
                                                    "(results/<scenario>-<time>/run.h5)"))
    if problems:
        raise ConfigError(problems)
    check_out_dir(settings.out_dir)
    return settings, scenario


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def load_run(path: Path):
    """The plant graph of a run file and its stored scenario (None where it cannot be read). A file written
    before runs stored their graph gets it from the stored scenario, as the run built it."""
    import h5py

    from simengine.plant.graph import plant_graph
    from simengine.plant.store import read_graph

    try:
        with h5py.File(path, "r") as f:
            graph = read_graph(f)
            stored = f["provenance"].attrs.get("config_yaml") if "provenance" in f else None
    except OSError as err:
        raise ConfigError([Problem("from", str(path), f"not a readable run file ({err})")]) from None
    scenario = stored_scenario(stored)
    if graph is None:
        if scenario is None:
            raise ConfigError([Problem("from", str(path), "holds neither a plant graph (/plant) nor a scenario "
                                                          "to build one from: not a simengine run file?")])
        graph = plant_graph(scenario)
    return graph, scenario


def stored_scenario(config_yaml) -> ScenarioConfig | None:
    """The scenario of a run's stored configuration (provenance ``config_yaml``), or None if it has none or
    this simengine no longer accepts it."""
    from omegaconf import OmegaConf

    if config_yaml is None:
        return None
    text = config_yaml.decode() if isinstance(config_yaml, bytes) else str(config_yaml)
    config = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    plain = config.get("scenario") if isinstance(config, dict) else None
    if not isinstance(plain, dict):
        return None
    try:
        return build(ScenarioConfig, plain)
    except ConfigError:
        return None
