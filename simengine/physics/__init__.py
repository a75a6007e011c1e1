"""Reduced-order physics in JAX: pure functions over pytrees, float64."""

from simengine.physics.asset import AssetInputs, AssetParams, AssetState, Observation, advance, init, observe, step
from simengine.physics.crack import crossing_fraction, paris_block, paris_driver_to_grow, paris_life_cycles
from simengine.physics.sn import SNCurve, cycles_to_failure, miner_damage
from simengine.physics.thermal import thermal_step
from simengine.physics.vibration import natural_frequency_hz, stiffness_ratio, vibration_rms
from simengine.physics.wear import wear_step

__all__ = [
    "AssetInputs", "AssetParams", "AssetState", "Observation", "advance", "init", "observe", "step",
    "crossing_fraction", "paris_block", "paris_driver_to_grow", "paris_life_cycles",
    "SNCurve", "cycles_to_failure", "miner_damage", "thermal_step",
    "natural_frequency_hz", "stiffness_ratio", "vibration_rms", "wear_step",
]
