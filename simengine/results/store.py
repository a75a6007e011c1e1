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
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from omegaconf import OmegaConf

from simengine.results.publish import atomic_path
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
    _validate(replicas)
    chunk = Chunk.of(replicas)
    return _write(Path(path), config, seed, ChunkIndex.of([chunk]), lambda _i: chunk, units, tables, summary_kpis, specs)


def write_pieces(path: Path, *, config: dict, seed: int, pieces: list[Path],
                 specs: dict[str, KpiSpec] | None = None, extra: Callable[[h5py.File], None] | None = None) -> Path:
    """Merge piece files (:func:`write_piece`) into one run file at ``path``, as :func:`write_run` would
    write their replicas; atomically. One piece is in memory at a time; the pieces are ordered by replica.
    ``extra(f)`` adds what else belongs in the file (the plant graph) inside the same atomic write."""
    index = ChunkIndex.of([read_piece(p, heads_only=True) for p in pieces])
    order = index.order
    return _write(Path(path), config, seed, index, lambda i: read_piece(pieces[order[i]]), None, None, None, specs,
                  extra)


@contextmanager
def _atomic_h5(path: Path):
    """An HDF5 file written under a temporary name, fsynced and renamed to `path`; removed on any error."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        yield f


def _write(path: Path, config: dict, seed: int, index: ChunkIndex, load, units, tables, summary_kpis, specs,
           extra=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_h5(path) as f:
        _write_root(f, seed, index.n)
        _write_provenance(f.create_group("provenance"), config, seed, index.seed_entropy)
        # track_order keeps KPIs and series in the order the engine gave them.
        kpi, summary = (f.create_group(name, track_order=True) for name in ("kpi", "summary"))
        _write_kpis(kpi, summary, index, {**{k: v.unit for k, v in (specs or {}).items()}, **(units or {})},
                    summary_kpis, specs)
        events = _EventsOut(f.create_group("events"), index)
        series = _SeriesOut(f.create_group("series", track_order=True), index)
        for i in range(len(index.chunks)):  # bulk data chunk by chunk, in replica order
            chunk = load(i)
            events.add(chunk)
            series.add(chunk)
        for name, table in (tables or {}).items():
            _write_table(f.create_group(name, track_order=True), table)
        if extra is not None:
            extra(f)
    return path


@dataclass(frozen=True)
class Chunk:
    """Replicas of a run column by column: what a piece file holds.

    ``events`` has the fields replica, time_h, asset, kind, value;
    ``series[name]`` has shape (n, T, columns). A chunk read with
    ``heads_only`` has empty events and series but knows ``n_events``.
    """

    replica: np.ndarray
    seed_entropy: list[int]
    kpis: dict[str, np.ndarray]
    n_events: int
    events: np.ndarray | None
    series_time_h: np.ndarray
    recorded_assets: np.ndarray
    series: dict[str, np.ndarray]
    series_units: dict[str, str]
    series_columns: dict[str, int]

    @classmethod
    def of(cls, replicas: list[ReplicaResult]) -> Chunk:
        first = replicas[0]
        events = np.concatenate([_with_replica(r) for r in replicas])
        return cls(
            replica=np.array([r.replica for r in replicas], dtype=np.int64),
            seed_entropy=[int(r.seed_entropy) for r in replicas],
            kpis={k: np.array([r.kpis[k] for r in replicas], dtype=np.float64) for k in first.kpis},
            n_events=len(events), events=events,
            series_time_h=np.asarray(first.series_time_h, dtype=np.float64),
            recorded_assets=np.asarray(first.recorded_assets, dtype=np.int64),
            series={k: np.stack([np.asarray(r.series[k], dtype=np.float64) for r in replicas]) for k in first.series},
            series_units=dict(first.series_units),
            series_columns={k: int(np.shape(v)[1]) for k, v in first.series.items()},
        )


_EVENT_DTYPE = [("replica", "i4"), ("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")]


def _with_replica(r: ReplicaResult) -> np.ndarray:
    width = max([16, *(len(str(k)) for k in r.events["kind"])])
    out = np.empty(len(r.events), dtype=[(n, f"U{width}" if n == "kind" else t) for n, t in _EVENT_DTYPE])
    out["replica"] = r.replica
    for name in EVENT_FIELDS:
        out[name] = r.events[name]
    return out


@dataclass(frozen=True)
class ChunkIndex:
    """The small columns of all chunks (replica, seed entropy, KPIs, event counts), in replica order."""

    chunks: list[Chunk]
    order: list[int]

    @classmethod
    def of(cls, chunks: list[Chunk]) -> ChunkIndex:
        if not chunks:
            raise ValueError("no replicas: a run needs at least one")
        order = sorted(range(len(chunks)), key=lambda i: int(chunks[i].replica[0]) if len(chunks[i].replica) else -1)
        return cls([chunks[i] for i in order], order)

    @property
    def n(self) -> int:
        return sum(len(c.replica) for c in self.chunks)

    @property
    def replica(self) -> np.ndarray:
        return np.concatenate([c.replica for c in self.chunks])

    @property
    def seed_entropy(self) -> list[int]:
        return [e for c in self.chunks for e in c.seed_entropy]

    @property
    def kpis(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([c.kpis[k] for c in self.chunks]) for k in self.chunks[0].kpis}

    @property
    def first(self) -> Chunk:
        return self.chunks[0]


def write_piece(path: Path, replicas: list[ReplicaResult]) -> Path:
    """Write finished replicas as one small HDF5 piece, atomically (temporary name, fsync, rename):
    a crash leaves the piece whole or absent. :func:`write_pieces` merges pieces into a run file."""
    _validate(replicas)
    chunk = Chunk.of(replicas)
    path = Path(path)
    with _atomic_h5(path) as f:
        f.attrs["seed_entropy"] = json.dumps(chunk.seed_entropy)
        f.attrs["series_units"] = json.dumps(chunk.series_units)
        f.create_dataset("replica", data=chunk.replica)
        f.create_dataset("series_time_h", data=chunk.series_time_h)
        f.create_dataset("recorded_assets", data=chunk.recorded_assets)
        kpi, series, events = (f.create_group(n, track_order=True) for n in ("kpi", "series", "events"))
        for name, values in chunk.kpis.items():
            kpi.create_dataset(name, data=values)
        for name, values in chunk.series.items():
            series.create_dataset(name, data=values)
        for name in chunk.events.dtype.names:
            data = chunk.events[name]
            events.create_dataset(name, data=data.astype(object) if name == "kind" else data,
                                  dtype=h5py.string_dtype() if name == "kind" else data.dtype)
    return path


def read_piece(path: Path, heads_only: bool = False) -> Chunk:
    """A piece written by :func:`write_piece`; with `heads_only`, without its events and series."""
    with h5py.File(path, "r") as f:
        ev = f["events"]
        events = None
        if not heads_only:
            kind = ev["kind"].asstr()[()]
            width = max([16, *(len(k) for k in kind)])
            events = np.empty(len(kind), dtype=[(n, f"U{width}" if n == "kind" else t) for n, t in _EVENT_DTYPE])
            for name in ("replica", "time_h", "asset", "value"):
                events[name] = ev[name][()]
            events["kind"] = kind
        return Chunk(
            replica=f["replica"][()], seed_entropy=json.loads(f.attrs["seed_entropy"]),
            kpis={n: ds[()] for n, ds in f["kpi"].items()}, n_events=len(ev["time_h"]), events=events,
            series_time_h=f["series_time_h"][()], recorded_assets=f["recorded_assets"][()],
            series={} if heads_only else {n: ds[()] for n, ds in f["series"].items()},
            series_units=json.loads(f.attrs["series_units"]),
            series_columns={n: int(ds.shape[2]) for n, ds in f["series"].items()},
        )


def piece_replicas(path: Path) -> np.ndarray:
    """The replicas a piece holds."""
    with h5py.File(path, "r") as f:
        return f["replica"][()]


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


def _write_provenance(g: h5py.Group, config: dict, seed: int, seed_entropy: list[int]) -> None:
    clean = redact_secrets(to_plain(config))
    g.attrs["config_yaml"] = OmegaConf.to_yaml(OmegaConf.create(clean))
    g.attrs["seed"] = _int_attr(seed)
    # Entropies may exceed 64 bits, so they travel as JSON integers.
    g.attrs["replica_seed_entropy"] = json.dumps([int(e) for e in seed_entropy])
    for key, value in environment().items():
        g.attrs[key] = value


def _write_kpis(g: h5py.Group, summary_group: h5py.Group, index: ChunkIndex, units: dict[str, str],
                summary_kpis: list[str] | None = None, specs: dict[str, KpiSpec] | None = None) -> None:
    replica = _scale(g, "replica", index.replica)
    kpis = index.kpis
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


class _EventsOut:
    """/events: one column per field over the events of all replicas, filled chunk by chunk."""

    def __init__(self, g: h5py.Group, index: ChunkIndex):
        n = sum(c.n_events for c in index.chunks)
        event = _scale(g, "event", np.arange(n, dtype=np.int64))
        self.columns = {}
        for name, dtype in (("replica", np.int32), ("time_h", np.float64), ("asset", np.int32),
                            ("kind", h5py.string_dtype()), ("value", np.float64)):
            ds = g.create_dataset(name, shape=(n,), dtype=dtype, **_compression((n,)))
            ds.dims[0].attach_scale(event)
            self.columns[name] = ds
        g["time_h"].attrs["units"] = "h"
        self.at = 0

    def add(self, chunk: Chunk) -> None:
        n = len(chunk.events)
        if n == 0:
            return
        for name, ds in self.columns.items():
            data = chunk.events[name]
            ds[self.at:self.at + n] = data.astype(object) if name == "kind" else data
        self.at += n


class _SeriesOut:
    """/series: (replica, time[, asset]) arrays, filled chunk by chunk."""

    def __init__(self, g: h5py.Group, index: ChunkIndex):
        first = index.first
        n = index.n
        replica = _scale(g, "replica", index.replica)
        time = _scale(g, "time", first.series_time_h, units="h")
        asset = _scale(g, "asset", first.recorded_assets)
        n_assets, n_time = len(first.recorded_assets), len(first.series_time_h)
        self.datasets, self.fleet = {}, {}
        for name, columns in first.series_columns.items():
            # A one-column series of a multi-asset recording is fleet-level: it has no asset axis.
            fleet = columns != n_assets
            shape = (n, n_time) if fleet else (n, n_time, n_assets)
            ds = g.create_dataset(name, shape=shape, dtype=np.float64, **_compression(shape, always=True))
            for axis, scale in enumerate((replica, time) if fleet else (replica, time, asset)):
                ds.dims[axis].attach_scale(scale)
            ds.attrs["units"] = first.series_units[name]
            self.datasets[name], self.fleet[name] = ds, fleet
        self.at = 0

    def add(self, chunk: Chunk) -> None:
        n = len(chunk.replica)
        for name, ds in self.datasets.items():
            data = chunk.series[name]
            ds[self.at:self.at + n] = data[:, :, 0] if self.fleet[name] else data
        self.at += n


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


def read_run(path: Path, max_replicas: int | None = None) -> RunData:
    """Read a file written by :func:`write_run`. With `max_replicas`, events and series of the first
    `max_replicas` replicas only (KPIs and summary of all), so a large run reads in bounded memory."""
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
        rows = slice(None) if max_replicas is None else slice(0, max_replicas)
        return RunData(
            path=path,
            seed=int(attrs["seed"]),
            attrs=attrs,
            provenance=provenance,
            replicas=kpi["replica"][()],
            kpis={n: kpi[n][()] for n in names},
            kpi_units={n: str(kpi[n].attrs["units"]) for n in names if "units" in kpi[n].attrs},
            summary={n: {k: _py(v) for k, v in g.attrs.items()} for n, g in f["summary"].items()},
            events=_read_events(f["events"], None if max_replicas is None else int(kpi["replica"][rows][-1])),
            series_time_h=f["series/time"][()],
            recorded_assets=f["series/asset"][()],
            series={n: _read_series(f["series"][n], rows) for n in series_names},
            series_units={n: str(f["series"][n].attrs["units"]) for n in series_names},
        )


def _read_events(g: h5py.Group, last_replica: int | None = None) -> np.ndarray:
    # Events are stored in replica order, so one replica's events end where the next one's begin.
    n = len(g["replica"]) if last_replica is None else int(np.searchsorted(g["replica"][()], last_replica, "right"))
    kind = g["kind"].asstr()[:n]
    width = max([16, *(len(k) for k in kind)])
    dtype = [("replica", "i4"), ("time_h", "f8"), ("asset", "i4"), ("kind", f"U{width}"), ("value", "f8")]
    out = np.empty(len(kind), dtype=dtype)
    for name in ("replica", "time_h", "asset", "value"):
        out[name] = g[name][:n]
    out["kind"] = kind
    return out


def _read_series(ds: h5py.Dataset, rows: slice = slice(None)) -> np.ndarray:
    data = ds[rows]
    return data[:, :, None] if data.ndim == 2 else data


def _py(value):
    """h5py attribute -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value
