"""What the readings' source delivered, against what the job asked for.

- coverage: reading times that brought a good reading of the asset, of the duration_s × rate_hz asked
  for; below `min_coverage` (a PLC that stopped, a link that dropped) the job fails, below
  `WELL_COVERED` it warns. A fit to a quarter of the readings used to pass as a success.
- the link's outages as the recording logged them, and the PLC clock's breaks, for the summary;
- a recording's scenario: read under another scenario's sensor gains, its every load would be scaled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from simengine.calibration.clock import ClockJoin
from simengine.calibration.window import Window, readings_of, tag_gains, tags_of
from simengine.config.calibrate import CalibrateConfig
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, Problem
from simengine.plc.readings import Quality
from simengine.plc.recorder import Recording

WELL_COVERED = 0.9  # below this share of the readings asked for, a calibration warns



def with_link(window: Window, recording: Recording, cfg: CalibrateConfig, unclocked: dict[str, int],
              join: ClockJoin | None) -> Window:
    """The window with what the link lost: readings of rows without a clock time (by cause), the
    recording's outages, the clock's breaks, and the reading times received against those asked for."""
    excluded = dict(window.excluded)
    for reason, n in unclocked.items():
        excluded[reason] = excluded.get(reason, 0) + n
    cols = readings_of(tags_of(recording), cfg.asset)
    good = (recording.quality[:, cols] == Quality.GOOD) & np.isfinite(recording.values[:, cols])
    expected = 0 if cfg.source == "hdf5" else round(cfg.duration_s * cfg.rate_hz)
    ends = [(s, e if np.isfinite(e) else s) for s, e, _ in recording.gaps]
    return dataclasses.replace(window, excluded=excluded, clock_breaks=join.breaks if join else 0,
                               link_gaps=len(ends), link_gap_s=float(sum(e - s for s, e in ends)),
                               received=int(np.any(good, axis=1).sum()), expected=expected)


def check_coverage(window: Window, cfg: CalibrateConfig) -> str | None:
    """Refuse readings below cfg.min_coverage of those asked for; a warning (text) below WELL_COVERED."""
    if not window.expected:
        return None
    share = window.received / window.expected
    lost = (f"{window.received} reading times of the {window.expected} asked for (duration_s × rate_hz), {share:.0%}; "
            f"the link was down {window.link_gaps} times ({window.link_gap_s:.0f} s); excluded: "
            + (", ".join(f"{k} {v}" for k, v in sorted(window.excluded.items())) or "none"))
    if share < cfg.min_coverage:
        raise ConfigError([Problem("min_coverage", cfg.min_coverage, f"the readings fall short: {lost} (a PLC that "
                                   "stopped or a link that dropped; lower min_coverage to fit them anyway)")])
    return f"only {lost}: the fit rests on fewer readings than asked for" if share < WELL_COVERED else None


def check_recorded_scenario(path: Path, recording: Recording, scenario: ScenarioConfig) -> None:
    """Refuse a recording made under a scenario whose sensors turn its tags into other physical values
    (a strain gauge's µε per unit load): read with this scenario's gains, every reading would be scaled
    silently. Recordings that do not say their scenario pass."""
    import json

    import h5py

    from simengine.config import build

    try:
        with h5py.File(path, "r", swmr=not recording.closed_cleanly) as f:
            recorded = json.loads(f.attrs.get("config", "{}")).get("scenario")
        then = build(ScenarioConfig, recorded) if isinstance(recorded, dict) else None
    except (OSError, ValueError, TypeError):  # an older or foreign provenance: nothing to compare
        return
    if then is None:
        return
    tags = tags_of(recording)
    now_gains, then_gains = (_gains_or_none(tags, sc) for sc in (scenario, then))
    differ = sorted(name for name, g in (then_gains or {}).items() if now_gains and not np.isclose(now_gains.get(name, g), g))
    if then.fleet.kind != scenario.fleet.kind or differ:
        what = f"tags {differ[:3]}{' ...' if len(differ) > 3 else ''} read with other sensor gains" if differ else \
            f"a {then.fleet.kind} fleet"
        raise ConfigError([Problem("scenario", scenario.name, f"the recording was made under scenario {then.name!r} "
                                   f"({what}): calibrate it with scenario={then.name}")])


def _gains_or_none(tags, scenario: ScenarioConfig) -> dict[str, float] | None:
    try:
        return tag_gains(tags, scenario.fleet.sensors)
    except ConfigError:
        return None
