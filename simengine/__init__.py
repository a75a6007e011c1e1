"""simengine: discrete-event co-simulation of asset fleets over a JAX physics core."""

import jax

# Physics is float64 throughout: crack growth over 10^7 cycles loses its
# answer in float32 (a^(1-m/2) differences of nearly equal numbers).
jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

from simengine.api import Run, load_scenario, run  # noqa: E402  (after the float64 switch)

__all__ = ["Run", "load_scenario", "run", "__version__"]
