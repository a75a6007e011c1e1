"""sweep.h5: the KPIs of every replica of every variant, and their comparison, readable with xarray.

    /            attrs: seed, n_replicas, n_variants, baseline (its index), format_version, ...
    /provenance  attrs: run settings, each variant's label, overrides and resolved scenario (YAML / JSON)
    /kpi         one (variant, replica) dataset per KPI; coordinates variant (label), replica, and one
                 per swept key along variant (e.g. ``crews.count``), the overrides of each variant
    /comparison  (kpi, variant): mean, ci95_low, ci95_high, ci_method; diff_mean, diff_ci95_low,
                 diff_ci95_high, diff_method (the variant minus the baseline, paired); variance_reduction

``xarray.open_dataset(path, group="kpi", engine="h5netcdf")`` sees the
dimensions and coordinates. The file is written under a temporary name,
fsynced and renamed, so it is whole or absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from omegaconf import OmegaConf

from simengine.engine.kpis import KPIS
from simengine.results.publish import atomic_path
from simengine.results.provenance import environment, package_version, redact_secrets, to_plain
from simengine.sweep.compare import Comparison

FORMAT_VERSION = 1
SWEEP_FILE = "sweep.h5"
_STRING = h5py.string_dtype()


@dataclass(frozen=True)
class Variant:
    """One variant of a sweep: its label, its overrides (dotted key -> value) and its resolved scenario."""

    label: str
    overrides: dict
    scenario: object  # ScenarioConfig


def override_columns(variants: list[Variant]) -> dict[str, np.ndarray]:
    """One column per swept key, over the variants: numbers where every value is one, else text."""
    keys = list(dict.fromkeys(k for v in variants for k in v.overrides))
    columns = {}
    for key in keys:
        values = [v.overrides.get(key) for v in variants]
        if all(isinstance(x, bool) for x in values):
            columns[key] = np.array(values, dtype=bool)
        elif all(isinstance(x, int) and not isinstance(x, bool) for x in values):
            columns[key] = np.array(values, dtype=np.int64)
        elif all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
            columns[key] = np.array(values, dtype=np.float64)
        else:
            columns[key] = np.array([str(x) for x in values], dtype=object)
    return columns


def write_sweep(path: Path, *, variants: list[Variant], kpis: dict[str, np.ndarray], comparison: Comparison,
                seed: int, settings: dict) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        _write_root(f, seed, kpis, comparison)
        _write_provenance(f.create_group("provenance"), variants, settings)
        columns = override_columns(variants)
        _write_kpis(f.create_group("kpi", track_order=True), variants, kpis, columns)
        _write_comparison(f.create_group("comparison", track_order=True), variants, comparison, columns)
    return path


def _write_root(f: h5py.File, seed: int, kpis: dict[str, np.ndarray], comparison: Comparison) -> None:
    shape = next(iter(kpis.values())).shape
    f.attrs["simengine_version"] = package_version("simengine", missing="unknown")
    f.attrs["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    f.attrs["kind"] = "sweep"
    f.attrs["seed"] = np.int64(seed)
    f.attrs["n_variants"], f.attrs["n_replicas"] = shape
    f.attrs["baseline"] = comparison.baseline
    f.attrs["baseline_label"] = comparison.labels[comparison.baseline]
    f.attrs["common_random_numbers"] = "replica i of every variant uses SeedSequence(seed, spawn_key=(i,))"
    f.attrs["format_version"] = FORMAT_VERSION


def _write_provenance(g: h5py.Group, variants: list[Variant], settings: dict) -> None:
    from simengine.config import to_dict

    g.attrs["run_yaml"] = OmegaConf.to_yaml(OmegaConf.create(redact_secrets(to_plain(settings))))
    g.attrs["variants_json"] = json.dumps([{"label": v.label, "overrides": to_plain(v.overrides)} for v in variants])
    g.attrs["scenarios_json"] = json.dumps([redact_secrets(to_plain(to_dict(v.scenario))) for v in variants])
    for key, value in environment().items():
        g.attrs[key] = value


def _scale(g: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    ds = g.create_dataset(name, data=data, dtype=_STRING if data.dtype == object else data.dtype)
    ds.make_scale(name)
    return ds


def _column(g: h5py.Group, name: str, data: np.ndarray, dims: list[h5py.Dataset], units: str | None = None):
    ds = g.create_dataset(name, data=data, dtype=_STRING if data.dtype == object else data.dtype)
    for axis, scale in enumerate(dims):
        ds.dims[axis].attach_scale(scale)
    if units is not None:
        ds.attrs["units"] = units
    return ds


def _variant_coords(g: h5py.Group, variants: list[Variant], columns: dict[str, np.ndarray]) -> tuple[h5py.Dataset, str]:
    """The variant dimension (labels) and the swept keys along it; the netCDF `coordinates` attribute naming them."""
    variant = _scale(g, "variant", np.array([v.label for v in variants], dtype=object))
    for key, values in columns.items():
        _column(g, key, values, [variant])
    return variant, " ".join(columns)


def _write_kpis(g: h5py.Group, variants: list[Variant], kpis: dict[str, np.ndarray],
                columns: dict[str, np.ndarray]) -> None:
    variant, coordinates = _variant_coords(g, variants, columns)
    replica = _scale(g, "replica", np.arange(next(iter(kpis.values())).shape[1], dtype=np.int64))
    for name, values in kpis.items():
        ds = _column(g, name, values, [variant, replica], KPIS[name].unit if name in KPIS else None)
        if coordinates:
            ds.attrs["coordinates"] = coordinates


def _write_comparison(g: h5py.Group, variants: list[Variant], comparison: Comparison,
                      columns: dict[str, np.ndarray]) -> None:
    names = list(comparison.means)
    kpi = _scale(g, "kpi", np.array(names, dtype=object))
    variant, coordinates = _variant_coords(g, variants, columns)
    stats = {
        "mean": lambda n, v: comparison.means[n][v]["mean"],
        "ci95_low": lambda n, v: comparison.means[n][v]["ci95_low"],
        "ci95_high": lambda n, v: comparison.means[n][v]["ci95_high"],
        "ci_method": lambda n, v: comparison.means[n][v]["ci_method"],
        "diff_mean": lambda n, v: comparison.differences[n][v].mean,
        "diff_ci95_low": lambda n, v: comparison.differences[n][v].ci95_low,
        "diff_ci95_high": lambda n, v: comparison.differences[n][v].ci95_high,
        "diff_method": lambda n, v: comparison.differences[n][v].method,
        "variance_reduction": lambda n, v: comparison.differences[n][v].variance_reduction,
    }
    for stat, value in stats.items():
        data = np.array([[value(n, v) for v in range(len(variants))] for n in names],
                        dtype=object if stat.endswith("method") else np.float64)
        ds = _column(g, stat, data, [kpi, variant])
        if coordinates:
            ds.attrs["coordinates"] = coordinates
    g.attrs["baseline"] = comparison.baseline
    g.attrs["units_json"] = json.dumps({n: KPIS[n].unit for n in names if n in KPIS})


def read_sweep_kpis(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """The variant labels and the KPI tables (name -> (variant, replica)) of a sweep.h5."""
    with h5py.File(path, "r") as f:
        g = f["kpi"]
        labels = [s for s in g["variant"].asstr()[()]]
        names = [n for n in g if n in KPIS]
        return labels, {n: g[n][()] for n in names}
