"""The plant graph in a run's HDF5 file: the group ``/plant`` beside the results it produced.

``/plant/groups/`` holds one column per group attribute (``name`` is a
dimension scale, so ``xarray.open_dataset(path, group="plant/groups",
engine="h5netcdf")`` reads a table indexed by group name): name, kind, label, count, offset,
capacity and, where the scenario is known, downtime_eur_per_h (the cost of an
asset-hour not producing, EUR/h). ``/plant/edges`` is an (n, 2) integer array
of (upstream asset, downstream asset) in plant numbering: the first asset feeds
the second. The attribute ``graph_json`` holds the same graph as JSON, for a
reader without HDF5 column handling.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from simengine.plant.graph import Group, PlantGraph

PLANT = "plant"
FORMAT = "simengine.plant/1"
_STR = h5py.string_dtype()


def graph_json(graph: PlantGraph) -> str:
    """The graph as JSON: its groups (name, kind, label, count, offset, capacity) and edges."""
    return json.dumps({
        "format": FORMAT,
        "n_assets": graph.n_assets,
        "groups": [{"name": g.name, "kind": g.kind, "label": g.label, "count": g.count, "offset": g.offset,
                    "capacity": g.capacity} for g in graph.groups],
        "edges": [[u, d] for u, d in graph.edges],
    })


def write_graph(f: h5py.File | h5py.Group, graph: PlantGraph, scenario=None) -> None:
    """Write `graph` as ``/plant`` under `f` (replacing one written before, so a resumed run can write it
    again). `scenario` (a ScenarioConfig, optional) adds its name and each group's downtime cost."""
    if PLANT in f:
        del f[PLANT]
    plant = f.create_group(PLANT)
    plant.attrs["format"] = FORMAT
    plant.attrs["n_assets"] = graph.n_assets
    plant.attrs["graph_json"] = graph_json(graph)
    if scenario is not None:
        plant.attrs["scenario"] = scenario.name
    groups = plant.create_group("groups", track_order=True)
    name = groups.create_dataset("name", data=np.array([g.name for g in graph.groups], dtype=object), dtype=_STR)
    name.make_scale("name")
    columns = {
        "kind": (np.array([g.kind for g in graph.groups], dtype=object), _STR, None),
        "label": (np.array([g.label for g in graph.groups], dtype=object), _STR, None),
        "count": (np.array([g.count for g in graph.groups], dtype=np.int64), None, None),
        "offset": (np.array([g.offset for g in graph.groups], dtype=np.int64), None, None),
        "capacity": (np.array([g.capacity for g in graph.groups], dtype=np.float64), None,
                     "production of one asset while it produces, in the scenario's unit (e.g. MW)"),
    }
    if scenario is not None:
        columns["downtime_eur_per_h"] = (np.array(downtime_costs(graph, scenario), dtype=np.float64), None,
                                         "EUR per asset-hour not producing")
    for key, (data, dtype, doc) in columns.items():
        ds = groups.create_dataset(key, data=data, dtype=dtype)
        ds.dims[0].attach_scale(name)
        if doc:
            ds.attrs["doc"] = doc
    edges = np.array(graph.edges, dtype=np.int64).reshape(-1, 2)
    ds = plant.create_dataset("edges", data=edges)
    ds.attrs["columns"] = np.array(["upstream", "downstream"], dtype=object)
    ds.attrs["doc"] = "each row (u, d): asset u feeds asset d, which produces only while every asset feeding it does"


def downtime_costs(graph: PlantGraph, scenario) -> list[float]:
    """Each group's cost of an asset-hour not producing: its own, else the scenario's ``costs``."""
    fleets = scenario.asset_groups()
    default = scenario.costs.downtime_eur_per_h
    out = []
    for g in graph.groups:
        own = getattr(fleets.get(g.name), "downtime_eur_per_h", None)
        out.append(float(default if own is None else own))
    return out


def read_graph(source: str | Path | h5py.File | h5py.Group) -> PlantGraph | None:
    """The plant graph stored in a run file (a path, or an open file or group); None for one without /plant."""
    if isinstance(source, (h5py.File, h5py.Group)):
        return _read(source)
    with h5py.File(source, "r") as f:
        return _read(f)


def _read(f: h5py.File | h5py.Group) -> PlantGraph | None:
    if PLANT not in f:
        return None
    groups = f[PLANT]["groups"]
    names = groups["name"].asstr()[()]
    kinds = groups["kind"].asstr()[()]
    labels = groups["label"].asstr()[()]
    counts, offsets, capacities = (groups[k][()] for k in ("count", "offset", "capacity"))
    laid = tuple(Group(str(n), str(k), str(lb), int(c), int(o), float(cap))
                 for n, k, lb, c, o, cap in zip(names, kinds, labels, counts, offsets, capacities))
    edges = tuple((int(u), int(d)) for u, d in f[PLANT]["edges"][()])
    return PlantGraph(laid, edges)
