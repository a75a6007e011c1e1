"""HDF5 store of one simulation run: KPIs, events, time series, provenance.

One file per run, written atomically. Times are in hours (h); every other
quantity carries its own ``units`` attribute. The groups ``/kpi``,
``/events`` and ``/series`` use HDF5 dimension scales so that
``xarray.open_dataset(path, group=..., engine="h5netcdf")`` sees named
dimensions (``replica``, ``event``, ``time``, ``asset``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from omegaconf import OmegaConf

from simengine.results.provenance import environment, package_version, redact_secrets, to_plain
from simengine.results.summary import KpiSpec, summarize

FORMAT_VERSION = 1
EVENT_FIELDS = ("time_h", "asset", "kind", "value")
_SCALES = ("replica", "time", "asset", "event")
_COMPRESS_MIN = 4096  # gzip pays off only beyond a few kB


@dataclass(frozen=True)
class ReplicaResult:
    """What the engine hands over for one replica (numpy only).

    ``events`` is a structured array with fields time_h f8, asset i4,
    kind U16, value f8. ``series[name]`` has shape (T, n_recorded_assets),
    or (T, 1) for a fleet-level series such as ``available_fraction``
    (stored without an asset axis unless exactly one asset is recorded);
    ``series_time_h`` has shape (T,), in hours.
    """

    replica: int
    seed_entropy: int
    kpis: dict[str, float]
    events: np.ndarray
    series_time_h: np.ndarray
    series: dict[str, np.ndarray]
    series_units: dict[str, str]
    recorded_assets: np.ndarray


@dataclass(frozen=True)
class RunData:
    """A run as read back by :func:`read_run`.

    ``events`` is a structured array with fields replica, time_h, asset,
    kind, value; ``series[name]`` has shape (n_replicas, T, n_columns).
    """

    path: Path
    seed: int
    attrs: dict
    provenance: dict
    replicas: np.ndarray
    kpis: dict[str, np.ndarray]
    kpi_units: dict[str, str]
    summary: dict[str, dict[str, float]]
    events: np.ndarray
    series_time_h: np.ndarray
    recorded_assets: np.ndarray
    series: dict[str, np.ndarray]
    series_units: dict[str, str]

    def replica_events(self, replica: int) -> np.ndarray:
        """Events of one replica, with the fields of ``ReplicaResult.events``."""
        return self.events[self.events["replica"] == replica][list(EVENT_FIELDS)]


def write_run(
    path: Path,
    *,
    config: dict,
    seed: int,
    replicas: list[ReplicaResult],
    units: dict[str, str] | None = None,
    tables: dict[str, Table] | None = None,
    summary_kpis: list[str] | None = None,
    specs: dict[str, KpiSpec] | None = None,
) -> Path:
    """Write one run to ``path`` atomically and return ``path``.

    The file is built under a temporary name in the same folder and moved
    into place with ``os.replace``; on any error the temporary file is
    removed and whatever was at ``path`` before is left untouched.
    ``units`` maps KPI names to unit strings; ``tables`` adds one group per
    table (e.g. a survival curve), readable with xarray. ``summary_kpis``
    limits `/summary` to KPIs whose mean and interval mean something (default
    all; a life censored at the horizon, say, is better summarised by a table).
    ``specs`` gives each KPI's kind and range, which choose its confidence
    interval (see :func:`simengine.results.summary.summarize`); its units
    fill in those ``units`` does not give.
    """
    path = Path(path)
    _validate(replicas)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            _write_root(f, seed, len(replicas))
            _write_provenance(f.create_group("provenance"), config, seed, replicas)
            # track_order keeps KPIs and series in the order the engine gave them.
            kpi, summary = (f.create_group(name, track_order=True) for name in ("kpi", "summary"))
            _write_kpis(kpi, summary, replicas, {**{k: v.unit for k, v in (specs or {}).items()}, **(units or {})},
                        summary_kpis, specs)
            _write_events(f.create_group("events"), replicas)
            _write_series(f.create_group("series", track_order=True), replicas)
            for name, table in (tables or {}).items():
                _write_table(f.create_group(name, track_order=True), table)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Table:
    """Columns along one dimension; `dim` names the column that is the dimension's coordinate."""

    dim: str
    columns: dict[str, np.ndarray]
    units: dict[str, str] = dataclasses.field(default_factory=dict)


def _write_table(g: h5py.Group, table: Table) -> None:
    coord = _scale(g, table.dim, np.asarray(table.columns[table.dim]), table.units.get(table.dim))
    for name, values in table.columns.items():
        if name == table.dim:
            continue
        ds = g.create_dataset(name, data=np.asarray(values, dtype=np.float64))
        ds.dims[0].attach_scale(coord)
        if name in table.units:
            ds.attrs["units"] = table.units[name]


def _validate(replicas: list[ReplicaResult]) -> None:
    """Raise one ValueError listing every inconsistency across replicas."""
    if not replicas:
        raise ValueError("replicas is empty; a run needs at least one replica")
    first = replicas[0]
    problems = [
        f"name {name!r} is not allowed: a KPI or series name must contain no '/' and must not be one of {_SCALES}"
        for name in [*first.kpis, *first.series]
        if "/" in name or name in _SCALES
    ]
    problems += [f"series {name!r} has no entry in series_units" for name in first.series if name not in first.series_units]
    for r in replicas:
        problems += _replica_problems(r, first)
    if problems:
        raise ValueError("invalid replicas:\n  " + "\n  ".join(problems))


def _replica_problems(r: ReplicaResult, first: ReplicaResult) -> list[str]:
    tag, ref = f"replica {r.replica}", f"replica {first.replica}"
    n_time, n_assets = len(first.series_time_h), len(first.recorded_assets)
    problems = []
    if set(r.kpis) != set(first.kpis):
        problems.append(f"{tag}: kpis {sorted(r.kpis)} != {sorted(first.kpis)} of {ref}; all replicas need the same KPIs")
    if set(r.series) != set(first.series):
        problems.append(f"{tag}: series {sorted(r.series)} != {sorted(first.series)} of {ref}; all replicas need the same series")
    if not np.array_equal(r.series_time_h, first.series_time_h):
        problems.append(f"{tag}: series_time_h differs from {ref}; all replicas must share one time grid")
    if not np.array_equal(r.recorded_assets, first.recorded_assets):
        problems.append(f"{tag}: recorded_assets {r.recorded_assets} != {first.recorded_assets} of {ref}; must be equal")
    missing = [f for f in EVENT_FIELDS if f not in (r.events.dtype.names or ())]
    if missing:
        problems.append(f"{tag}: events lacks fields {missing}; needs {EVENT_FIELDS}")
    for name, values in r.series.items():
        if np.shape(values) not in ((n_time, n_assets), (n_time, 1)):
            problems.append(
                f"{tag}: series[{name!r}] has shape {np.shape(values)}; must be (T, n_recorded_assets) = "
                f"({n_time}, {n_assets}) or (T, 1) = ({n_time}, 1)"
            )
    return problems


def _write_root(f: h5py.File, seed: int, n_replicas: int) -> None:
    f.attrs["simengine_version"] = package_version("simengine", missing="unknown")
    f.attrs["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    f.attrs["seed"] = _int_attr(seed)
    f.attrs["n_replicas"] = n_replicas
    f.attrs["format_version"] = FORMAT_VERSION


def _write_provenance(g: h5py.Group, config: dict, seed: int, replicas: list[ReplicaResult]) -> None:
    clean = redact_secrets(to_plain(config))
    g.attrs["config_yaml"] = OmegaConf.to_yaml(OmegaConf.create(clean))
    g.attrs["seed"] = _int_attr(seed)
    # Entropies may exceed 64 bits, so they travel as JSON integers.
    g.attrs["replica_seed_entropy"] = json.dumps([int(r.seed_entropy) for r in replicas])
    for key, value in environment().items():
        g.attrs[key] = value


def _write_kpis(g: h5py.Group, summary_group: h5py.Group, replicas: list[ReplicaResult], units: dict[str, str],
                summary_kpis: list[str] | None = None, specs: dict[str, KpiSpec] | None = None) -> None:
    replica = _scale(g, "replica", np.array([r.replica for r in replicas], dtype=np.int64))
    kpis = {name: np.array([r.kpis[name] for r in replicas], dtype=np.float64) for name in replicas[0].kpis}
    for name, values in kpis.items():
        ds = g.create_dataset(name, data=values)
        ds.dims[0].attach_scale(replica)
        if name in units:
            ds.attrs["units"] = units[name]
    chosen = kpis if summary_kpis is None else {k: kpis[k] for k in summary_kpis}
    for name, stats in summarize(chosen, specs).items():
        sg = summary_group.create_group(name)
        sg.attrs.update(stats)
        if specs and name in specs:
            sg.attrs.update(kind=specs[name].kind, range_low=specs[name].low, range_high=specs[name].high)
        if name in units:
            sg.attrs["units"] = units[name]


def _write_events(g: h5py.Group, replicas: list[ReplicaResult]) -> None:
    columns = {
        "replica": np.concatenate([np.full(len(r.events), r.replica, dtype=np.int32) for r in replicas]),
        "time_h": np.concatenate([np.asarray(r.events["time_h"], dtype=np.float64) for r in replicas]),
        "asset": np.concatenate([np.asarray(r.events["asset"], dtype=np.int32) for r in replicas]),
        "kind": np.concatenate([np.asarray(r.events["kind"], dtype=str) for r in replicas]).astype(object),
        "value": np.concatenate([np.asarray(r.events["value"], dtype=np.float64) for r in replicas]),
    }
    event = _scale(g, "event", np.arange(len(columns["time_h"]), dtype=np.int64))
    for name, data in columns.items():
        dtype = h5py.string_dtype() if name == "kind" else data.dtype
        ds = g.create_dataset(name, data=data, dtype=dtype, **_compression(data.shape))
        ds.dims[0].attach_scale(event)
    g["time_h"].attrs["units"] = "h"


def _write_series(g: h5py.Group, replicas: list[ReplicaResult]) -> None:
    first = replicas[0]
    replica = _scale(g, "replica", np.array([r.replica for r in replicas], dtype=np.int64))
    time = _scale(g, "time", np.asarray(first.series_time_h, dtype=np.float64), units="h")
    asset = _scale(g, "asset", np.asarray(first.recorded_assets, dtype=np.int64))
    n_assets = len(first.recorded_assets)
    for name in first.series:
        data = np.stack([np.asarray(r.series[name], dtype=np.float64) for r in replicas])
        # A one-column series of a multi-asset recording is fleet-level: it has no asset axis.
        fleet = data.shape[2] != n_assets
        if fleet:
            data = data[:, :, 0]
        ds = g.create_dataset(name, data=data, **_compression(data.shape, always=True))
        for axis, scale in enumerate((replica, time) if fleet else (replica, time, asset)):
            ds.dims[axis].attach_scale(scale)
        ds.attrs["units"] = first.series_units[name]


def _scale(g: h5py.Group, name: str, data: np.ndarray, units: str | None = None) -> h5py.Dataset:
    ds = g.create_dataset(name, data=data)
    ds.make_scale(name)
    if units is not None:
        ds.attrs["units"] = units
    return ds


def _compression(shape: tuple[int, ...], always: bool = False) -> dict:
    # HDF5 cannot chunk a zero-length axis, and tiny tables gain nothing from gzip.
    size = int(np.prod(shape))
    if size == 0 or (size < _COMPRESS_MIN and not always):
        return {}
    return {"chunks": True, "compression": "gzip", "compression_opts": 4, "shuffle": True}


def _int_attr(value: int) -> np.int64 | str:
    value = int(value)
    return np.int64(value) if -(2**63) <= value < 2**63 else str(value)


def _fsync(path: Path) -> None:
    # Without it a crash right after os.replace can leave an empty file under the final name.
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def read_run(path: Path) -> RunData:
    """Read a file written by :func:`write_run`."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        attrs = {k: _py(v) for k, v in f.attrs.items()}
        provenance = {k: _py(v) for k, v in f["provenance"].attrs.items()}
        provenance["packages"] = json.loads(provenance["packages"])
        provenance["replica_seed_entropy"] = json.loads(provenance["replica_seed_entropy"])
        provenance["config"] = OmegaConf.to_container(OmegaConf.create(provenance["config_yaml"]))
        kpi = f["kpi"]
        names = [n for n in kpi if n != "replica"]
        series_names = [n for n in f["series"] if n not in _SCALES]
        return RunData(
            path=path,
            seed=int(attrs["seed"]),
            attrs=attrs,
            provenance=provenance,
            replicas=kpi["replica"][()],
            kpis={n: kpi[n][()] for n in names},
            kpi_units={n: str(kpi[n].attrs["units"]) for n in names if "units" in kpi[n].attrs},
            summary={n: {k: _py(v) for k, v in g.attrs.items()} for n, g in f["summary"].items()},
            events=_read_events(f["events"]),
            series_time_h=f["series/time"][()],
            recorded_assets=f["series/asset"][()],
            series={n: _read_series(f["series"][n]) for n in series_names},
            series_units={n: str(f["series"][n].attrs["units"]) for n in series_names},
        )


def _read_events(g: h5py.Group) -> np.ndarray:
    kind = g["kind"].asstr()[()]
    width = max([16, *(len(k) for k in kind)])
    dtype = [("replica", "i4"), ("time_h", "f8"), ("asset", "i4"), ("kind", f"U{width}"), ("value", "f8")]
    out = np.empty(len(kind), dtype=dtype)
    for name in ("replica", "time_h", "asset", "value"):
        out[name] = g[name][()]
    out["kind"] = kind
    return out


def _read_series(ds: h5py.Dataset) -> np.ndarray:
    data = ds[()]
    return data[:, :, None] if data.ndim == 2 else data


def _py(value):
    """h5py attribute -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value
