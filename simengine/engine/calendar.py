"""When crews can work: shift calendars and weather access windows.

Times in hours from the start of the run; the run starts at midnight.
Work that does not fit in a shift pauses and resumes at the next one, so a
repair's finish time is computed in closed form, with no event per shift.
"""

from __future__ import annotations

import math

import numpy as np

_DAY_H = 24.0


class ShiftCalendar:
    """Daily working hours, e.g. ((6, 14), (14, 22)); (0, 24) is round the clock."""

    def __init__(self, shifts: tuple[tuple[float, float], ...]):
        self.segments = _merge(shifts)
        self.always = self.segments == [(0.0, _DAY_H)]

    def next_on_shift(self, t: float) -> float:
        """Earliest time >= t inside a shift."""
        if self.always:
            return t
        day = math.floor(t / _DAY_H)
        tod = t - day * _DAY_H
        for start, end in self.segments:
            if tod < end:
                return day * _DAY_H + max(tod, start)
        return (day + 1) * _DAY_H + self.segments[0][0]

    def finish_time(self, t: float, work_h: float) -> float:
        """Time at which `work_h` hours of work started at t are done, working only on shift."""
        if self.always:
            return t + work_h
        t = self.next_on_shift(t)
        while True:
            end = self._segment_end(t)
            if t + work_h <= end:
                return t + work_h
            work_h -= end - t
            t = self.next_on_shift(end + 1e-9)

    def _segment_end(self, t: float) -> float:
        day = math.floor(t / _DAY_H)
        tod = t - day * _DAY_H
        for start, end in self.segments:
            if start <= tod < end:
                return day * _DAY_H + end
        raise ValueError(f"time {t} h is not on shift")


class AccessWindows:
    """Hours in which an asset can be reached (e.g. significant wave height below a limit)."""

    def __init__(self, accessible: np.ndarray):
        accessible = np.asarray(accessible, bool)
        idx = np.where(accessible, np.arange(accessible.size), accessible.size)
        # next_open[h]: first accessible hour >= h (size if none is left)
        self._next_open = np.minimum.accumulate(idx[::-1])[::-1]
        self.fraction_open = float(accessible.mean()) if accessible.size else 1.0

    def next_open(self, t: float) -> float:
        h = int(t)
        if h >= self._next_open.size:
            return t
        nxt = int(self._next_open[h])
        if nxt >= self._next_open.size:
            return math.inf
        return t if nxt == h else float(nxt)


def next_start(t: float, calendar: ShiftCalendar, access: AccessWindows | None) -> float:
    """Earliest time >= t on shift and with access."""
    while True:
        t1 = calendar.next_on_shift(t)
        t2 = access.next_open(t1) if access is not None else t1
        if t2 == t1 or math.isinf(t2):
            return t2
        t = t2


def _merge(shifts) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in shifts):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]
