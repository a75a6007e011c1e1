"""S-N curves from the codes, mean-stress correction and Miner damage against closed forms."""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simengine.fatigue.miner import damage, damage_equivalent_range, life_in_repeats
from simengine.fatigue.sn_curves import (
    MeanStressCorrection, cutoff_range_MPa, dnv_curve, equivalent_range, eurocode_detail,
)
from simengine.physics.sn import SNCurve, cycles_to_failure


@dataclass(frozen=True)
class Cycles:
    ranges: np.ndarray
    means: np.ndarray
    counts: np.ndarray


def cyc(ranges, counts, means=None):
    ranges = np.asarray(ranges, float)
    means = np.zeros_like(ranges) if means is None else np.asarray(means, float)
    return Cycles(ranges, means, np.asarray(counts, float))


# --- EN 1993-1-9 -------------------------------------------------------------

def test_eurocode_knee_and_cutoff_ratios():
    curve = eurocode_detail(71)
    # EN 1993-1-9 Fig. 7.1: Δσ_D = 0.737 Δσ_C, Δσ_L = 0.549 Δσ_D
    assert curve.knee_stress_MPa / 71 == pytest.approx(0.737, abs=5e-4)
    assert cutoff_range_MPa(curve) / curve.knee_stress_MPa == pytest.approx(0.549, abs=5e-4)
    assert float(cycles_to_failure(curve, 71.0)) == pytest.approx(2e6, rel=1e-12)
    assert float(cycles_to_failure(curve, curve.knee_stress_MPa)) == pytest.approx(5e6, rel=1e-12)
    assert float(cycles_to_failure(curve, cutoff_range_MPa(curve))) == pytest.approx(1e8, rel=1e-12)


@pytest.mark.parametrize("bad", [0, -71, float("nan"), float("inf"), "71"])
def test_eurocode_rejects_bad_category(bad):
    with pytest.raises(ValueError, match="category_MPa"):
        eurocode_detail(bad)


def test_cutoff_before_knee_is_rejected():
    with pytest.raises(ValueError, match="cutoff_cycles = 1000000.0; must be >= knee_cycles"):
        cutoff_range_MPa(eurocode_detail(71), 1e6)


# --- DNV-RP-C203 ---------------------------------------------------------------

def test_dnv_curve_D_in_air_is_continuous_and_matches_table():
    curve = dnv_curve(12.164, 3.0, 15.606, 5.0)  # DNV-RP-C203 Table 2-1, curve D in air
    # The table's fatigue limit at 10^7 is 52.63 MPa; the two rounded branches give 52.642 and 52.630.
    assert curve.knee_stress_MPa == pytest.approx(52.63, abs=0.015)
    assert 10 ** ((15.606 - 7) / 5) == pytest.approx(52.63, abs=0.005)
    for s in (200.0, 90.0, 60.0):  # upper branch: log N = 12.164 - 3 log Δσ
        assert np.log10(float(cycles_to_failure(curve, s))) == pytest.approx(12.164 - 3 * np.log10(s), abs=1e-12)
    for s in (50.0, 30.0):  # lower branch: log N = 15.606 - 5 log Δσ, to the table's rounding
        assert np.log10(float(cycles_to_failure(curve, s))) == pytest.approx(15.606 - 5 * np.log10(s), abs=1e-3)
    below, above = (float(cycles_to_failure(curve, curve.knee_stress_MPa * f)) for f in (1 - 1e-12, 1 + 1e-12))
    assert below == pytest.approx(1e7, rel=1e-9) and above == pytest.approx(1e7, rel=1e-9)


def test_dnv_curve_rejects_a_discontinuous_lower_branch():
    with pytest.raises(ValueError, match=r"log_a2 = 15.7 is discontinuous .* needs log_a2 = 15.6067"):
        dnv_curve(12.164, 3.0, 15.7, 5.0)


def test_dnv_curve_lists_every_bad_parameter():
    with pytest.raises(ValueError, match=r"m1 = 0.0; must .*; knee_cycles = -1.0; must"):
        dnv_curve(12.164, 0.0, 15.606, 5.0, knee_cycles=-1.0)


# --- mean stress ------------------------------------------------------------------

def test_mean_stress_formulas():
    ds, sm, su = np.array([100.0, 100.0, 100.0]), np.array([0.0, 200.0, -200.0]), 400.0
    np.testing.assert_allclose(equivalent_range(ds, sm, "goodman", su), [100.0, 200.0, 100.0])
    np.testing.assert_allclose(equivalent_range(ds, sm, "gerber", su), [100.0, 100 / 0.75, 100.0])
    # SWT: 2 sqrt(σ_max σ_a); σ_max = 250, σ_a = 50 -> 2 sqrt(12500); σ_max < 0 -> no damage
    np.testing.assert_allclose(equivalent_range(ds, sm, "swt"), [100.0, 2 * np.sqrt(12500.0), 0.0])
    np.testing.assert_allclose(equivalent_range(ds, sm, "none"), ds)


def test_en1993_counts_sixty_percent_of_the_compressive_part():
    got = equivalent_range([100.0, 100.0, 100.0], [0.0, 100.0, -100.0], "en1993")
    np.testing.assert_allclose(got, [50 + 0.6 * 50, 100.0, 60.0])


def test_mean_at_ultimate_is_static_failure():
    assert np.isinf(float(equivalent_range(10.0, 400.0, "goodman", 400.0)))
    d = damage(eurocode_detail(71), cyc([10.0], [1.0], [500.0]), MeanStressCorrection("goodman", 400.0))
    assert np.isinf(float(d))


@pytest.mark.parametrize("method, ultimate, match", [
    ("soderberg", 400.0, "method = 'soderberg'; must be one of"),
    ("goodman", None, "ultimate_MPa = None; method 'goodman' needs"),
    ("gerber", -1.0, "ultimate_MPa = -1.0; method 'gerber' needs"),
])
def test_mean_stress_rejects_bad_settings(method, ultimate, match):
    with pytest.raises(ValueError, match=match):
        MeanStressCorrection(method, ultimate)


# --- Miner -----------------------------------------------------------------------

def test_constant_amplitude_damage_is_n_over_N():
    curve = eurocode_detail(90)
    assert float(damage(curve, cyc([120.0], [1.0e5]))) == pytest.approx(1e5 / (2e6 * (90 / 120) ** 3), rel=1e-12)


def test_two_level_spectrum_by_hand_with_half_cycles():
    curve = eurocode_detail(100)
    # 100 MPa: N = 2e6; 200 MPa: N = 2e6 / 8 = 2.5e5. Half cycles count 0.5.
    d = damage(curve, cyc([100.0, 200.0, 200.0], [1000.0, 10.0, 0.5]))
    assert float(d) == pytest.approx(1000 / 2e6 + 10.5 / 2.5e5, rel=1e-12)


def test_knee_switches_to_the_second_slope():
    curve = eurocode_detail(100)
    s_d = 100 * 0.4 ** (1 / 3)  # knee at 5e6 cycles
    low = 0.5 * s_d  # m2 = 5 below the knee: N = 5e6 · 2^5
    d = damage(curve, cyc([low, 100.0], [1000.0, 1000.0]))
    assert float(d) == pytest.approx(1000 / (5e6 * 32) + 1000 / 2e6, rel=1e-12)


def test_cutoff_removes_damage_below_it_only():
    curve = eurocode_detail(71)
    cut = cutoff_range_MPa(curve)
    cycles = cyc([0.99 * cut, 71.0], [1e6, 10.0])
    assert float(damage(curve, cycles, cutoff_MPa=cut)) == pytest.approx(10 / 2e6, rel=1e-12)
    assert float(damage(curve, cycles)) > float(damage(curve, cycles, cutoff_MPa=cut))


def test_goodman_correction_enters_the_damage():
    curve = eurocode_detail(100)
    d = damage(curve, cyc([100.0], [10.0], [200.0]), MeanStressCorrection("goodman", 400.0))
    assert float(d) == pytest.approx(10 / (2e6 / 8), rel=1e-12)  # Δσ_eq = 200 MPa


def test_life_in_repeats_is_the_inverse_damage():
    curve, cycles = eurocode_detail(80), cyc([60.0, 150.0], [5e3, 20.0])
    assert float(life_in_repeats(curve, cycles)) == pytest.approx(1 / float(damage(curve, cycles)), rel=1e-12)
    assert np.isinf(float(life_in_repeats(curve, cyc([0.0], [1.0]))))


@pytest.mark.parametrize("m", [3.0, 5.0])
def test_damage_equivalent_range_does_the_same_damage(m):
    curve = SNCurve(detail_category_MPa=80.0, m1=m, m2=m)  # single slope
    cycles = cyc([30.0, 60.0, 150.0, 10.0], [5e4, 3e3, 20.0, 0.5])
    eq = float(damage_equivalent_range(cycles, m, n_ref=2e6))
    assert float(damage(curve, cyc([eq], [2e6]))) == pytest.approx(float(damage(curve, cycles)), rel=1e-12)


def test_damage_jit_and_vmap_equal_plain_calls():
    cycles = cyc([30.0, 60.0, 150.0], [5e4, 3e3, 20.0])
    categories = jnp.array([56.0, 71.0, 90.0])
    plain = [float(damage(eurocode_detail(float(c)), cycles)) for c in categories]
    curves = SNCurve(detail_category_MPa=categories, m1=3.0, m2=5.0, reference_cycles=2e6, knee_cycles=5e6)
    batched = jax.jit(jax.vmap(lambda c: damage(c, cycles), in_axes=(SNCurve(0, None, None, None, None),)))(curves)
    np.testing.assert_allclose(batched, plain, rtol=1e-14)
