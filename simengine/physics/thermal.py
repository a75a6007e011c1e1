"""Lumped thermal RC model (motor, gearbox), exact exponential discretisation.

    τ dT/dt = T_amb + R P - T,     τ = R C_th

Temperatures in °C, heat power P in W, thermal resistance R in K/W, time in s.
For P and T_amb constant over a step of length dt the solution is exact:

    T(t+dt) = T_ss + (T(t) - T_ss) exp(-dt/τ),   T_ss = T_amb + R P
"""

from __future__ import annotations

import jax.numpy as jnp


def thermal_step(temp_C, power_W, ambient_C, dt_s, tau_s, resistance_K_per_W):
    """Temperature after dt seconds of constant heat power and ambient temperature."""
    steady = ambient_C + resistance_K_per_W * power_W
    return steady + (temp_C - steady) * jnp.exp(-dt_s / tau_s)
