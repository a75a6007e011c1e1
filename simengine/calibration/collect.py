"""A calibration job's readings: where they come from, their tag map and their clock.

Shared by the one-shot job (`job.py`) and continuous mode (`continuous.py`), which both
import it: ``virtual`` readings come from the embedded virtual PLC
(`simengine.virtual_plc.PhysicsSource`), ``modbus`` / ``opcua`` ones from a live link
through the tag map, ``hdf5`` ones from a recording (`sources.py` records them).
"""

from __future__ import annotations

from pathlib import Path

from simengine.calibration.coverage import check_recorded_scenario
from simengine.config.calibrate import CalibrateConfig
from simengine.config.plc import RecordConfig
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, Problem
from simengine.plc.recorder import Recording, read_recording
from simengine.plc.tags import CLOCK, TagMap


def virtual_source(cfg: CalibrateConfig, scenario: ScenarioConfig):
    """The virtual PLC of the job's asset, with the job's hidden truth (``virtual.*``)."""
    from simengine.virtual_plc import PhysicsSource

    v = cfg.virtual
    try:
        return PhysicsSource(scenario, [cfg.asset], seed=v.seed, true_params=dict(v.true_params),
                             initial_crack_m=v.initial_crack_m)
    except ValueError as err:
        raise ConfigError([Problem("virtual", {"asset": cfg.asset, **dict(v.true_params)}, str(err))]) from None


def collect(cfg: CalibrateConfig, scenario: ScenarioConfig, path: Path, *, config: dict | None = None,
            on_rows=None) -> Recording:
    """The readings of the job, recorded into `path` (or read from cfg.hdf5)."""
    from simengine.calibration.sources import record_live, record_virtual

    if cfg.source == "hdf5":
        try:
            recording = read_recording(cfg.hdf5)
        except (OSError, KeyError) as err:
            raise ConfigError([Problem("hdf5", cfg.hdf5, f"not a readable recording: {err}")]) from None
        check_recorded_scenario(Path(cfg.hdf5), recording, scenario)
        return recording
    if cfg.source == "virtual":
        return record_virtual(virtual_source(cfg, scenario), path, duration_s=cfg.duration_s, rate_hz=cfg.rate_hz,
                              config=config, on_rows=on_rows)
    tagmap = tagmap_of(cfg, scenario)
    rec = RecordConfig(protocol=cfg.source, tagmap=cfg.tagmap, host=cfg.host, port=cfg.port, rate_hz=cfg.rate_hz,
                       duration_s=cfg.duration_s, out=str(path), opcua_secure=cfg.opcua_secure,
                       certificate_dir=cfg.certificate_dir, credentials_file=cfg.credentials_file,
                       plausibility=cfg.plausibility)
    credentials = None
    if cfg.source == "opcua" and cfg.opcua_secure:
        from simengine.plc.secrets import load_credentials

        credentials = load_credentials(cfg.credentials_file or None)
    return record_live(cfg.source, tagmap, rec, path, config=config, credentials=credentials, on_rows=on_rows)


def tagmap_of(cfg: CalibrateConfig, scenario: ScenarioConfig) -> TagMap:
    """The job's tag map: cfg.tagmap, or where none is given the virtual PLC's for the asset."""
    from simengine.plc.tags import load_tagmap

    if not cfg.tagmap:
        return virtual_source(cfg, scenario).tagmap()
    try:
        return load_tagmap(cfg.tagmap)
    except OSError as err:
        raise ConfigError([Problem("tagmap", cfg.tagmap, f"cannot be read: {err.strerror or err}")]) from None


def clock_column(recording: Recording, clock_tag: str) -> int | None:
    return clock_index(recording.quantities or [], recording.tags, clock_tag)


def clock_index(quantities: list[str], names: list[str], clock_tag: str) -> int | None:
    """Index of the clock tag among the tags: named, or auto (a tag of quantity clock_s), or none ("")."""
    if clock_tag == "auto":
        return next((i for i, q in enumerate(quantities) if q == CLOCK), None)
    if not clock_tag:
        return None
    if clock_tag not in names:
        raise ConfigError([Problem("clock_tag", clock_tag, "not a tag of the readings")])
    return names.index(clock_tag)
