"""A configuration mistake is reported before any heavy import, and `import simengine` stays light.

Each check runs in a fresh interpreter (this one has long imported everything) and asks it which
modules were loaded when the command had printed its message: imports, not seconds, so that the
test says the same on a busy machine. `simengine bench --only cold_start` measures the seconds.
"""

import json
import subprocess
import sys

import pytest

from simengine.bench.cold_start import HEAVY, loaded_after

# Each command with a mistake, and what its message says. Modules named in HEAVY must not be loaded.
MISTAKES = [
    (["run", "crews.count=-1"], "crews.count = -1: must be >= 1"),
    (["run", "-m", "crews.count=-1,2", "policy.kind=corrective,sometimes"], "policy.kind = 'sometimes'"),
    (["run", "scenario=crane_flet"], "did you mean 'crane_fleet'?"),
    (["fatigue", "replicas=-1"], "replicas = -1: must be >= 1"),
    (["plc", "record", "record.duration_s=-1"], "record.duration_s = -1"),
    (["calibrate", "rate_hz=-1"], "rate_hz = -1"),
    (["sensitivity", "samples=-1"], "samples = -1"),
    (["optimize", "crews.count=-1"], "crews.count = -1: must be >= 1"),
    (["dtdl", "crews.count=-1"], "crews.count = -1: must be >= 1"),
    (["run", "scenario=port", "fleet.count=3"], "fleet.count = 3: port is a plant of groups"),
]


@pytest.mark.parametrize("argv, message", MISTAKES, ids=[" ".join(argv) for argv, _ in MISTAKES])
def test_a_mistake_is_reported_before_any_heavy_import(argv, message):
    seen = loaded_after(argv)
    assert seen["code"] == 2 and message in seen["stderr"], seen["stderr"]
    assert seen["heavy"] == [], f"imported before the message: {seen['heavy']}"


def test_help_imports_nothing_heavy():
    seen = loaded_after(["--help"])
    assert seen["code"] == 0 and "fatigue" in seen["stdout"]
    assert seen["heavy"] == []


def test_an_unwritable_out_dir_is_refused_before_any_heavy_import():
    seen = loaded_after(["run", "out_dir=/proc/simengine-results"])
    assert seen["code"] == 2 and "cannot write in /proc" in seen["stderr"], seen["stderr"]
    assert seen["heavy"] == []


def test_the_probe_sees_a_heavy_import():
    # else the tests above could pass by not looking
    seen = loaded_after(["run", "crews.count=-1"], before="import h5py")
    assert seen["code"] == 2 and seen["heavy"] == ["h5py"]


FLOAT64_LATER = """
import json, sys
import simengine
light = "jax" not in sys.modules
import jax.numpy as jnp
print(json.dumps({"dtype": str(jnp.ones(1).dtype), "light": light}))
"""


def test_jax_imported_after_simengine_computes_in_float64():
    out = subprocess.run([sys.executable, "-c", FLOAT64_LATER], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert json.loads(out) == {"dtype": "float64", "light": True}


def test_jax_imported_before_simengine_is_switched_to_float64():
    # a notebook that imported JAX first: importing simengine switches it (here: this process, by reloading)
    import importlib

    import jax
    import jax.numpy as jnp

    import simengine

    try:
        jax.config.update("jax_enable_x64", False)
        assert jnp.ones(1).dtype == "float32"
        importlib.reload(simengine)
        assert jnp.ones(1).dtype == "float64"
    finally:
        jax.config.update("jax_enable_x64", True)


def test_heavy_list_names_what_the_engine_needs():
    assert {"jax", "simengine.engine.simulation", "h5py", "matplotlib"} <= set(HEAVY)
