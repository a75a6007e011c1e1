"""A PLC recording read back: the HDF5 layout `simengine.plc.recorder` writes, read with h5py alone.

Layout, group ``/recording``: ``time_s`` (T) Unix seconds; ``values`` (T,
n_tags) engineering values; ``quality`` (T, n_tags) `Quality` codes (0: good);
``tag`` (n_tags) names, with ``units``, ``quantity`` and ``asset`` attributes;
gaps of the link as ``gap_start_s``, ``gap_end_s``, ``gap_reason``.

Reading needs no PLC code, so the fatigue toolkit turns a recording into a
load spectrum without loading the PLC clients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np


@dataclass(frozen=True)
class Recording:
    time_s: np.ndarray
    values: np.ndarray  # (T, n_tags)
    quality: np.ndarray  # (T, n_tags)
    tags: list[str]
    units: list[str]
    gaps: list[tuple[float, float, str]]
    closed_cleanly: bool
    quantities: list[str] | None = None  # what each tag observes, and of which asset
    assets: list[int] | None = None


def read_recording(path: str | Path) -> Recording:
    """Read a recording, also one whose recorder was killed (then in SWMR mode)."""
    try:
        f, clean = h5py.File(path, "r"), True
    except OSError:
        f, clean = h5py.File(path, "r", swmr=True), False
    with f:
        g = f["recording"]
        n = g["time_s"].shape[0]  # rows are complete up to the time column
        gaps_n = min(g[name].shape[0] for name in ("gap_start_s", "gap_end_s", "gap_reason"))
        return Recording(
            time_s=g["time_s"][:n], values=g["values"][:n], quality=g["quality"][:n],
            tags=[t.decode() if isinstance(t, bytes) else t for t in g["tag"][:]],
            units=json.loads(g["tag"].attrs["units"]),
            gaps=[(float(s), float(e), r.decode()) for s, e, r in
                  zip(g["gap_start_s"][:gaps_n], g["gap_end_s"][:gaps_n], g["gap_reason"][:gaps_n])],
            closed_cleanly=clean,
            quantities=json.loads(g["tag"].attrs["quantity"]) if "quantity" in g["tag"].attrs else None,
            assets=json.loads(g["tag"].attrs["asset"]) if "asset" in g["tag"].attrs else None,
        )
