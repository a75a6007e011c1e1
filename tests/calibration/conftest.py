"""Fixtures shared by the calibration tests."""

import pytest
from calibration_setup import twin_processes


@pytest.fixture(scope="session")
def twins():
    """Two warm twin processes (`calibration_setup.twin_processes`), shared by the live tests and the
    many-joint one: each pays the import and the compilation once, not once per module."""
    pool = twin_processes(2)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)
