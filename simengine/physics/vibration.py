"""Vibration observation model: what an accelerometer sees of a growing crack.

A crack of depth a in a section of depth h removes stiffness,

    k/k0 = 1 - β (a/h)^2            (clipped at a floor of 5 %)

which lowers the natural frequency f = f0 sqrt(k/k0) and, for the same
dynamic load, raises the vibration amplitude as k0/k:

    RMS = RMS0 · (load factor) · k0/k

a in m, f in Hz, RMS in m/s².
"""

from __future__ import annotations

import jax.numpy as jnp

_MIN_STIFFNESS = 0.05


def stiffness_ratio(crack_m, section_depth_m, sensitivity):
    """k/k0 for a crack of depth `crack_m` in a section `section_depth_m` deep."""
    ratio = jnp.clip(crack_m / section_depth_m, 0.0, 1.0)
    return jnp.maximum(1.0 - sensitivity * ratio**2, _MIN_STIFFNESS)


def natural_frequency_hz(f0_hz, stiffness):
    return f0_hz * jnp.sqrt(stiffness)


def vibration_rms(rms0, stiffness, load_factor):
    return rms0 * load_factor / stiffness
