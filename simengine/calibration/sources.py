"""Where a calibration's readings come from; every source leaves them in an HDF5 recording.

- ``virtual``: the embedded virtual PLC, stepped in this process as fast as it
  computes (no network): `duration_s` of simulated time at `rate_hz`, flagged
  by the same quality rules as a live link. Its time stamps are simulated seconds.
- ``modbus`` / ``opcua``: a live PLC (or a served virtual one) through the
  PLC clients for `duration_s` of wall time, recorded by the crash-safe
  recorder, gaps included. Time stamps are Unix seconds.
- ``hdf5``: a recording made earlier by `simengine plc record` or by a
  calibration.

The recording is kept beside the calibration's results: the readings a
parameter file came from stay with it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from simengine.config.plc import RecordConfig
from simengine.plc.readings import QualityAssessor
from simengine.plc.recorder import Recorder, Recording, read_recording
from simengine.plc.tags import TagMap


def record_virtual(source, path: Path, *, duration_s: float, rate_hz: float, config: dict | None = None,
                   on_rows=None, flush_every: int = 600) -> Recording:
    """Step `source` (a `simengine.virtual_plc.PhysicsSource`) for duration_s simulated seconds at rate_hz and
    record its tags."""
    tagmap = source.tagmap()
    assessor = QualityAssessor(tagmap)
    assessor.stale_s = np.maximum(assessor.stale_s, 10.0 / rate_hz)  # a stale limit means some ten readings
    tags = list(range(len(tagmap.tags)))
    dt = 1.0 / rate_hz
    with Recorder(path, tagmap, flush_interval_s=math.inf, source="virtual", config=config, on_rows=on_rows) as rec:
        for k in range(1, round(duration_s * rate_hz) + 1):
            rec.append(assessor.block(k * dt, tags, source.step(dt)))
            if k % flush_every == 0:  # rows reach the disk (and `on_rows`) as they would from a live link
                rec.flush()
    return read_recording(path)


def record_live(protocol: str, tagmap: TagMap, cfg: RecordConfig, path: Path, *, config: dict | None = None,
                credentials=None, on_rows=None) -> Recording:
    """Record `cfg.duration_s` of wall time over Modbus TCP or OPC UA into `path`."""
    from simengine.plc.interrupt import run_interruptible
    from simengine.plc.service import record_modbus, record_opcua, secure_client_config, _opcua_url

    cfg = dataclasses.replace(cfg, protocol=protocol)
    if protocol == "modbus":
        run_interruptible(record_modbus(tagmap, cfg, path, config or {}, on_rows=on_rows, fields=""))
    else:
        url = None if cfg.host is None and cfg.port is None else _opcua_url(tagmap, cfg)
        client = secure_client_config(cfg, url)
        # every update must reach us: publish often enough, queue every value between publishes
        publish_ms = min(client.publishing_interval_ms, 200.0)
        queue = max(client.queue_size, math.ceil(4 * cfg.rate_hz * publish_ms / 1000.0))
        client = dataclasses.replace(client, publishing_interval_ms=publish_ms, queue_size=queue)
        run_interruptible(record_opcua(tagmap, cfg, path, config or {}, credentials=credentials, client_config=client,
                                 on_rows=on_rows, fields=""))
    return read_recording(path)
