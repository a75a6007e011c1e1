"""The tag map the virtual PLC serves for chosen assets of a scenario.

One float32 tag per sensor (holding registers from 0, two per tag; OPC UA node
``ns=2;s=<name>``), named ``<label><NN>.<sensor>.<k>``, in the catalogue's unit
and valid over the quantity's physical range seen through the sensor (gain, noise,
bias, quantisation); then the kind's counters (`AssetKind.plc_counters`), one
float64 per asset, ``<label><NN>.<quantity>``; last the PLC's clock,
``<label>.plc_clock_s`` (float64, simulated seconds of each scan), as many PLCs
expose one: a reader can place its readings at the scan's time rather than at
their arrival. A counter makes sampled data lossless where a sample cannot be:
the load over scans a reader missed is the counter's increase over them.
"""

from __future__ import annotations

import numpy as np

from simengine.kinds.base import PlcCounter
from simengine.kinds.quantities import PHYSICAL_RANGE, UNITS
from simengine.plc.tags import CLOCK, REGISTER_WIDTH, TagMap, tagmap_from_dict

STALE_AFTER_S = 10.0  # a noisy sensor whose value stops changing for this long is frozen


def served_tagmap(label: str, assets: list[int], sensors: list, counters: tuple[PlcCounter, ...]) -> TagMap:
    """The map of `sensors` ((sensor config, k, asset) in serving order), the `counters` of each of `assets`,
    and the clock; `label` (``fleet.kind``) begins every name."""
    tags = []
    for n, (cfg, k, asset) in enumerate(sensors):
        name = f"{label}{asset:02d}.{cfg.name}.{k}"
        lo, hi = sorted(cfg.gain * np.asarray(PHYSICAL_RANGE[cfg.observes]))
        margin = 6.0 * cfg.noise_sd + 6.0 * cfg.bias_sd + cfg.quantisation
        tags.append({"name": name, "quantity": cfg.observes, "asset": asset, "unit": cfg.unit or UNITS[cfg.observes],
                     "dtype": "float32", "valid_min": float(lo - margin), "valid_max": float(hi + margin),
                     "stale_after_s": STALE_AFTER_S if cfg.noise_sd > 0 else None,
                     "modbus": {"address": 2 * n}, "opcua": {"node_id": f"ns=2;s={name}"}})
    address = 2 * len(sensors)
    for counter in counters:
        for asset in assets:
            name = f"{label}{asset:02d}.{counter.quantity}"
            tags.append({"name": name, "quantity": counter.quantity, "asset": asset, "unit": counter.unit,
                         "dtype": "float64", "valid_min": 0.0, "modbus": {"address": address},
                         "opcua": {"node_id": f"ns=2;s={name}"}})
            address += REGISTER_WIDTH["float64"]
    name = f"{label}.plc_clock_s"
    tags.append({"name": name, "quantity": CLOCK, "asset": assets[0], "unit": "s", "dtype": "float64",
                 "modbus": {"address": address}, "opcua": {"node_id": f"ns=2;s={name}"}})
    return tagmap_from_dict({"name": f"virtual-{label}", "tags": tags})
