"""simengine: discrete-event co-simulation of asset fleets over a JAX physics core.

Importing the package is light: JAX, the engine and the result stores load when
first used, so that the command line reports a configuration mistake before any
heavy import (`simengine.bench.cold_start` measures it).
"""

import os
import sys

# Physics is float64 throughout: crack growth over 10^7 cycles loses its
# answer in float32 (a^(1-m/2) differences of nearly equal numbers). JAX reads
# this variable when it is first imported, wherever that happens (here the
# physics modules); a JAX imported before simengine is switched directly.
if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "true"

__version__ = "0.1.0"

__all__ = ["Run", "load_scenario", "run", "__version__"]


def __getattr__(name: str):
    # simengine.run, simengine.Run, simengine.load_scenario: from the API module, imported on first use
    if name in ("Run", "load_scenario", "run"):
        from simengine import api

        return getattr(api, name)
    raise AttributeError(f"module 'simengine' has no attribute {name!r}")
