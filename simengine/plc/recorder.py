"""A crash-safe recorder: reading blocks appended to HDF5 in chunks.

The file is written in HDF5's single-writer/multiple-reader (SWMR) mode: its
metadata is always consistent on disk, so a recorder killed with SIGKILL
loses at most the rows since its last flush and the file stays readable
(`read_recording` opens it in SWMR mode when the clean-close flag is
missing). A recording that fails before its first row is written is removed
(a file of no rows is no recording). Rows are buffered and flushed every `flush_interval_s` (plus a reorder window
for blocks of one update that arrive apart); gaps are written when they open.

Layout, group ``/recording``: ``time_s`` (T) Unix seconds; ``values`` (T,
n_tags) engineering values; ``quality`` (T, n_tags) `Quality` codes;
``tag`` (n_tags) names, with ``units`` and ``quantity`` attributes; gaps of the
link as ``gap_start_s``, ``gap_end_s``, ``gap_reason``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np

from simengine.plc.readings import ReadingBlock
from simengine.plc.tags import TagMap
from simengine.recording import Recording, read_recording  # noqa: F401  (read back where it is written)
from simengine.results.provenance import environment, redact_secrets

_REASON = "S96"


class Recorder:
    def __init__(self, path: str | Path, tagmap: TagMap, *, flush_interval_s: float = 1.0, source: str = "",
                 config: dict | None = None, reorder_s: float = 0.0, on_rows=None):
        self.path = Path(path)
        self.on_rows = on_rows  # called with (time_s (k,), values (k, n), quality (k, n)) of each write
        self.n_tags = len(tagmap.tags)
        self.flush_interval_s = flush_interval_s
        self.reorder_s = reorder_s  # how long a row waits for late blocks of its time stamp
        self._pending: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._last_flush = time.monotonic()
        self.rows_written = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(self.path, "w", libver="latest")
        self._create(tagmap, source, config or {})
        self._file.swmr_mode = True  # from here on no new objects, only appends

    def _create(self, tagmap: TagMap, source: str, config: dict) -> None:
        f, n = self._file, self.n_tags
        g = f.create_group("recording")
        chunk_rows = max(1, min(256, 2**20 // (8 * max(n, 1))))  # ~1 MiB chunks
        self._time = g.create_dataset("time_s", (0,), maxshape=(None,), chunks=(1024,), dtype="f8")
        self._values = g.create_dataset("values", (0, n), maxshape=(None, n), chunks=(chunk_rows, max(n, 1)), dtype="f8")
        self._quality = g.create_dataset("quality", (0, n), maxshape=(None, n), chunks=(chunk_rows, max(n, 1)), dtype="u1")
        tag = g.create_dataset("tag", data=np.array([t.name for t in tagmap.tags], dtype=h5py.string_dtype()))
        tag.attrs["units"] = json.dumps([t.unit for t in tagmap.tags])
        tag.attrs["quantity"] = json.dumps([t.quantity for t in tagmap.tags])
        tag.attrs["asset"] = json.dumps([t.asset for t in tagmap.tags])
        self._gaps = {name: g.create_dataset(name, (0,), maxshape=(None,), chunks=(64,), dtype=dt)
                      for name, dt in (("gap_start_s", "f8"), ("gap_end_s", "f8"), ("gap_reason", _REASON))}
        f.attrs["source"] = source
        f.attrs["tagmap"] = json.dumps(redact_secrets({"name": tagmap.name, "endpoint": tagmap.endpoint.__dict__}))
        f.attrs["config"] = json.dumps(redact_secrets(config), default=str)
        for key, value in environment().items():
            f.attrs[key] = value

    def append(self, block: ReadingBlock) -> None:
        """Buffer one block (its tags index the tag map); flush when the interval has passed.

        Blocks of one time stamp (one update, delivered by several subscriptions, in any
        order) share a row: rows wait `reorder_s` before they are written, in time order.
        """
        row = self._pending.get(block.t_s)
        if row is None:
            row = (np.full(self.n_tags, np.nan), np.full(self.n_tags, 255, np.uint8))  # 255: not in this row
            self._pending[block.t_s] = row
        row[0][block.tags] = block.values
        row[1][block.tags] = block.quality
        self.tick()

    def tick(self) -> None:
        """Flush if the interval has passed; call it on a timer too, so rows reach the disk
        while no block arrives (a link that is down)."""
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def open_gap(self, start_s: float, reason: str) -> int:
        """Record a gap as it opens (its end NaN until `close_gap`); returns its index."""
        for name, value in (("gap_start_s", start_s), ("gap_end_s", np.nan), ("gap_reason", reason.encode()[:96])):
            ds = self._gaps[name]
            ds.resize(ds.shape[0] + 1, axis=0)
            ds[-1] = value
            ds.flush()
        return self._gaps["gap_start_s"].shape[0] - 1

    def close_gap(self, index: int, end_s: float) -> None:
        ds = self._gaps["gap_end_s"]
        ds[index] = end_s
        ds.flush()

    def add_gap(self, start_s: float, end_s: float, reason: str) -> None:
        self.close_gap(self.open_gap(start_s, reason), end_s)

    def flush(self, everything: bool = False) -> None:
        """Write the rows older than the reorder window (all of them with `everything`)."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        newest = max(self._pending)
        ready = sorted(t for t in self._pending if everything or t <= newest - self.reorder_s)
        if not ready:
            return
        times = np.array(ready)
        values, quality = (np.stack(col) for col in zip(*(self._pending.pop(t) for t in ready)))
        n0, k = self.rows_written, len(ready)
        # values and quality first, time last: a reader trusts rows up to len(time_s)
        for ds, block in ((self._values, values), (self._quality, quality)):
            ds.resize(n0 + k, axis=0)
            ds[n0:] = block
            ds.flush()
        self._time.resize(n0 + k, axis=0)
        self._time[n0:] = times
        self._time.flush()
        self.rows_written += k
        if self.on_rows is not None:
            self.on_rows(times, values, quality)

    def close(self) -> None:
        if self._file.id.valid:
            self.flush(everything=True)
            self._file.close()

    def discard(self) -> None:
        """Close without writing what is pending and remove the file: a recording not worth keeping."""
        self._pending.clear()
        if self._file.id.valid:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind, err, tb) -> None:
        if err is not None and self.rows_written == 0:  # failed before its first row: leave no empty file
            self.discard()
        else:
            self.close()


