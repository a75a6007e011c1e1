"""The observation model a calibration fits: one asset's physics core, stepped over a window of readings.

Between two readings k-1 and k (dt_k seconds apart) the asset is advanced by
the same `simengine.physics.asset.step` the engine uses, with the measured
load factor L_k of that interval as its input:

    heat power      P_k = hoist_heat_W · L_k               (motor losses ∝ load)
    temperature     T_k = T_ss + (T_{k-1} - T_ss) e^(-dt_k/τ),  T_ss = T_amb + R P_k
    stiffness       k   = 1 - β (a/h)^2
    frequency       f_k = f0 √k
    vibration       v_k = RMS0 · L_k / k · (1 + g_w w_k)

and `simengine.physics.asset.observe` gives what each sensor sees. Within a
calibration window (hours) a crack grows by far less than a micrometre and
bearing wear by a few parts in 10^5 of its limit, so the model holds both
(the crack at `initial_crack_m`; `crack_filter` tracks it over weeks). The parameters θ are any `AssetParams` field plus the model's
own: `hoist_heat_W` (W at rated load), `ambient_C`, `initial_temp_C` and
`initial_crack_m` (m). Units: s, °C, W, Hz, m/s².
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from simengine.physics.asset import AssetInputs, AssetParams, AssetState, observe, step
from simengine.physics.pytree import pytree_dataclass

MODEL_PARAMETERS = ("hoist_heat_W", "ambient_C", "initial_temp_C", "initial_crack_m")
ASSET_PARAMETERS = tuple(f.name for f in dataclasses.fields(AssetParams))
PARAMETERS = ASSET_PARAMETERS + MODEL_PARAMETERS
# quantities the model predicts, in the order of its output rows
OUTPUTS = ("temperature_C", "natural_frequency_hz", "vibration_rms")
INPUT = "load_factor"


@pytree_dataclass
class Baseline:
    """Values of every parameter the fit does not change (one asset, scalars; a pytree, so that
    a new window or asset reuses the compiled fit)."""

    asset: AssetParams
    hoist_heat_W: float
    ambient_C: float
    initial_temp_C: float
    initial_crack_m: float

    def value(self, name: str) -> float:
        return float(getattr(self.asset, name) if name in ASSET_PARAMETERS else getattr(self, name))


def _with(baseline: Baseline, names: tuple[str, ...], theta):
    """AssetParams and model constants with the fitted names taken from θ."""
    fitted = {n: theta[i] for i, n in enumerate(names)}
    params = dataclasses.replace(baseline.asset, **{n: v for n, v in fitted.items() if n in ASSET_PARAMETERS})
    const = {n: fitted.get(n, getattr(baseline, n)) for n in MODEL_PARAMETERS}
    return params, const


def predict(theta, names: tuple[str, ...], baseline: Baseline, dt_s, load_factor, heat_load_factor=None):
    """Predicted readings (len(OUTPUTS), n) of the model with θ over intervals dt_s (n,) under loads (n,).

    `heat_load_factor` (n,), default `load_factor`: the load that heats the motor over each interval,
    where it differs from the one observed at its end (over a gap in the readings)."""
    params, const = _with(baseline, names, theta)
    zero = jnp.zeros(())
    state = AssetState(crack_m=zero + const["initial_crack_m"], damage=zero, temp_C=zero + const["initial_temp_C"], wear=zero)

    def interval(carry, xs):
        dt, load, heat_load = xs
        inputs = AssetInputs(paris_driver=zero, miner_increment=zero, heat_W=const["hoist_heat_W"] * heat_load,
                             ambient_C=zero + const["ambient_C"], load_factor=load)
        # the slow states are held (see the module doc), which also spares their power laws
        nxt = dataclasses.replace(step(params, carry, inputs, dt), crack_m=carry.crack_m, wear=carry.wear)
        obs = observe(params, nxt, inputs)
        return nxt, jnp.stack([getattr(obs, q) for q in OUTPUTS])

    heat_load_factor = load_factor if heat_load_factor is None else heat_load_factor
    _, rows = jax.lax.scan(interval, state, (jnp.asarray(dt_s), jnp.asarray(load_factor), jnp.asarray(heat_load_factor)))
    return rows.T


def baseline_for(params: AssetParams, asset: int, *, hoist_heat_W: float, ambient_C: float,
                 initial_temp_C: float, initial_crack_m: float) -> Baseline:
    """The baseline of one asset of a fleet's parameters (fields of shape (n_assets,))."""
    one = jax.tree_util.tree_map(lambda x: jnp.asarray(np.asarray(x)[asset], float), params)
    return Baseline(one, float(hoist_heat_W), float(ambient_C), float(initial_temp_C), float(initial_crack_m))
