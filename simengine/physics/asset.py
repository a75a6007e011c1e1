"""The reduced-order model of one asset, and its bulk advance over a fleet.

One asset carries four continuous states, each with its own law:

- ``crack_m``: fatigue crack depth, Paris–Erdogan over load blocks (`crack`);
- ``damage``: Palmgren–Miner damage of an S-N detail (`sn`), failure at 1;
- ``temp_C``: a lumped thermal node, exact RC step (`thermal`);
- ``wear``: bearing wear as a fraction of its limit (`wear`).

A model is pure functions over pytrees: ``init``, ``step``, ``observe``;
``advance`` scans ``step`` over a window of intervals for all assets at once
(``vmap`` over assets, ``lax.scan`` over time, one ``jit``). Times in s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simengine.physics.crack import paris_block
from simengine.physics.pytree import pytree_dataclass
from simengine.physics.thermal import thermal_step
from simengine.physics.vibration import natural_frequency_hz, stiffness_ratio, vibration_rms
from simengine.physics.wear import wear_step


@pytree_dataclass
class AssetParams:
    """Per-asset parameters; each field a scalar or an array over assets."""

    paris_C: float  # m/cycle/(MPa·√m)^m
    paris_m: float
    geometry_Y: float
    section_depth_m: float
    stiffness_sensitivity: float  # β in k/k0 = 1 - β (a/h)^2
    natural_frequency_hz: float  # f0 of the healthy structure
    vibration_rms0: float  # m/s² at load factor 1, healthy
    wear_vibration_gain: float  # RMS rises by (1 + gain · wear): a worn bearing rattles
    thermal_tau_s: float
    thermal_resistance_K_per_W: float
    wear_rate_per_s: float
    wear_reference_C: float
    wear_doubling_K: float


@pytree_dataclass
class AssetState:
    crack_m: float
    damage: float
    temp_C: float
    wear: float


@pytree_dataclass
class AssetInputs:
    """What the duty cycle and the weather put into one interval."""

    paris_driver: float  # Σ Δσ^m over the interval, MPa^m
    miner_increment: float  # Σ n_i/N_i over the interval
    heat_W: float  # mean heat power
    ambient_C: float
    load_factor: float  # mean dynamic load, 1 = rated


@pytree_dataclass
class Observation:
    """Physical quantities a sensor can observe, at the end of an interval."""

    vibration_rms: float  # m/s²
    natural_frequency_hz: float
    temperature_C: float
    load_factor: float
    crack_m: float
    damage: float
    wear: float


def init(crack_m, temp_C, damage=0.0, wear=0.0) -> AssetState:
    return AssetState(
        crack_m=jnp.asarray(crack_m, float),
        damage=jnp.broadcast_to(jnp.asarray(damage, float), jnp.shape(crack_m)),
        temp_C=jnp.broadcast_to(jnp.asarray(temp_C, float), jnp.shape(crack_m)),
        wear=jnp.broadcast_to(jnp.asarray(wear, float), jnp.shape(crack_m)),
    )


def step(params: AssetParams, state: AssetState, inputs: AssetInputs, dt_s) -> AssetState:
    """One interval of length dt_s for one asset (or elementwise for many)."""
    crack = paris_block(state.crack_m, inputs.paris_driver, params.paris_C, params.paris_m, params.geometry_Y)
    temp = thermal_step(
        state.temp_C, inputs.heat_W, inputs.ambient_C, dt_s, params.thermal_tau_s, params.thermal_resistance_K_per_W
    )
    # Wear at the interval's mean temperature would need the RC integral; the end
    # temperature is accurate to O(τ/dt) and τ (10–60 min) is below dt (1 h).
    wear = wear_step(
        state.wear, inputs.load_factor, temp, dt_s, params.wear_rate_per_s, params.wear_reference_C, params.wear_doubling_K
    )
    return AssetState(crack_m=crack, damage=state.damage + inputs.miner_increment, temp_C=temp, wear=wear)


def observe(params: AssetParams, state: AssetState, inputs: AssetInputs) -> Observation:
    k = stiffness_ratio(state.crack_m, params.section_depth_m, params.stiffness_sensitivity)
    return Observation(
        vibration_rms=vibration_rms(params.vibration_rms0, k, inputs.load_factor)
        * (1.0 + params.wear_vibration_gain * state.wear),
        natural_frequency_hz=natural_frequency_hz(params.natural_frequency_hz, k),
        temperature_C=state.temp_C,
        load_factor=inputs.load_factor,
        crack_m=state.crack_m,
        damage=state.damage,
        wear=state.wear,
    )


_step_fleet = jax.vmap(step, in_axes=(0, 0, 0, None))
_observe_fleet = jax.vmap(observe, in_axes=(0, 0, 0))


@jax.jit
def advance(params: AssetParams, state: AssetState, inputs: AssetInputs, valid, dt_s):
    """Advance all assets over a window of intervals.

    params, state: fields of shape (n_assets,); inputs: fields (W, n_assets);
    valid: bool (W, n_assets) — where False the asset's state is held (an
    asset out of service, or padding, so that windows of any length and start
    share one compiled shape).
    Returns (state at the end, states after each interval (W, n), observations (W, n)).
    """

    def body(carry, xs):
        inp, ok = xs
        nxt = _step_fleet(params, carry, inp, dt_s)
        nxt = jax.tree_util.tree_map(lambda new, old: jnp.where(ok, new, old), nxt, carry)
        return nxt, (nxt, _observe_fleet(params, nxt, inp))

    end, (states, obs) = jax.lax.scan(body, state, (inputs, valid))
    return end, states, obs


STATE_FIELDS: tuple[str, ...] = tuple(AssetState.__dataclass_fields__)
OBSERVATION_FIELDS: tuple[str, ...] = tuple(Observation.__dataclass_fields__)
TRAJECTORY_FIELDS: tuple[str, ...] = STATE_FIELDS + OBSERVATION_FIELDS  # the rows of `advance_stacked`'s result


@jax.jit
def advance_stacked(params, state, inputs, valid, dt_s):
    """`advance` with arrays in and one array out, so that a window costs four transfers to the
    device and one back instead of one per field (each costs tens of microseconds).

    params: (fields of AssetParams, n); state: (fields of AssetState, n); inputs: (fields of
    AssetInputs, W, n), each in its dataclass's field order; valid: (W, n).
    Returns (TRAJECTORY_FIELDS, W, n): the states after each interval, then the observations.
    The end state is the last row of the states.
    """
    _, states, obs = advance(AssetParams(*params), AssetState(*state), AssetInputs(*inputs), valid, dt_s)
    return jnp.stack([getattr(states, f) for f in STATE_FIELDS] + [getattr(obs, f) for f in OBSERVATION_FIELDS])
