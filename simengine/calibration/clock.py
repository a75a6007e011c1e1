"""A PLC's scan clock as model time, across the PLC's restarts.

A clock tag (quantity ``clock_s``) places each reading at the PLC's own scan time: no poll jitter.
But a PLC that restarts starts its clock again (at 0, or wherever it was set), and sorting readings by
clock value then interleaves the hours before the restart with those after it: a silently wrong fit.
So the clock is read as segments, split where it jumps back, or jumps forward by far more than the
readings' arrival times moved (a clock set, a restart that kept counting elsewhere). Each segment keeps
its clock's exact intervals; segments are joined by arrival time: the model time across a break
advances by the arrival interval times the clock's rate (clock seconds per arrival second, measured on
the intervals without a break). The crane's physics does not stop while its PLC restarts, so the
motor's state carries across, and the interval over the restart is a gap like any other (the heating
over it is estimated, with its variance).

A clock whose values jump back and forth (a wrong word order, a tag that is not a clock) has breaks
everywhere; `ClockJoin.check` refuses it by name. Times in s: arrival times as recorded, clock values
in their tag's unit (`CLOCK_UNITS`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from simengine.config.validate import ConfigError, Problem

CLOCK_UNITS = {"s": 1.0, "ms": 1e-3}  # a clock tag's unit: seconds of it
JUMP_SCANS = 20.0  # a forward step of this many typical scans ...
JUMP_RATIO = 4.0  # ... that the arrival times explain less than a quarter of, is a jump of the clock
MAX_BREAK_SHARE = 0.01  # more breaks than this share of the readings (and 3): not a clock


def clock_join(tag, *, fallback_rate: float = 1.0) -> ClockJoin:
    """A ClockJoin for a clock tag (name, unit), its unit one of CLOCK_UNITS (a clock in ms read as one in s
    would stretch every interval a thousand times)."""
    if tag.unit not in CLOCK_UNITS:
        raise ConfigError([Problem(f"tags[{tag.name}].unit", tag.unit, "a PLC clock counts time: use one of "
                                   + ", ".join(CLOCK_UNITS))])
    return ClockJoin(tag.name, scale=CLOCK_UNITS[tag.unit], fallback_rate=fallback_rate)


class ClockJoin:
    """Model times (s) from (arrival, clock) pairs fed in arrival order, batch by batch (state carries)."""

    def __init__(self, tag: str = "clock", *, scale: float = 1.0, fallback_rate: float = 1.0):
        self.tag, self.scale, self.fallback_rate = tag, scale, fallback_rate
        self.last: tuple[float, float, float] | None = None  # (arrival, clock, model) of the last reading
        self.breaks = self.back = self.readings = 0
        self._clock_sum = self._arrival_sum = 0.0  # over intervals without a break: the clock's rate
        self._steps: deque[float] = deque(maxlen=256)  # recent positive clock steps: the typical scan

    @property
    def rate(self) -> float:
        return self._clock_sum / self._arrival_sum if self._arrival_sum > 0 else self.fallback_rate

    def __call__(self, arrival: np.ndarray, clock: np.ndarray) -> np.ndarray:
        arrival, clock = np.asarray(arrival, float), np.asarray(clock, float) * self.scale
        if not clock.size:
            return clock
        self.readings += clock.size
        a = arrival if self.last is None else np.concatenate([[self.last[0]], arrival])
        c = clock if self.last is None else np.concatenate([[self.last[1]], clock])
        da, dc = np.diff(a), np.diff(c)
        rising = dc > 0
        typical = float(np.percentile(np.concatenate([list(self._steps), dc[rising]]), 10)) \
            if rising.any() or self._steps else np.inf
        explained = np.maximum(da, 0.0) * self._batch_rate(da, dc)
        cut = (dc < 0) | ((dc > JUMP_SCANS * typical) & (dc > JUMP_RATIO * explained))
        plain = rising & ~cut & (da > 0)
        self._clock_sum += float(dc[plain].sum())
        self._arrival_sum += float(da[plain].sum())
        self._steps.extend(dc[rising & ~cut][-256:].tolist())
        # model time: the clock itself, plus an offset that changes at each break (exact between breaks)
        offset = 0.0 if self.last is None else self.last[2] - self.last[1]
        jump = np.where(cut, np.maximum(da, 0.0) * self.rate - dc, 0.0)
        model = c + offset + np.concatenate([[0.0], np.cumsum(jump)])
        if self.last is not None:
            model = model[1:]
        self.breaks += int(cut.sum())
        self.back += int((dc < 0).sum())
        self.last = (float(a[-1]), float(c[-1]), float(model[-1]))
        return model

    def _batch_rate(self, da: np.ndarray, dc: np.ndarray) -> float:
        """The clock's rate so far, or this batch's (median) where nothing came before."""
        if self._arrival_sum > 0:
            return self.rate
        ok = (da > 0) & (dc > 0)
        return float(np.median(dc[ok] / da[ok])) if ok.any() else self.fallback_rate

    def check(self) -> None:
        """Refuse a clock with breaks everywhere: not a PLC's scan time as decoded."""
        if self.breaks > max(3, MAX_BREAK_SHARE * self.readings):
            raise ConfigError([Problem(f"tags[{self.tag}]", f"{self.breaks} jumps in {self.readings} readings",
                                       "a PLC clock runs forward between restarts: check the tag map's word order and "
                                       "dtype for it, or set clock_tag='' to use arrival times")])

    def describe(self) -> str:
        if not self.breaks:
            return "clock: no resets"
        return (f"clock: {self.breaks} break(s) ({self.back} back, {self.breaks - self.back} forward), "
                f"{self.breaks + 1} segments joined by arrival time")
