"""The progress line of `simengine plc record`: seconds recorded of the duration, rows, values flagged.

Shown on stderr when it is a terminal (``record.progress=auto``), or always
or never as asked; it never writes to stdout, whose last line is the result.
Warnings go through `log`, which prints above the bar instead of through it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from tqdm import tqdm

from simengine.config.plc import RecordConfig
from simengine.plc.readings import Quality


class RecordProgress:
    def __init__(self, cfg: RecordConfig, stream=None):
        self.stream = stream or sys.stderr
        shown = {"always": True, "never": False}.get(cfg.progress)
        self.enabled = shown if shown is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.duration_s = cfg.duration_s
        self.flagged = 0
        self._times: set[float] = set()  # blocks of one time stamp share a row, as in the recorder
        self._start: float | None = None
        self._bar: tqdm | None = None

    def __enter__(self) -> RecordProgress:
        if self.enabled:
            self._bar = tqdm(total=self.duration_s, unit="s", desc="0 rows, 0 values flagged", file=self.stream,
                             dynamic_ncols=True, bar_format="recording: {n:.1f}/{total:.1f} s |{bar}| {desc}")
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, block) -> None:
        """Count one reading block (a row per distinct time stamp) and move the bar."""
        now = time.monotonic()
        self._start = now if self._start is None else self._start
        self._times.add(block.t_s)
        self.flagged += int((np.asarray(block.quality) != Quality.GOOD).sum())
        if self._bar is not None:
            self._bar.n = min(now - self._start, self.duration_s)
            self._bar.set_description_str(f"{self.rows} rows, {self.flagged} values flagged", refresh=False)
            self._bar.refresh()

    @property
    def rows(self) -> int:
        return len(self._times)

    def log(self, message: str) -> None:
        line = f"simengine: warning: {message}"
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream)
