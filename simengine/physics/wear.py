"""Bearing wear: an Archard-type rate, doubled for every `doubling_K` kelvin
above a reference temperature (an Arrhenius rule of thumb for lubricant life).

    dw/dt = r · L · 2^((T - T_ref)/ΔT_2)

w is the wear as a fraction of its limit (failure at w = 1), L a dimensionless
load factor (1 = rated load), r in 1/s, T in °C.
"""

from __future__ import annotations

import jax.numpy as jnp


def wear_step(wear, load_factor, temp_C, dt_s, rate_per_s, reference_C, doubling_K):
    """Wear after dt seconds at constant load and temperature (exact for constant inputs)."""
    return wear + rate_per_s * load_factor * dt_s * jnp.exp2((temp_C - reference_C) / doubling_K)
