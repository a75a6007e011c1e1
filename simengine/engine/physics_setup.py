"""From a fleet's configuration to its structural physics: parameters, initial state, S-N endurance.

What every kind carrying the engine's structural physics shares
(`simengine.kinds.structural.StructuralKind`); the duty model is the kind's own.
"""

from __future__ import annotations

import numpy as np

from simengine.config.scenario import FleetConfig, Scatter
from simengine.engine.sampling import draw_scatter
from simengine.physics import sn
from simengine.physics.asset import AssetParams, AssetState


def sn_curve(fleet: FleetConfig) -> sn.SNCurve:
    c = fleet.sn
    return sn.SNCurve(detail_category_MPa=c.detail_category_MPa, m1=c.m1, m2=c.m2, knee_cycles=c.knee_cycles)


def build_params(fleet: FleetConfig, rng: np.random.Generator) -> AssetParams:
    n = fleet.count

    def full(value):
        return np.full(n, float(value))

    return AssetParams(
        paris_C=draw_scatter(fleet.crack.paris_C, rng, n),
        paris_m=full(fleet.crack.paris_m),
        geometry_Y=full(fleet.crack.geometry_Y),
        section_depth_m=full(fleet.crack.section_depth_m),
        stiffness_sensitivity=full(fleet.crack.stiffness_sensitivity),
        natural_frequency_hz=full(fleet.vibration.natural_frequency_hz),
        vibration_rms0=full(fleet.vibration.rms0),
        wear_vibration_gain=full(fleet.vibration.wear_gain),
        thermal_tau_s=full(fleet.thermal.tau_s),
        thermal_resistance_K_per_W=full(fleet.thermal.resistance_K_per_W),
        wear_rate_per_s=draw_scatter(fleet.wear.rate_per_h, rng, n) / 3600.0,
        wear_reference_C=full(fleet.wear.reference_C),
        wear_doubling_K=full(fleet.wear.doubling_K),
    )


def initial_state(fleet: FleetConfig, rng: np.random.Generator) -> AssetState:
    n = fleet.count
    return AssetState(
        crack_m=draw_scatter(fleet.crack.initial_flaw_m, rng, n),
        damage=np.zeros(n),
        temp_C=np.full(n, fleet.thermal.initial_C),
        wear=np.zeros(n),
    )


def endurance_scatter(fleet: FleetConfig, rng: np.random.Generator) -> np.ndarray:
    """Each asset's S-N endurance factor (lognormal, median 1): a duty's first draw from its stream."""
    return draw_scatter(Scatter(1.0, fleet.sn.strength_scatter_cv), rng, fleet.count)


def build_duty(fleet: FleetConfig, horizon_h: float, rng: np.random.Generator):
    """The duty model of the fleet's kind, or None for assets without physics loads."""
    from simengine.kinds.registry import kind_of

    return kind_of(fleet).build_duty(fleet, horizon_h, rng)
