"""Fixtures shared by the calibration tests."""

import pytest
from calibration_setup import TRUTH, TWINS, one_percent_noise, twin_processes


@pytest.fixture(scope="session")
def twins():
    """Two warm twin processes (`calibration_setup.twin_processes`), shared by the live tests and the
    many-joint one: each pays the import and the compilation once, not once per module."""
    pool = twin_processes(TWINS)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="session")
def hour_of_seed_8(tmp_path_factory):
    """An hour and a bit (3700 s) of 1 Hz readings of the virtual PLC, 1 % noise, seed 8, the hidden TRUTH and a
    new weld's crack: (scenario, tag map, recording), recorded once for every module that reads such an hour
    (`calibration_setup.first_rows` cuts the hour; the PLC is causal, so it is the hour a 3600 s run records)."""
    from simengine.calibration.sources import record_virtual
    from simengine.virtual_plc import PhysicsSource

    sc = one_percent_noise()
    src = PhysicsSource(sc, [0], seed=8, true_params=TRUTH, initial_crack_m=3e-4)
    return sc, src.tagmap(), record_virtual(src, tmp_path_factory.mktemp("seed8") / "readings.h5", duration_s=3700,
                                            rate_hz=1.0)
