"""Fatigue batches: exact against independent stepping, statuses, determinism, outputs."""

import numpy as np
import pytest
import xarray as xr

from simengine.config import build
from simengine.config.fatigue import FatigueConfig
from simengine.fatigue.batch import (
    FAILED, INVALID, SURVIVED, ReplicaParams, reference_numpy_same_algebra, reference_numpy_stepping,
    run_constant_Y, run_variable_Y,
)
from simengine.fatigue.crack_growth import finite_width_edge_crack_Y, grow_blocks_bounded, EdgeCrack
from simengine.fatigue.runner import run_fatigue


def params(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return ReplicaParams(paris_C=1.65e-11 * rng.lognormal(0, 0.5, n), paris_m=rng.normal(3.0, 0.1, n),
                         initial_flaw_m=3e-4 * rng.lognormal(0, 0.4, n), critical_m=np.full(n, 0.025),
                         driver_per_block=np.full(n, 4.0e9))


def test_constant_Y_batch_equals_block_by_block_stepping():
    p = params()
    mult = np.random.default_rng(1).gamma(25, 1 / 25, 250)
    got = np.asarray(run_constant_Y(p, mult, 1.12, 10).failure_block)
    ref = reference_numpy_stepping(p, mult, 1.12)
    assert np.isfinite(got).sum() > 50 and (~np.isfinite(got)).sum() > 50  # both outcomes present
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    np.testing.assert_allclose(got[np.isfinite(got)], ref[np.isfinite(ref)], rtol=1e-9)
    np.testing.assert_allclose(reference_numpy_same_algebra(p, mult, 1.12)[np.isfinite(ref)], ref[np.isfinite(ref)],
                               rtol=1e-9)


def test_recorded_crack_matches_stepping_and_holds_at_critical():
    p = params(50)
    mult = np.ones(200)
    res = run_constant_Y(p, mult, 1.12, 20)
    a = np.asarray(p.initial_flaw_m, float)
    C, m = np.asarray(p.paris_C), np.asarray(p.paris_m)
    from simengine.physics.crack import paris_block

    for n in range(200):
        a = np.minimum(np.asarray(paris_block(a, 4.0e9, C, m, 1.12)), 0.025)
        if (n + 1) % 20 == 0:
            np.testing.assert_allclose(np.asarray(res.crack_m)[:, (n + 1) // 20 - 1], a, rtol=1e-9)


def test_statuses_per_replica_never_fail_the_batch():
    p = params(4)
    bad = ReplicaParams(paris_C=np.array([1.65e-11, -1.0, np.nan, 1.65e-11]), paris_m=p.paris_m,
                        initial_flaw_m=np.array([3e-4, 3e-4, 3e-4, 0.03]), critical_m=p.critical_m,
                        driver_per_block=np.array([0.0, 4e9, 4e9, 4e9]))
    res = run_constant_Y(bad, np.ones(100), 1.12, 10)
    assert np.asarray(res.status).tolist() == [SURVIVED, INVALID, INVALID, INVALID]
    assert np.isnan(np.asarray(res.failure_block)[1:]).all()


def test_variable_Y_batch_lies_inside_the_rigorous_enclosure():
    p = params(40)
    W = 0.05
    mult = np.ones(400)
    res = run_variable_Y(p, mult, finite_width_edge_crack_Y, W, 1)
    crack = np.asarray(res.crack_m)  # (replicas, blocks)
    for i in range(0, 40, 7):
        drivers = np.full(400, 4.0e9)
        bounded = grow_blocks_bounded(p.initial_flaw_m[i], drivers, p.paris_C[i], p.paris_m[i], EdgeCrack(W))
        lo, hi = np.asarray(bounded.lower_m), np.asarray(bounded.upper_m)
        below_crit = hi < 0.025
        assert below_crit.any()
        assert np.all(crack[i][below_crit] >= lo[below_crit] * (1 - 1e-12))
        assert np.all(crack[i][below_crit] <= hi[below_crit] * (1 + 1e-12))
    status = np.asarray(res.status)
    assert set(status.tolist()) <= {SURVIVED, FAILED}


def small_config(**over):
    data = {"horizon_years": 10.0, "material": {"geometry": {"kind": "constant"}}}
    data.update(over)
    return build(FatigueConfig, data)


def test_same_seed_same_batch_and_a_different_seed_differs():
    cfg = small_config()
    a, b, c = run_fatigue(cfg, replicas=500, seed=3), run_fatigue(cfg, replicas=500, seed=3), run_fatigue(cfg, replicas=500, seed=4)
    np.testing.assert_array_equal(a.failure_years, b.failure_years)
    np.testing.assert_array_equal(a.crack_m, b.crack_m)
    assert not np.array_equal(a.failure_years, c.failure_years)


def test_failure_probability_interval_covers_and_is_monotone():
    run = run_fatigue(small_config(), replicas=400, seed=0)
    years = np.arange(1.0, 11.0)
    p, lo, hi = run.failure_probability(years)
    assert np.all(np.diff(p) >= 0) and np.all(lo <= p) and np.all(p <= hi)
    assert p[-1] == pytest.approx(np.mean(run.failure_years <= 10.0))


def test_cli_fatigue_writes_hdf5_and_plots(tmp_path, capsys):
    from simengine.cli import main

    code = main(["fatigue", "replicas=300", "horizon_years=10", f"out_dir={tmp_path}"])
    out = capsys.readouterr().out
    assert code == 0 and "median life" in out and "P(failure by 10 years)" in out
    (h5,) = tmp_path.glob("*/fatigue.h5")
    with xr.open_dataset(h5, group="failure_probability", engine="h5netcdf") as ds:
        assert ds.sizes["year"] == 10 and (ds["p_failure_lower"] <= ds["p_failure"]).all()
    with xr.open_dataset(h5, group="kpi", engine="h5netcdf") as ds:
        assert ds.sizes["replica"] == 300
    assert sorted(p.name for p in h5.parent.glob("*.png")) == ["crack_fan.png", "failure_probability.png", "survival.png"]


def test_cli_fatigue_bad_config_is_one_message(tmp_path, capsys):
    from simengine.cli import main

    code = main(["fatigue", "replicas=0", "material.critical_m=-1", "load.source=hdf5", f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    for text in ("replicas = 0: must be >= 1", "material.critical_m = -1", "load.hdf5.path = '': required"):
        assert text in err
    assert list(tmp_path.iterdir()) == []


def test_jit_vmap_batch_equals_plain_per_replica_calls():
    from simengine.fatigue.batch import _one_constant_Y

    p = params(20)
    mult = np.random.default_rng(5).gamma(25, 1 / 25, 300)
    batch = run_constant_Y(p, mult, 1.12, 30)
    cum = np.concatenate([[0.0], np.cumsum(mult)])
    rec = np.arange(30, 301, 30)
    for i in range(20):
        one = _one_constant_Y(ReplicaParams(*(np.asarray(x)[i] for x in (p.paris_C, p.paris_m, p.initial_flaw_m,
                                                                          p.critical_m, p.driver_per_block))),
                              cum, 1.12, rec)
        np.testing.assert_allclose(np.asarray(batch.failure_block)[i], np.asarray(one.failure_block), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(batch.crack_m)[i], np.asarray(one.crack_m), rtol=1e-12)


def test_numpy_bisection_baseline_gives_the_batchs_answers():
    from simengine.fatigue.batch import reference_numpy_bisection

    p = params(200)
    mult = np.random.default_rng(7).gamma(25, 1 / 25, 333)
    batch = run_constant_Y(p, mult, 1.12, 50)
    fb, crack = reference_numpy_bisection(p, mult, 1.12, 50)
    np.testing.assert_allclose(np.asarray(batch.failure_block), fb, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(batch.crack_m), crack, rtol=1e-10)
    assert crack.shape[1] == 7  # 6 full spans of 50 blocks and the horizon's end at 333


def test_variable_Y_applies_every_block_whatever_the_record_interval():
    p = params(30)
    mult = np.ones(7)
    W = 1e4  # Y(a) ~ 1.12: the variable-Y path must then agree with the exact one
    exact = np.asarray(run_constant_Y(p, mult * 120.0, 1.12, 1).failure_block)
    for every in (1, 3, 10):
        got = np.asarray(run_variable_Y(p, mult * 120.0, finite_width_edge_crack_Y, W, every).failure_block)
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(exact))
        np.testing.assert_allclose(got[np.isfinite(exact)], exact[np.isfinite(exact)], rtol=1e-5)


def test_a_partial_last_block_ends_at_the_horizon():
    from simengine.fatigue.runner import block_lengths

    cfg = small_config(horizon_years=1.0, block_h=6570.0)  # 0.75 year blocks
    assert block_lengths(cfg).tolist() == [1.0, pytest.approx(1 / 3)]
    run = run_fatigue(cfg, replicas=300, seed=1)
    failed = run.status == FAILED
    assert np.all(run.failure_years[failed] <= 1.0 + 1e-12)
    p, _, _ = run.failure_probability(np.array([1.0]))
    assert p[0] == pytest.approx(failed.mean())


@pytest.mark.parametrize("m", [1.8, 2.0, 2.0 + 1e-9])
def test_variable_Y_batch_computes_m_at_and_below_2_inside_the_enclosure(m):
    n = 6
    p = ReplicaParams(paris_C=np.full(n, 2e-9), paris_m=np.full(n, m), initial_flaw_m=np.geomspace(3e-4, 3e-3, n),
                      critical_m=np.full(n, 0.025), driver_per_block=np.full(n, 3.0e6))
    W = 0.05
    res = run_variable_Y(p, np.ones(300), finite_width_edge_crack_Y, W, 1)
    assert set(np.asarray(res.status).tolist()) <= {SURVIVED, FAILED} and FAILED in np.asarray(res.status)
    crack = np.asarray(res.crack_m)
    for i in range(n):
        bounded = grow_blocks_bounded(p.initial_flaw_m[i], np.full(300, 3.0e6), p.paris_C[i], m, EdgeCrack(W))
        lo, hi = np.asarray(bounded.lower_m), np.asarray(bounded.upper_m)
        below = hi < 0.025
        assert below.any()
        assert np.all(crack[i][below] >= lo[below] * (1 - 1e-12)) and np.all(crack[i][below] <= hi[below] * (1 + 1e-12))


def test_finite_width_batch_with_scattered_m_keeps_every_replica_and_says_so():
    from simengine.fatigue_cli.report import summary_text

    cfg = small_config(material={"paris_m": {"mean": 2.5, "sd": 0.35}, "critical_m": 0.025,
                                 "geometry": {"kind": "finite_width", "width_m": 0.06}})
    run = run_fatigue(cfg, replicas=400, seed=0)
    assert (run.params.paris_m <= 2).sum() > 20  # the case that used to drop out silently
    assert (run.status != INVALID).all()
    assert "replicas in P(failure): 400 of 400" in summary_text(run)


def test_summary_says_which_replicas_are_not_in_p_failure():
    from simengine.fatigue_cli.report import summary_text

    import dataclasses

    run = run_fatigue(small_config(), replicas=400, seed=0)
    invalid = 7  # the configuration's bounds keep draws physical; a caller's own parameters may not be
    run = dataclasses.replace(run, status=np.where(np.arange(400) < invalid, INVALID, run.status))
    assert f"replicas in P(failure): {400 - invalid} of 400 ({invalid} left out: invalid parameters" in summary_text(run)
