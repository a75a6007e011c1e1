"""Reduced-order physics in JAX: pure functions over pytrees, float64."""

from simengine import caches

# Before anything here is compiled: jitted physics is kept in the user's cache
# folder, so that a second process loads it instead of compiling it again.
caches.configure_jax()

from simengine.physics.asset import (  # noqa: E402
    AssetInputs, AssetParams, AssetState, Observation, advance, init, observe, step,
)
from simengine.physics.crack import (  # noqa: E402
    crossing_fraction, paris_block, paris_driver_to_grow, paris_life_cycles,
)
from simengine.physics.sn import SNCurve, cycles_to_failure, miner_damage  # noqa: E402
from simengine.physics.thermal import thermal_step  # noqa: E402
from simengine.physics.vibration import natural_frequency_hz, stiffness_ratio, vibration_rms  # noqa: E402
from simengine.physics.wear import wear_step  # noqa: E402

__all__ = [
    "AssetInputs", "AssetParams", "AssetState", "Observation", "advance", "init", "observe", "step",
    "crossing_fraction", "paris_block", "paris_driver_to_grow", "paris_life_cycles",
    "SNCurve", "cycles_to_failure", "miner_damage", "thermal_step",
    "natural_frequency_hz", "stiffness_ratio", "vibration_rms", "wear_step",
]
