"""The compiled S-N endurance agrees with the eager one bit for bit, and with Basquin by hand."""

import numpy as np
import pytest

from simengine.physics import sn

CURVES = [
    sn.SNCurve(55.0, 10.0, 10.0, knee_cycles=1e12),  # the wind farm's blade root
    sn.SNCurve(71.0, 3.0, 5.0),  # EN 1993-1-9 welded detail
    sn.SNCurve(36.0, 3.0, 5.0),
    sn.SNCurve(160.0, 4.0, 7.0, 2e6, 1e7),
]


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: f"{c.detail_category_MPa:g}-{c.m1:g}-{c.m2:g}")
def test_compiled_endurance_is_the_eager_one_bit_for_bit(curve):
    rng = np.random.default_rng(3)
    stress = np.concatenate([rng.uniform(0.0, 200.0, 20001), np.exp(rng.uniform(-5.0, 8.0, 20002)),
                             [0.0, curve.knee_stress_MPa, curve.detail_category_MPa]]).reshape(2, -1)
    eager = np.asarray(sn.cycles_to_failure(curve, stress))
    compiled = np.asarray(sn.cycles_to_failure_compiled(curve, stress))
    assert np.array_equal(compiled, eager)

    # Basquin by hand, in NumPy
    knee = curve.detail_category_MPa * (curve.reference_cycles / curve.knee_cycles) ** (1.0 / curve.m1)
    with np.errstate(divide="ignore"):
        expected = np.where(stress >= knee, curve.reference_cycles * (curve.detail_category_MPa / stress) ** curve.m1,
                            curve.knee_cycles * (knee / stress) ** curve.m2)
    expected[stress == 0.0] = np.inf
    np.testing.assert_allclose(compiled, expected, rtol=1e-12)
