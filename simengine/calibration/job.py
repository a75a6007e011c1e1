"""A calibration job, end to end: readings in, fitted parameters, parameter file, HDF5 and plots out.

    readings (virtual | modbus | opcua | hdf5)  ->  recording (HDF5, kept)
      -> window of the asset (bad readings excluded and counted)
      -> fit from the scenario's values  ->  calibration.h5, params.yaml, PNGs

`simengine calibrate` calls `run_job`; a script can call each step. The readings come from
`collect.py` and the starting values from `baseline.py`, which continuous mode (`continuous.py`,
imported here when it runs) shares: the imports form a tree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from simengine.calibration.baseline import baseline, kind_problems
from simengine.calibration.clock import clock_join
from simengine.calibration.collect import clock_column, collect, tagmap_of
from simengine.calibration.coverage import check_coverage, with_link
from simengine.calibration.fit import Calibration, FitSpec, fit
from simengine.calibration.heating import steady_load_s
from simengine.calibration.window import Window, align, clock_times, excluded_readings, readings_of, tag_gains, tags_of
from simengine.config.calibrate import CalibrateConfig
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, Problem
from simengine.plc.readings import Quality
from simengine.plc.recorder import Recording, read_recording
from simengine.results.publish import stamped_name


@dataclass(frozen=True)
class JobResult:
    calibration: Calibration
    folder: Path
    parameter_file: Path
    results: Path
    readings: Path
    plots: list[Path]
    continuous: object | None = None  # a `continuous.Tracking` where continuous mode ran


def fit_spec(cfg: CalibrateConfig) -> FitSpec:
    """The library's FitSpec from the validated `fit:` settings (the same fields)."""
    return FitSpec(**{f.name: getattr(cfg.fit, f.name) for f in dataclasses.fields(FitSpec)})


def window_of(recording: Recording, cfg: CalibrateConfig, scenario: ScenarioConfig, spec: FitSpec) -> Window:
    tags = tags_of(recording)
    if cfg.asset not in set(recording.assets):
        raise ConfigError([Problem("asset", cfg.asset, f"the readings hold assets {sorted(set(recording.assets))}")])
    time_s, values, quality, factor = recording.time_s, recording.values, recording.quality, cfg.time_factor
    clock = clock_column(recording, cfg.clock_tag)
    unclocked, join = {}, None
    if clock is not None:  # the PLC's own scan times: no poll jitter, no time factor; joined across restarts
        t, ok = clock_times(values, quality, clock)
        unclocked = excluded_readings(quality[~ok], values[~ok], readings_of(tags, cfg.asset))
        join = clock_join(tags[clock], fallback_rate=cfg.time_factor)
        time_s, values, quality, factor = join(time_s[ok], t[ok]), values[ok], quality[ok], 1.0
        join.check()
    window = align(time_s, values, quality, tags, tag_gains(tags, scenario.fleet.sensors),
                   asset=cfg.asset, time_factor=factor, needed=spec.needed_quantities(),
                   steady_load_s=steady_load_s(scenario.fleet))
    return with_link(window, recording, cfg, unclocked, join)


def preflight(cfg: CalibrateConfig, scenario: ScenarioConfig, spec: FitSpec) -> None:
    """Before minutes of live collection: the tag map has the asset, its load and the needed tags,
    in units the scenario's sensors explain."""
    if cfg.source not in ("modbus", "opcua"):
        return
    tags = list(tagmap_of(cfg, scenario).tags)
    gains = tag_gains(tags, scenario.fleet.sensors)
    if cfg.asset not in {t.asset for t in tags}:
        raise ConfigError([Problem("asset", cfg.asset, f"the tag map holds assets {sorted({t.asset for t in tags})}")])
    try:
        align(np.zeros(1), np.full((1, len(tags)), np.nan), np.full((1, len(tags)), Quality.NOT_FINITE, np.uint8),
              tags, gains, asset=cfg.asset, needed=spec.needed_quantities())
    except ConfigError as err:  # only the map's problems count here: no reading is good yet
        mapped = [p for p in err.problems if p.field.startswith("tags")]
        if mapped:
            raise ConfigError(mapped) from None


def output_folder(cfg: CalibrateConfig, scenario: ScenarioConfig) -> Path:
    folder = Path(cfg.out_dir) / stamped_name(f"calibrate-{scenario.fleet.kind}{cfg.asset:02d}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_job(cfg: CalibrateConfig, scenario: ScenarioConfig, *, config: dict) -> JobResult:
    """Collect, fit, write. Continuous mode (cfg.continuous.enabled) re-fits as readings stream in."""
    spec = fit_spec(cfg)
    problems = spec.problems() or kind_problems(scenario, spec.parameters)
    if problems:
        raise ConfigError(problems)
    preflight(cfg, scenario, spec)
    folder = output_folder(cfg, scenario)
    complete: list[Path] = []  # the recording, once collected in full
    try:
        return _run(cfg, scenario, spec, folder, config, complete)
    except ConfigError as err:
        if complete:  # an hour of readings is worth keeping where only the fit failed; it says so
            _clean(folder, keep=complete[0])
            raise ConfigError(err.problems + [Problem("readings", str(complete[0]), "kept: a complete recording; "
                                                      f"fit it again with source=hdf5 hdf5={complete[0]}")]) from None
        _clean(folder)
        raise
    except BaseException:  # a crash, Ctrl-C: nothing that looks like a result or a recording stays
        _clean(folder)
        raise


def _clean(folder: Path, keep: Path | None = None) -> None:
    """Remove what a failed job wrote into its folder (a recording of its own but `keep`), then the folder."""
    for path in folder.iterdir():
        if path != keep and path.is_file():
            path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def _run(cfg: CalibrateConfig, scenario: ScenarioConfig, spec: FitSpec, folder: Path, config: dict,
         complete: list[Path]) -> JobResult:
    from simengine.calibration.report import parameter_file, write_calibration, write_parameter_file

    readings = Path(cfg.hdf5) if cfg.source == "hdf5" else folder / "readings.h5"
    tracking, extra, fatigue = None, {}, None
    if cfg.continuous.enabled:
        from simengine.calibration.continuous import run_continuous

        tracking = run_continuous(cfg, scenario, spec, readings, config=config)
        cal, extra, fatigue = tracking.calibration, tracking.arrays(), tracking.fatigue_overrides()
        window = with_link(cal.window, read_recording(readings), cfg, {}, None)
        warning = check_coverage(window, cfg)
        cal = dataclasses.replace(cal, window=dataclasses.replace(window, clock_breaks=tracking.clock_breaks),
                                  warnings=((warning,) if warning else ()) + cal.warnings)
    else:
        recording = collect(cfg, scenario, readings, config=config)
        try:
            window = window_of(recording, cfg, scenario, spec)
        except ConfigError:
            raise
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as err:  # garbage readings: a message, no crash
            raise ConfigError([Problem("readings", str(readings), f"cannot be aligned: {type(err).__name__}: {err}")]) from None
        warning = check_coverage(window, cfg)
        if cfg.source in ("modbus", "opcua") and recording.closed_cleanly:  # a virtual one is made again in seconds
            complete.append(readings)
        try:
            cal = fit(window, spec, baseline(scenario, window))
        except ConfigError:
            raise
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as err:
            raise ConfigError([Problem("readings", str(readings), f"the fit failed on them: {type(err).__name__}: {err}")]) from None
        if warning:
            cal = dataclasses.replace(cal, warnings=(warning,) + cal.warnings)
    about = {"asset": cfg.asset, "kind": scenario.fleet.kind, "source": cfg.source, "readings": str(readings),
             "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    params = write_parameter_file(parameter_file(cal, about=about, fatigue=fatigue), folder / "params.yaml")
    results = write_calibration(cal, folder / "calibration.h5", config=config, extra=extra)
    plots = []
    if cfg.plots:
        from simengine.calibration.plots import plot_calibration

        plots = plot_calibration(cal, folder)
        if tracking is not None:
            plots += tracking.plot(folder)
    return JobResult(cal, folder, params, results, readings, plots, tracking)
