"""A window of PLC readings aligned to the observation model: one row per reading time.

The tags of one asset are grouped by the quantity they observe. Each tag's
engineering value is divided by its sensor gain (µε per unit load factor,
t per unit load factor, ...) to give the physical quantity; at each time the
good values of a quantity are averaged. For least squares this loses nothing:
Σ_j (y_j - μ)² = n (ȳ - μ)² + (a term free of the model), so the fit to the
means, weighted by √n, is the fit to every reading. Readings flagged bad
(`simengine.plc.readings.Quality`), not finite, or implausible for their
quantity (`simengine.calibration.plausible`: a wrong word order) are excluded
and counted by reason; a row without one good reading of the asset (a poll the
link failed) is no reading time, and its interval a gap. The measured load factor is the model's input; where no load tag is
good at a time, the last good value is held (and counted); a tag absent from a
row (an OPC UA subscription reports changes only) holds its last value. A row equal to
the one before in every tag is the same PLC scan polled twice and is
dropped (and counted): kept, it would understate the noise.

The motor's heating over each interval (the load integrated over it) comes
from a load counter where the map has one, else from the sampled load, with
an estimate and its variance over gaps: `simengine.calibration.heating`.

Times: reading times in s (Unix for a recording), scaled by `time_factor`
(a virtual PLC served faster than real time) to model seconds; or a PLC clock
tag's, joined across the PLC's restarts (`simengine.calibration.clock`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from simengine.calibration.heating import heating_load
from simengine.calibration.model import INPUT, OUTPUTS
from simengine.calibration.plausible import IMPLAUSIBLE, implausible, refuse_implausible_tags
from simengine.config.validate import ConfigError, Problem
from simengine.plc.readings import Quality
from simengine.plc.recorder import Recording
from simengine.plc.tags import LOAD_COUNTER


class TagInfo(NamedTuple):
    """What the alignment needs of a tag (a `simengine.plc.tags.Tag` will do too)."""

    name: str
    quantity: str
    asset: int
    unit: str


def tags_of(recording: Recording) -> list[TagInfo]:
    if recording.quantities is None or recording.assets is None:
        raise ConfigError([Problem("hdf5", "a recording without tag quantities",
                                   "record it again with `simengine plc record` (it stores each tag's quantity and asset)")])
    return [TagInfo(*row) for row in zip(recording.tags, recording.quantities, recording.assets, recording.units)]


MISSING = 255  # the recorder's code for a tag absent from a row
GAP_FACTOR = 1.5  # an interval this many times the typical one is a gap in the readings (a scan or more missed)
LONG_GAP = 20.0  # ... and this many, a gap that spans many lifts
COUNTER_UNITS = {"s": 1.0, "h": 3600.0}  # a load counter's unit: seconds of it


@dataclass(frozen=True)
class Window:
    """Readings of one asset, aligned. Arrays over n reading times."""

    asset: int
    start_s: float  # time of the first reading, in the readings' own clock
    time_s: np.ndarray  # (n,) model seconds since the first reading
    dt_s: np.ndarray  # (n,) interval each reading closes (the first: the median interval)
    load_factor: np.ndarray  # (n,) the model input, as observed at each reading
    heat_load_factor: np.ndarray  # (n,) the load heating the motor over the interval each reading closes
    heat_load_var: np.ndarray  # (n,) variance of that figure where it is estimated (a gap without a counter), else 0
    observed: np.ndarray  # (len(OUTPUTS), n) mean of the good readings, physical units; NaN where none
    counts: np.ndarray  # (len(OUTPUTS), n) good readings averaged
    tags: dict[str, list[str]]  # quantity -> tag names used
    excluded: dict[str, int]  # quality reason -> readings excluded
    input_held: int  # reading times where no load tag was good and the last load was held
    repeated: int = 0  # rows dropped as a second read of the same PLC scan
    gaps: int = 0  # intervals longer than GAP_FACTOR typical ones (a link down, polls missed)
    gap_s: float = 0.0  # model seconds missed in gaps of two scans or more
    heat_estimated: int = 0  # gaps whose heating load is estimated (no counter reading at both ends)
    counter_ratio: float = float("nan")  # the counter's load-time over the sampled load's, intervals without gaps
    clock_breaks: int = 0  # jumps of the PLC's clock (a restart): segments joined by arrival time
    link_gaps: int = 0  # outages of the link the recording logged ...
    link_gap_s: float = 0.0  # ... and their length (wall s)
    received: int = 0  # reading times that brought a good reading of the asset ...
    expected: int = 0  # ... of those the job asked for (duration_s × rate_hz; 0: not known, a recording)

    @property
    def n(self) -> int:
        return self.time_s.size

    def good(self, quantity: str) -> int:
        return int(self.counts[OUTPUTS.index(quantity)].sum())


def tag_gains(tags: list[TagInfo], sensors) -> dict[str, float]:
    """Gain of each tag the model uses (its unit per physical unit): from the scenario sensor observing the
    same quantity in the same unit, 1 where the tag reports the physical quantity in its own unit.
    A tag in any other unit (a hoist load in kN, a temperature in °F) is refused, not guessed."""
    from simengine.kinds.quantities import UNITS

    gains, problems = {}, []
    for tag in tags:
        if tag.quantity == LOAD_COUNTER:
            if tag.unit in COUNTER_UNITS:
                gains[tag.name] = 1.0 / COUNTER_UNITS[tag.unit]
            else:
                problems.append(Problem(f"tags[{tag.name}].unit", tag.unit, f"a load counter counts rated-load time: "
                                        f"use one of {', '.join(COUNTER_UNITS)}"))
            continue
        if tag.quantity not in OUTPUTS + (INPUT,):
            continue
        match = [s.gain for s in sensors if s.observes == tag.quantity and (s.unit or UNITS[s.observes]) == tag.unit]
        if match:
            gains[tag.name] = float(match[0])
        elif tag.unit == UNITS[tag.quantity]:
            gains[tag.name] = 1.0
        else:
            known = sorted({s.unit or UNITS[s.observes] for s in sensors if s.observes == tag.quantity} | {UNITS[tag.quantity]})
            problems.append(Problem(f"tags[{tag.name}].unit", tag.unit, f"no sensor of the scenario reports "
                                    f"{tag.quantity} in it; use one of {', '.join(known)} (or add such a sensor)"))
    if problems:
        raise ConfigError(problems)
    return gains


def align(time_s: np.ndarray, values: np.ndarray, quality: np.ndarray, tags: list[TagInfo], gains: dict[str, float],
          *, asset: int, time_factor: float = 1.0, needed: tuple[str, ...] = (), steady_load_s: float = math.inf) -> Window:
    """The window of `asset` from readings (T,), (T, n_tags), (T, n_tags) of `tags`.

    `needed`: output quantities the fit cannot do without (those its parameters act on).
    `steady_load_s`: the shortest time the load holds still (`heating.steady_load_s(duty)`): a longer gap may
    hide more than one change of load.
    Raises ConfigError, naming the quantity and the rule, where a needed quantity has no
    tag or no good reading, or the load input is missing.
    """
    if len(time_s) == 0:
        raise ConfigError([Problem("readings", "0 rows", "no readings arrived (see the recording's gaps: "
                                   "a PLC that did not answer, a wrong host or port)")])
    order = np.argsort(np.asarray(time_s, float), kind="stable")
    time_s = np.asarray(time_s, float)[order]
    values, quality = _hold_missing(np.asarray(values, float)[order], np.asarray(quality)[order])
    mine = readings_of(tags, asset)
    by_quantity = {q: [j for j in mine if tags[j].quantity == q] for q in OUTPUTS + (INPUT, LOAD_COUNTER)}
    problems = [Problem(f"tags[{q}]", f"asset {asset}", "no tag of the tag map observes it, and a fitted parameter needs it")
                for q in needed if not by_quantity[q]]
    if not by_quantity[INPUT]:
        problems.append(Problem(f"tags[{INPUT}]", f"asset {asset}", "no load tag (hoist load or strain): the model's input"))
    if len(by_quantity[LOAD_COUNTER]) > 1:
        problems.append(Problem(f"tags[{LOAD_COUNTER}]", f"asset {asset}: {[tags[j].name for j in by_quantity[LOAD_COUNTER]]}",
                                "one load counter per asset: map only one of them"))
    if problems:
        raise ConfigError(problems)
    quality = _flag_implausible(values, quality, tags, gains, mine)
    # every excluded reading is counted by its cause, also those of rows that bring nothing (a link down)
    excluded = excluded_readings(quality, values, mine)
    # A row without one good reading of the asset is no reading time (its interval becomes a gap); a
    # row equal to the one before in every tag is the same PLC scan polled twice (a poll faster than the
    # PLC updates): counting it twice would understate the noise.
    cols = np.array(mine, int)
    some_good = np.any((quality[:, cols] == Quality.GOOD) & np.isfinite(values[:, cols]), axis=1) if mine \
        else np.ones(len(time_s), bool)
    time_s, values, quality = time_s[some_good], values[some_good], quality[some_good]
    if len(time_s) == 0:
        raise ConfigError([Problem("readings", f"{some_good.size} rows", "not one good reading of the asset; excluded: "
                                   + _reasons(excluded))])
    t_model = (time_s - time_s[0]) * time_factor
    # a repeated time stamp is the same reading (also where times only differ below the model clock's resolution)
    keep = np.concatenate([[True], np.diff(t_model) > 0]) & ~repeated_scans(values, quality)
    repeated = int(np.sum(~keep))
    time_s, values, quality = time_s[keep], values[keep], quality[keep]

    physical = values / np.array([gains.get(t.name, 1.0) for t in tags])[None, :]

    def mean_of(js):
        g = (quality[:, js] == Quality.GOOD) & np.isfinite(physical[:, js])
        n = g.sum(1)
        total = np.where(g, physical[:, js], 0.0).sum(1)
        return np.where(n > 0, total / np.maximum(n, 1), np.nan), n

    load, load_n = mean_of(by_quantity[INPUT])
    if not np.any(load_n):
        raise ConfigError([Problem(f"readings[{INPUT}]", f"0 good of {load_n.size * len(by_quantity[INPUT])}",
                                   "the load input needs good readings; excluded: " + _reasons(excluded))])
    first = int(np.argmax(load_n > 0))
    held = np.maximum.accumulate(np.where(load_n > 0, np.arange(load.size), 0))
    input_held = int(np.sum(load_n[first:] == 0))
    load = load[held][first:]
    means, counts = zip(*(mean_of(by_quantity[qn]) if by_quantity[qn] else (np.full(load_n.size, np.nan), np.zeros(load_n.size, int))
                          for qn in OUTPUTS))
    observed, counts = np.array(means)[:, first:], np.array(counts)[:, first:]
    empty = [Problem(f"readings[{qn}]", f"0 good of {len(time_s) * len(by_quantity[qn])}",
                     "a fitted parameter needs good readings of it; excluded: " + _reasons(excluded))
             for qn in needed if counts[OUTPUTS.index(qn)].sum() == 0]
    if empty:
        raise ConfigError(empty)
    t = t_model[keep][first:] - t_model[keep][first]
    # the PLC's own period: the short end of the intervals (a median would call every other scan missed
    # "typical" when a poll in step with the PLC catches only half of them)
    typical = float(np.percentile(np.diff(t), 10)) if t.size > 1 else 1.0
    dt = np.diff(t, prepend=t[0] - typical)
    gap = dt > GAP_FACTOR * typical
    counter = mean_of(by_quantity[LOAD_COUNTER])[0][first:] if by_quantity[LOAD_COUNTER] else None
    heat = heating_load(load, counter, dt, gap, typical, min(LONG_GAP * typical, steady_load_s))
    return Window(asset=asset, start_s=float(time_s[first]), time_s=t, dt_s=dt, load_factor=load,
                  heat_load_factor=heat.load, heat_load_var=heat.var, observed=observed,
                  counts=counts, tags={qn: [tags[j].name for j in js] for qn, js in by_quantity.items() if js},
                  excluded=excluded, input_held=input_held, repeated=repeated, gaps=int(gap.sum()),
                  gap_s=float((dt - typical)[dt > 2.5 * typical].sum()), heat_estimated=int(np.sum(gap & ~heat.counted)),
                  counter_ratio=heat.counter_ratio)


def readings_of(tags: list[TagInfo], asset: int) -> list[int]:
    """Indices of the tags of `asset` the calibration reads: outputs, load input, load counter."""
    return [j for j, t in enumerate(tags) if t.asset == asset and t.quantity in OUTPUTS + (INPUT, LOAD_COUNTER)]


def repeated_scans(values: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """(T,) True where a row equals the row before in every tag, value and quality, and holds a good
    value: the same PLC scan polled twice (two polls the link failed are two failures, not one scan)."""
    same = np.all((values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1])), axis=1)
    some_good = np.any(quality[1:] == Quality.GOOD, axis=1)
    return np.concatenate([[False], same & some_good & np.all(quality[1:] == quality[:-1], axis=1)])


def excluded_readings(quality: np.ndarray, values: np.ndarray, cols: list[int]) -> dict[str, int]:
    """Readings of the columns `cols` not used, by cause (a quality code's name; NOT_FINITE also for a
    value flagged good that is not finite)."""
    q = quality[:, cols]
    excluded = {_reason(c): int(np.sum(q == c)) for c in np.unique(q) if c != Quality.GOOD}
    quiet_nan = int(np.sum((q == Quality.GOOD) & ~np.isfinite(values[:, cols])))
    if quiet_nan:
        excluded["NOT_FINITE"] = excluded.get("NOT_FINITE", 0) + quiet_nan
    return excluded


def _flag_implausible(values: np.ndarray, quality: np.ndarray, tags: list[TagInfo], gains: dict[str, float],
                      cols: list[int]) -> np.ndarray:
    """Quality with readings no sensor of their quantity could give flagged IMPLAUSIBLE; a tag whose
    readings mostly are is refused (`plausible.refuse_implausible_tags`)."""
    quality = quality.copy()
    bad = {}
    for j in cols:
        tag = tags[j]
        flag = implausible(values[:, j] / gains.get(tag.name, 1.0), tag.quantity)
        bad[j] = flag
        quality[flag & (quality[:, j] == Quality.GOOD), j] = IMPLAUSIBLE
    refuse_implausible_tags(values, bad, tags, gains)
    return quality


def clock_times(values: np.ndarray, quality: np.ndarray, clock: int) -> tuple[np.ndarray, np.ndarray]:
    """The scan times a clock tag (column `clock`) gives each row, and which rows have a good one."""
    ok = (quality[:, clock] == Quality.GOOD) & np.isfinite(values[:, clock])
    return values[:, clock], ok


def _hold_missing(values: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A tag absent from a row (quality 255: an OPC UA subscription reports changes only) still holds
    its last value: carry value and quality forward. Before its first report it stays missing."""
    absent = quality == MISSING
    if not absent.any():
        return values, quality
    rows = np.where(absent, 0, np.arange(len(values))[:, None])
    last = np.maximum.accumulate(rows, axis=0)
    cols = np.arange(values.shape[1])[None, :]
    held_q = quality[last, cols]
    never = absent & (last == 0) & (quality[0][None, :] == MISSING)
    return values[last, cols], np.where(never, MISSING, held_q)


def _reason(code: int) -> str:
    if code == IMPLAUSIBLE:
        return "IMPLAUSIBLE"
    return Quality(code).name if code in Quality._value2member_map_ else "MISSING"  # never reported


def _reasons(excluded: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(excluded.items())) or "none"


def noise_sd(window: Window) -> np.ndarray:
    """Model-free estimate of each output's single-reading noise sd (len(OUTPUTS),).

    Successive readings of a smooth signal differ by noise alone, √2 σ/√n; the median absolute
    deviation of the differences ignores the steps a lift makes in the vibration. NaN where a
    quantity has too few readings."""
    out = np.full(len(OUTPUTS), np.nan)
    for i in range(len(OUTPUTS)):
        ok = window.counts[i] > 0
        if ok.sum() < 8:
            continue
        y, n = window.observed[i, ok], window.counts[i, ok]
        d = np.diff(y) / np.sqrt(1.0 / n[1:] + 1.0 / n[:-1])
        steps = np.abs(np.diff(y))
        resolution = steps[steps > 0].min() if np.any(steps > 0) else 0.0
        # a quantised reading whose noise is below its step: the rounding itself is the noise, step/√12
        out[i] = max(1.4826 * np.median(np.abs(d - np.median(d))), resolution / np.sqrt(12.0))
    return out
