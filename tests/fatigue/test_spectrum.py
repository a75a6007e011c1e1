"""Load spectra: binning, count conservation, scaling laws, rainflow of histories and HDF5 files."""

import sys
import types
from dataclasses import dataclass

import h5py
import numpy as np
import pytest
import rainflow as pypi_rainflow

from simengine.fatigue.crack_growth import block_driver
from simengine.fatigue.miner import damage
from simengine.fatigue.sn_curves import eurocode_detail
from simengine.fatigue.spectrum import (
    LoadSpectrum, miner_increment, paris_driver, spectrum_from_cycles, spectrum_from_hdf5, spectrum_from_history,
)
from simengine.physics.sn import SNCurve
from simengine.results.store import ReplicaResult, write_run


@dataclass(frozen=True)
class Cycles:
    ranges: np.ndarray
    means: np.ndarray
    counts: np.ndarray


def pypi_cycles(signal) -> Cycles:
    """The independent `rainflow` package (PyPI) as a Cycles producer."""
    rows = np.array([(r, m, n) for r, m, n, _, _ in pypi_rainflow.extract_cycles(np.asarray(signal))]).reshape(-1, 3)
    return Cycles(rows[:, 0], rows[:, 1], rows[:, 2])


@pytest.fixture
def counter(monkeypatch):
    """Our rainflow module where it imports; else the PyPI package stands in for it."""
    try:
        import simengine.fatigue.rainflow  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("simengine.fatigue.rainflow")
        stand_in.count_cycles = pypi_cycles
        monkeypatch.setitem(sys.modules, "simengine.fatigue.rainflow", stand_in)


def random_cycles(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return Cycles(rng.uniform(0.0, 180.0, n), rng.normal(40.0, 30.0, n), np.where(rng.random(n) < 0.3, 0.5, 1.0))


def history(n=5000, seed=1):
    return np.cumsum(np.random.default_rng(seed).normal(0.0, 8.0, n)) + 50.0


def spectrum(**kw):
    base = dict(ranges_MPa=[40.0, 80.0, 160.0], means_MPa=[10.0, 20.0, 30.0], counts=[1e4, 300.0, 2.5],
                block_h=168.0, source="test")
    return LoadSpectrum(**(base | kw))


# --- binning ------------------------------------------------------------------------

def test_binning_by_hand_uses_upper_edges_and_weighted_means():
    cycles = Cycles(np.array([5.0, 10.0, 15.0, 25.0]), np.array([0.0, 30.0, 7.0, -4.0]), np.array([1.0, 0.5, 1.0, 1.0]))
    s = spectrum_from_cycles(cycles, 2.0, range_bins=[0.0, 10.0, 20.0, 30.0])
    np.testing.assert_array_equal(s.ranges_MPa, [10.0, 20.0, 30.0])  # 10 sits on an edge: class (0, 10]
    np.testing.assert_array_equal(s.counts, [1.5, 1.0, 1.0])
    np.testing.assert_allclose(s.means_MPa, [(0.0 + 0.5 * 30.0) / 1.5, 7.0, -4.0])
    assert s.block_h == 2.0
    mid = spectrum_from_cycles(cycles, 2.0, range_bins=[0.0, 10.0, 20.0, 30.0], representative="midpoint")
    np.testing.assert_array_equal(mid.ranges_MPa, [5.0, 15.0, 25.0])


@pytest.mark.parametrize("mean_bins", [None, 12])
def test_counts_are_conserved_and_upper_edges_are_conservative(mean_bins):
    cycles = random_cycles()
    s = spectrum_from_cycles(cycles, 24.0, range_bins=20, mean_bins=mean_bins)
    assert s.total_cycles == pytest.approx(cycles.counts.sum(), rel=1e-15)
    curve = eurocode_detail(71)
    for m in (3.0, 5.0):
        assert float(paris_driver(s, m)) >= float(block_driver(cycles.ranges, cycles.counts, m))
    assert float(miner_increment(s, curve)) >= float(damage(curve, cycles))
    mid = spectrum_from_cycles(cycles, 24.0, range_bins=20, mean_bins=mean_bins, representative="midpoint")
    assert float(paris_driver(mid, 3.0)) < float(paris_driver(s, 3.0))


def test_mean_bins_give_cells_with_upper_edge_means():
    cycles = Cycles(np.array([10.0, 10.0, 30.0]), np.array([-5.0, 5.0, 5.0]), np.array([1.0, 1.0, 0.5]))
    s = spectrum_from_cycles(cycles, 1.0, range_bins=[0.0, 20.0, 40.0], mean_bins=[-10.0, 0.0, 10.0])
    np.testing.assert_array_equal(np.c_[s.ranges_MPa, s.means_MPa, s.counts],
                                  [[20.0, 0.0, 1.0], [20.0, 10.0, 1.0], [40.0, 10.0, 0.5]])


@pytest.mark.parametrize("kw, match", [
    (dict(range_bins=[0.0, 50.0]), r"range_bins: value .* is outside the edges \[0.0, 50.0\]"),
    (dict(range_bins=[0.0, 50.0, 40.0]), "edges must be a 1-D strictly increasing array"),
    (dict(range_bins=0), "range_bins = 0; must be a whole number >= 1"),
    (dict(mean_bins=[0.0, 1.0]), "mean_bins: value .* is outside the edges"),
    (dict(representative="lower"), "representative = 'lower'; must be one of"),
])
def test_bad_binning_is_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        spectrum_from_cycles(random_cycles(50), 1.0, **kw)


def test_load_spectrum_lists_every_problem():
    with pytest.raises(ValueError, match=r"ranges_MPa min -1.0.*counts min -2.0.*block_h = 0.0"):
        spectrum(ranges_MPa=[-1.0, 80.0, 160.0], counts=[-2.0, 1.0, 1.0], block_h=0.0)
    with pytest.raises(ValueError, match="must be 1-D of one length"):
        spectrum(counts=[1.0, 2.0])


# --- scaling and repetition -------------------------------------------------------------

@pytest.mark.parametrize("m", [2.0, 3.0, 4.5])
def test_driver_scales_as_factor_to_the_m(m):
    s = spectrum()
    assert float(paris_driver(s.scaled(1.3), m)) == pytest.approx(1.3**m * float(paris_driver(s, m)), rel=1e-13)


def test_scaled_scales_stresses_not_counts():
    s, t = spectrum(), spectrum().scaled(2.0)
    np.testing.assert_array_equal(t.ranges_MPa, 2 * s.ranges_MPa)
    np.testing.assert_array_equal(t.means_MPa, 2 * s.means_MPa)
    np.testing.assert_array_equal(t.counts, s.counts)
    single = SNCurve(detail_category_MPa=71.0, m1=3.0, m2=3.0)
    assert float(miner_increment(t, single)) == pytest.approx(8 * float(miner_increment(s, single)), rel=1e-13)
    with pytest.raises(ValueError, match="factor = -1.0; must be finite and >= 0"):
        s.scaled(-1.0)


def test_repeated_gives_the_counts_of_the_horizon():
    s = spectrum()
    year = s.repeated(8760.0)
    np.testing.assert_allclose(year.counts, s.counts * 8760.0 / 168.0, rtol=1e-15)
    assert year.block_h == 8760.0 and year.total_cycles == pytest.approx(s.total_cycles * 8760 / 168)
    assert float(paris_driver(year, 3.0)) == pytest.approx(8760 / 168 * float(paris_driver(s, 3.0)), rel=1e-13)
    with pytest.raises(ValueError, match="horizon_h = 0.0; must be finite and > 0 hours"):
        s.repeated(0.0)


def test_paris_driver_and_miner_increment_by_hand():
    s, curve = spectrum(), eurocode_detail(80)
    assert float(paris_driver(s, 3.0)) == pytest.approx(1e4 * 40**3 + 300 * 80**3 + 2.5 * 160**3, rel=1e-14)
    assert float(miner_increment(s, curve)) == pytest.approx(float(damage(curve, s)), rel=1e-15)


# --- histories and files --------------------------------------------------------------------

def test_history_spectrum_agrees_with_an_independent_rainflow(counter):
    signal, edges = history(), np.linspace(0.0, 2000.0, 201)
    ours = spectrum_from_history(signal, dt_s=0.5, range_bins=edges)
    reference = spectrum_from_cycles(pypi_cycles(signal), 5000 * 0.5 / 3600, range_bins=edges, source="history")
    np.testing.assert_array_equal(ours.ranges_MPa, reference.ranges_MPa)
    np.testing.assert_array_equal(ours.counts, reference.counts)
    np.testing.assert_allclose(ours.means_MPa, reference.means_MPa, rtol=1e-12)
    assert ours.block_h == pytest.approx(5000 * 0.5 / 3600)


@pytest.mark.parametrize("signal, dt_s, match", [
    (np.ones((3, 3)), 1.0, r"signal_MPa shape \(3, 3\); must be 1-D"),
    (np.array([0.0, np.nan, 1.0]), 1.0, "signal_MPa has 1 non-finite samples"),
    (np.arange(4.0), 0.0, "dt_s = 0.0; must be finite and > 0 seconds"),
])
def test_bad_histories_are_rejected(signal, dt_s, match):
    with pytest.raises(ValueError, match=match):
        spectrum_from_history(signal, dt_s)


def store_file(tmp_path, series, units="MPa", dt_h=0.25):
    """A run file written by the engine's results store: 2 replicas, assets 3 and 7."""
    n_t = series.shape[1]
    events = np.zeros(0, dtype=[("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")])
    replicas = [ReplicaResult(replica=r, seed_entropy=r, kpis={"x": 0.0}, events=events,
                              series_time_h=np.arange(n_t) * dt_h, series={"stress": series[r]},
                              series_units={"stress": units}, recorded_assets=np.array([3, 7]))
                for r in range(series.shape[0])]
    return write_run(tmp_path / "run.h5", config={}, seed=1, replicas=replicas)


def test_hdf5_store_series_picks_replica_and_asset_by_id(tmp_path, counter):
    data = np.stack([np.stack([history(800, seed=10 * r + a) for a in range(2)], axis=1) for r in range(2)])
    path = store_file(tmp_path, data)
    s = spectrum_from_hdf5(path, "stress", replica=1, asset=7, range_bins=30)
    want = spectrum_from_history(data[1, :, 1], dt_s=0.25 * 3600, range_bins=30)
    np.testing.assert_array_equal(s.counts, want.counts)
    np.testing.assert_array_equal(s.ranges_MPa, want.ranges_MPa)
    assert s.block_h == pytest.approx(800 * 0.25) and "replica=1, asset=7" in s.source


@pytest.mark.parametrize("kw, match", [
    (dict(replica=1, asset=5), r"asset = 5; not in the file's assets \[3, 7\]"),
    (dict(replica=None, asset=3), r"replica = None; the file has replicas \[0, 1\], pick one"),
])
def test_hdf5_store_selection_errors(tmp_path, kw, match):
    path = store_file(tmp_path, np.zeros((2, 10, 2)))
    with pytest.raises(ValueError, match=match):
        spectrum_from_hdf5(path, "stress", **kw)


def test_hdf5_strain_in_microstrain_equals_stress_in_MPa(tmp_path, counter):
    strain = history(1000, seed=4) * 5.0  # µε
    path = tmp_path / "plc.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plc/strain", data=strain).attrs["units"] = "µε"
        f.create_dataset("plc/stress", data=strain * 0.21).attrs["units"] = "MPa"
    kw = dict(duration_h=2.0, range_bins=np.linspace(0.0, 2000.0, 201))
    from_strain = spectrum_from_hdf5(path, "/plc/strain", youngs_modulus_MPa=210000.0, **kw)
    from_stress = spectrum_from_hdf5(path, "/plc/stress", youngs_modulus_MPa=210000.0, **kw)
    np.testing.assert_array_equal(from_strain.counts, from_stress.counts)
    np.testing.assert_allclose(from_strain.means_MPa, from_stress.means_MPa, rtol=1e-12)
    assert from_strain.block_h == 2.0
    with pytest.raises(ValueError, match=r"youngs_modulus_MPa = None; a strain series \('/plc/strain' in 'µε'\)"):
        spectrum_from_hdf5(path, "/plc/strain", **kw)
    with pytest.raises(ValueError, match="units = 'psi' of '/plc/stress'; must be a stress unit"):
        spectrum_from_hdf5(path, "/plc/stress", units="psi", **kw)
    with pytest.raises(ValueError, match="duration_h is None and '/plc/stress' has no time scale"):
        spectrum_from_hdf5(path, "/plc/stress")


def test_hdf5_missing_variable_lists_what_is_there(tmp_path):
    path = store_file(tmp_path, np.zeros((1, 10, 2)))
    listing = r"found \['asset', 'replica', 'stress', 'time'\]"
    with pytest.raises(ValueError, match=r"variable = 'strain': no dataset 'series/strain' .* " + listing):
        spectrum_from_hdf5(path, "strain", replica=0, asset=3)
