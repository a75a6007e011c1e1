"""Load spectra from data: stress or strain history -> rainflow -> binned spectrum -> horizon.

Units: stress in MPa, strain histories in µε (converted with Young's modulus E
in MPa: σ = E ε), time in hours, sampling step in seconds.

A spectrum is a table of classes (Δσ_k, σ_m,k, n_k) counted over `block_h`
hours. Binning is conservative by default: each class is represented by the
*upper* edge of its range bin (and of its mean bin), so Miner damage and the
Paris driver Σ n Δσ^m, both increasing in Δσ, can only be overestimated.
Midpoints are the unbiased-looking alternative, but for a convex Δσ^m and
ranges spread within a bin they underestimate (Jensen's inequality).

`paris_driver` and `miner_increment` give the per-block inputs that both the
fatigue batch and the engine's duty models step the physics kernels with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import h5py
import numpy as np

from simengine.fatigue.crack_growth import block_driver
from simengine.fatigue.miner import damage
from simengine.units import HOURS_PER_DAY, SECONDS_PER_HOUR

REPRESENTATIVES = ("upper", "midpoint")
# units attribute -> factor to MPa (stress) or to strain (dimensionless)
_STRESS_UNITS = {"MPa": 1.0, "N/mm2": 1.0, "N/mm^2": 1.0, "kPa": 1e-3, "Pa": 1e-6, "GPa": 1e3}
# "1" is not a strain unit here: damage, wear and load factors are dimensionless too
_STRAIN_UNITS = {"µε": 1e-6, "με": 1e-6, "ue": 1e-6, "microstrain": 1e-6, "um/m": 1e-6, "µm/m": 1e-6,
                 "m/m": 1.0, "strain": 1.0}
GAP_FACTOR = 5.0  # an advance over this many typical intervals is a gap in the readings, not load time
CLOCK_QUANTITY = "clock_s"  # a recording's tag holding the PLC's scan time (`simengine.plc.tags.CLOCK`)
_TIME_TO_H = {"h": 1.0, "hour": 1.0, "hours": 1.0, "s": 1.0 / SECONDS_PER_HOUR, "min": 1.0 / 60.0,
              "d": HOURS_PER_DAY, "day": HOURS_PER_DAY}


@dataclass(frozen=True)
class LoadSpectrum:
    """Classes of cycles counted over `block_h` hours: arrays of shape (K,), counts may be fractional."""

    ranges_MPa: np.ndarray
    means_MPa: np.ndarray
    counts: np.ndarray
    block_h: float
    source: str = ""
    time_base: str = ""  # how a recorded history's span was timed (PLC clock or arrival), for the record
    recorded_h: float | None = None  # the recorded history's span, hours (before `repeated`)

    def __post_init__(self):
        for name in ("ranges_MPa", "means_MPa", "counts"):
            object.__setattr__(self, name, np.atleast_1d(np.asarray(getattr(self, name), dtype=float)))
        shapes = {n: getattr(self, n).shape for n in ("ranges_MPa", "means_MPa", "counts")}
        problems = []
        if len(set(shapes.values())) > 1 or len(shapes["counts"]) != 1:
            problems.append(f"shapes {shapes}; ranges_MPa, means_MPa and counts must be 1-D of one length")
        if not np.all(np.isfinite(self.ranges_MPa) & (self.ranges_MPa >= 0)):
            problems.append(f"ranges_MPa min {np.min(self.ranges_MPa, initial=0.0)}; must be finite and >= 0")
        if not np.all(np.isfinite(self.means_MPa)):
            problems.append("means_MPa has non-finite values; must be finite")
        if not np.all(np.isfinite(self.counts) & (self.counts >= 0)):
            problems.append(f"counts min {np.min(self.counts, initial=0.0)}; must be finite and >= 0")
        if not (np.isfinite(self.block_h) and self.block_h > 0):
            problems.append(f"block_h = {self.block_h!r}; must be finite and > 0 hours")
        if problems:
            raise ValueError("invalid LoadSpectrum: " + "; ".join(problems))

    # the rainflow `Cycles` protocol, so `miner.damage` takes a spectrum as it is
    @property
    def ranges(self) -> np.ndarray:
        return self.ranges_MPa

    @property
    def means(self) -> np.ndarray:
        return self.means_MPa

    @property
    def total_cycles(self) -> float:
        return float(self.counts.sum())

    def scaled(self, factor: float) -> LoadSpectrum:
        """Stresses (ranges and means) times `factor` >= 0; counts unchanged."""
        if not (np.isfinite(factor) and factor >= 0):
            raise ValueError(f"factor = {factor!r}; must be finite and >= 0")
        return replace(self, ranges_MPa=self.ranges_MPa * factor, means_MPa=self.means_MPa * factor,
                       source=f"{self.source} x{factor:g}")

    def repeated(self, horizon_h: float) -> LoadSpectrum:
        """The spectrum over `horizon_h` hours: counts times horizon_h / block_h (may be fractional)."""
        if not (np.isfinite(horizon_h) and horizon_h > 0):
            raise ValueError(f"horizon_h = {horizon_h!r}; must be finite and > 0 hours")
        return replace(self, counts=self.counts * (horizon_h / self.block_h), block_h=float(horizon_h))


def spectrum_from_cycles(cycles, duration_h: float, range_bins=64, mean_bins=None, *,
                         representative: str = "upper", source: str = "cycles",
                         recorded_h: float | None = None) -> LoadSpectrum:
    """Bin counted cycles (any object with `ranges`, `means`, `counts`) into a spectrum over `duration_h`.

    range_bins: a number of equal bins on [0, max range], or bin edges (MPa)
    covering every range; class k is (e_k, e_k+1], the first one closed.
    mean_bins: None keeps one mean per range class (the count-weighted mean of
    its cycles); otherwise a number of bins on [min, max] mean or edges, and
    classes become (range, mean) cells. Empty classes are dropped; the total
    count is kept exactly.
    """
    if representative not in REPRESENTATIVES:
        raise ValueError(f"representative = {representative!r}; must be one of {REPRESENTATIVES}")
    ranges, means, counts = (np.ravel(np.asarray(getattr(cycles, name), dtype=float))
                             for name in ("ranges", "means", "counts"))
    if ranges.size == 0:
        return LoadSpectrum(ranges, means, counts, duration_h, source, recorded_h=recorded_h)
    r_edges = _edges(range_bins, ranges, "range_bins", lowest=0.0)
    r_idx = _bin_index(ranges, r_edges, "range_bins")
    if mean_bins is None:
        weight = np.bincount(r_idx, counts, len(r_edges) - 1)
        mean_sum = np.bincount(r_idx, counts * means, len(r_edges) - 1)
        keep = weight > 0
        return LoadSpectrum(_representative(r_edges, representative)[keep], mean_sum[keep] / weight[keep],
                            weight[keep], duration_h, source, recorded_h=recorded_h)
    m_edges = _edges(mean_bins, means, "mean_bins", lowest=None)
    m_idx = _bin_index(means, m_edges, "mean_bins")
    n_m = len(m_edges) - 1
    cell = np.bincount(r_idx * n_m + m_idx, counts, (len(r_edges) - 1) * n_m)
    keep = np.flatnonzero(cell > 0)
    return LoadSpectrum(_representative(r_edges, representative)[keep // n_m],
                        _representative(m_edges, representative)[keep % n_m], cell[keep], duration_h, source,
                        recorded_h=recorded_h)


def _edges(bins, values, name, lowest):
    if np.ndim(bins) == 0:
        n = int(bins)
        if n < 1 or n != bins:
            raise ValueError(f"{name} = {bins!r}; must be a whole number >= 1 or an increasing array of edges")
        lo = values.min() if lowest is None else lowest
        hi = values.max()
        if hi <= lo:
            hi = lo + max(abs(lo), 1.0) * 1e-9
        return np.linspace(lo, hi, n + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(f"{name} = {bins!r}; edges must be a 1-D strictly increasing array of >= 2 values")
    return edges


def _bin_index(values, edges, name):
    outside = (values < edges[0]) | (values > edges[-1])
    if outside.any():
        raise ValueError(f"{name}: value {float(values[outside][0])!r} is outside the edges [{edges[0]}, {edges[-1]}]; "
                         "the edges must cover every cycle so that no count is lost")
    return np.clip(np.searchsorted(edges, values, side="left") - 1, 0, len(edges) - 2)


def _representative(edges, representative):
    return edges[1:] if representative == "upper" else 0.5 * (edges[:-1] + edges[1:])


def spectrum_from_history(signal_MPa, dt_s: float, range_bins=64, mean_bins=None, *,
                          representative: str = "upper", source: str = "history",
                          require_closed: bool = False) -> LoadSpectrum:
    """Rainflow-count a stress history (MPa) sampled every `dt_s` seconds and bin it.

    The block is the record's length, n_samples · dt_s (a record that repeats).
    `require_closed`: refuse a history in which no cycle closes (a constant one, or one shorter
    than a single load cycle: only the rainflow residue's half cycles), whose spectrum would be
    nothing or a guess.
    """
    from simengine.fatigue import rainflow  # the compiled counter loads (and compiles) only when needed

    signal = rainflow.real_array(signal_MPa, "signal_MPa")
    problems = []
    if signal.ndim != 1 or signal.size < 2:
        problems.append(f"signal_MPa shape {signal.shape}; must be 1-D with >= 2 samples")
    elif not np.all(np.isfinite(signal)):
        problems.append(f"signal_MPa has {int(np.sum(~np.isfinite(signal)))} non-finite samples; must be finite")
    if not (np.isfinite(dt_s) and dt_s > 0):
        problems.append(f"dt_s = {dt_s!r}; must be finite and > 0 seconds")
    if problems:
        raise ValueError("invalid history: " + "; ".join(problems))
    cycles = rainflow.count_cycles(signal)
    if require_closed:
        _check_closed(cycles, source)
    recorded_h = signal.size * dt_s / SECONDS_PER_HOUR
    return spectrum_from_cycles(cycles, recorded_h, range_bins, mean_bins,
                                representative=representative, source=source, recorded_h=recorded_h)


def _check_closed(cycles, source: str) -> None:
    if not np.any((cycles.counts >= 1.0) & (cycles.ranges > 0)):
        raise ValueError(f"{source}: no load cycle closes in the {cycles.total:g} half cycle(s) of the history: "
                         "it is constant or shorter than one load cycle; record at least a few load cycles")


def spectrum_from_hdf5(path, variable: str, *, group: str = "series", replica: int | None = None,
                       asset: int | None = None, youngs_modulus_MPa: float | None = None,
                       units: str | None = None, duration_h: float | None = None, range_bins=64,
                       mean_bins=None, representative: str = "upper") -> LoadSpectrum:
    """Spectrum of one stress or strain time series in an HDF5 file.

    Layout of `simengine.results.store`: dataset `/<group>/<variable>` of shape
    (replica, time, asset), or (replica, time) for a fleet-level series, with a
    `units` attribute and dimension scales `replica`, `time` (hours), `asset`.
    `variable` may also be an absolute path to a 1-D dataset ("/plc/strain").
    `replica` and `asset` pick a column by its id on the scale (by index where
    there is no scale); None is allowed where the axis has one entry.
    Units: MPa (or Pa, kPa, GPa, N/mm2) for stress; µε (ue, microstrain) or
    dimensionless strain times `youngs_modulus_MPa`. `units` overrides the
    attribute. The block is the record's span, T · (t[-1] - t[0]) / (T - 1)
    hours, or `duration_h`.
    """
    key = variable if variable.startswith("/") else f"{group}/{variable}"
    given_duration = duration_h is not None
    if _is_recording(path):
        return _spectrum_from_recording(path, variable, youngs_modulus_MPa, units, duration_h, range_bins,
                                        mean_bins, representative)
    with h5py.File(path, "r") as f:
        if key not in f or not isinstance(f[key], h5py.Dataset):
            parent = f.get(key.rsplit("/", 1)[0] or "/")
            names = sorted(parent) if isinstance(parent, h5py.Group) else []
            raise ValueError(f"variable = {variable!r}: no dataset {key!r} in {path}; found {names}")
        ds = f[key]
        axes = _axis_names(ds)
        index, time_h = [], None
        for axis, name in enumerate(axes):
            scale = ds.dims[axis][0][()] if len(ds.dims[axis]) else np.arange(ds.shape[axis])
            if name == "time":
                index.append(slice(None))
                if len(ds.dims[axis]):
                    t_units = ds.dims[axis][0].attrs.get("units", "h")
                    t_units = t_units.decode() if isinstance(t_units, bytes) else t_units
                    if t_units not in _TIME_TO_H:
                        raise ValueError(f"time scale of {key!r} has units {t_units!r}; must be one of {sorted(_TIME_TO_H)}")
                    time_h = np.asarray(scale, float) * _TIME_TO_H[t_units]
            else:
                index.append(_pick(name, {"replica": replica, "asset": asset}.get(name), scale))
        data = np.asarray(ds[tuple(index)], dtype=float)
        unit = units if units is not None else ds.attrs.get("units")
    unit = unit.decode() if isinstance(unit, bytes) else unit
    stress = data * _to_MPa(unit, youngs_modulus_MPa, variable)
    if duration_h is None:
        if time_h is None or time_h.size < 2:
            raise ValueError(f"duration_h is None and {key!r} has no time scale of >= 2 points; give duration_h")
        duration_h = float((time_h[-1] - time_h[0]) * time_h.size / (time_h.size - 1))
    dt_s = duration_h * SECONDS_PER_HOUR / stress.size
    spectrum = spectrum_from_history(stress, dt_s, range_bins, mean_bins, representative=representative,
                                     source=f"{path}:{key}[replica={replica}, asset={asset}]",
                                     require_closed=True)
    base = "duration_h as given" if time_h is None or given_duration else f"the time scale of {key}"
    return replace(spectrum, time_base=base)


def _is_recording(path) -> bool:
    """Whether `path` holds a PLC recording (`simengine.recording`'s layout)."""
    try:
        with h5py.File(path, "r") as f:
            return "recording" in f
    except OSError:  # a recording whose recorder was killed opens only in SWMR mode
        with h5py.File(path, "r", swmr=True) as f:
            return "recording" in f


def _spectrum_from_recording(path, tag, youngs_modulus_MPa, units, duration_h, range_bins, mean_bins, representative):
    """One tag of a PLC recording (`simengine.recording`); only GOOD samples are counted.

    The span is the PLC's scan clock where the recording has a clock tag (quantity `clock_s`):
    arrival times run at the link's pace, not the PLC's (a virtual PLC served at time_factor 60
    delivers an hour in a minute). Without one, arrival times, and the time base says so."""
    from simengine.recording import read_recording

    rec = read_recording(path)
    if tag not in rec.tags:
        raise ValueError(f"variable = {tag!r}: not a tag of the recording {path}; tags include {rec.tags[:5]}")
    col = rec.tags.index(tag)
    good = (rec.quality[:, col] == 0) & np.isfinite(rec.values[:, col])
    if good.sum() < 2:
        raise ValueError(f"variable = {tag!r}: fewer than 2 good samples in {path}")
    unit = units if units is not None else rec.units[col]
    stress = rec.values[good, col] * _to_MPa(unit, youngs_modulus_MPa, tag)
    if duration_h is not None:
        span_s, base = duration_h * SECONDS_PER_HOUR, "duration_h as given"
    else:
        span_s, base = recording_span_s(rec, good)
    spectrum = spectrum_from_history(stress, span_s / stress.size, range_bins, mean_bins,
                                     representative=representative, source=f"{path}:recording[{tag}]",
                                     require_closed=True)
    return replace(spectrum, time_base=base)


def clock_column(rec) -> int | None:
    """The recording's PLC clock tag: quantity `clock_s` (or, without quantities, a tag named *.plc_clock_s)."""
    if rec.quantities:
        found = [i for i, q in enumerate(rec.quantities) if q == CLOCK_QUANTITY]
    else:
        found = [i for i, t in enumerate(rec.tags) if t.endswith(".plc_clock_s")]
    return found[0] if found else None


def recording_span_s(rec, rows: np.ndarray) -> tuple[float, str]:
    """Seconds the readings in `rows` (a boolean mask) span, and the time base that measured them.

    By the PLC's clock tag where there is one, else by arrival time (see `clock_span_s`)."""
    clock = clock_column(rec)
    if clock is not None:
        ok = rows & (rec.quality[:, clock] == 0) & np.isfinite(rec.values[:, clock])
        if ok.sum() >= 2:
            span = clock_span_s(rec.values[ok, clock])
            return span.seconds, f"PLC scan clock ({rec.tags[clock]}{span.notes()})"
    span = clock_span_s(np.asarray(rec.time_s, float)[rows])
    why = "no clock tag in the recording" if clock is None else f"too few good readings of {rec.tags[clock]}"
    return span.seconds, f"arrival time ({why}: a PLC not served in real time gives a wrong span{span.notes()})"


class ClockSpan(NamedTuple):
    seconds: float
    restarts: int = 0
    gaps: int = 0
    gap_s: float = 0.0

    def notes(self) -> str:
        notes = [f"{self.restarts} clock restart(s) bridged"] if self.restarts else []
        if self.gaps:
            notes.append(f"{self.gaps} gap(s) without readings, {self.gap_s:g} s, not counted")
        return "".join(f"; {n}" for n in notes)


def clock_span_s(clock_s: np.ndarray) -> ClockSpan:
    """Seconds a clock covers over successive readings that carry load: the sum of its advances.

    Each reading stands for one typical interval (the median advance), as n samples span n
    intervals. A fall of the clock (a PLC restart: it begins again) and an advance over
    `GAP_FACTOR` typical intervals (the link was down: the load then is unknown, and counting
    its time would dilute the cycles that were seen) each count as one typical interval.
    Repeated scans (no advance) add nothing."""
    step = np.diff(np.asarray(clock_s, float))
    rising = step[step > 0]
    typical = float(np.median(rising)) if rising.size else 0.0
    gap = rising > GAP_FACTOR * typical
    restarts = int((step < 0).sum())
    seconds = float(rising[~gap].sum()) + typical * (restarts + int(gap.sum()) + 1)
    return ClockSpan(seconds, restarts, int(gap.sum()), float((rising[gap] - typical).sum()))


def _axis_names(ds: h5py.Dataset) -> list[str]:
    named = [(ds.dims[i].keys()[0] or None) if len(ds.dims[i]) else None for i in range(ds.ndim)]
    default = {1: ["time"], 2: ["replica", "time"], 3: ["replica", "time", "asset"]}.get(ds.ndim)
    if default is None:
        raise ValueError(f"dataset {ds.name!r} has shape {ds.shape}; must be (time,), (replica, time) "
                         "or (replica, time, asset)")
    return [n if n is not None else d for n, d in zip(named, default)]


def _pick(name: str, wanted, scale) -> int:
    ids = [int(v) for v in np.asarray(scale)]
    if wanted is None:
        if len(ids) == 1:
            return 0
        raise ValueError(f"{name} = None; the file has {name}s {ids}, pick one")
    if int(wanted) not in ids:
        raise ValueError(f"{name} = {wanted!r}; not in the file's {name}s {ids}")
    return ids.index(int(wanted))


def _to_MPa(unit, youngs_modulus_MPa, variable) -> float:
    if unit in _STRESS_UNITS:
        return _STRESS_UNITS[unit]
    if unit in _STRAIN_UNITS:
        if youngs_modulus_MPa is None or not youngs_modulus_MPa > 0:
            raise ValueError(f"youngs_modulus_MPa = {youngs_modulus_MPa!r}; a strain series ({variable!r} in "
                             f"{unit!r}) needs Young's modulus > 0 MPa")
        return _STRAIN_UNITS[unit] * youngs_modulus_MPa
    raise ValueError(f"units = {unit!r} of {variable!r}; must be a stress unit {sorted(_STRESS_UNITS)} "
                     f"or a strain unit {sorted(_STRAIN_UNITS)}")


def paris_driver(spectrum: LoadSpectrum, m):
    """Paris driver per block, Σ n_k Δσ_k^m (MPa^m); m may be a JAX array (scatter)."""
    return block_driver(spectrum.ranges_MPa, spectrum.counts, m)


def miner_increment(spectrum: LoadSpectrum, curve, mean_stress=None, *, cutoff_MPa=None):
    """Miner damage per block, Σ n_k / N(Δσ_k) (see `simengine.fatigue.miner.damage`)."""
    return damage(curve, spectrum, mean_stress, cutoff_MPa=cutoff_MPa)
