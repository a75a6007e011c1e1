"""`simengine.plc` holds protocol I/O only (tag maps, codecs, clients, servers, the recorder): no module of it
imports the engine, the asset kinds, the physics, the sensors, the calibration or the virtual PLC built on
them, neither when it is imported (checked in a fresh interpreter) nor later inside a function (checked in
the source). `simengine plc serve` hands the service a source object; the service never builds one."""

from pathlib import Path

from layering import forbidden_imports, imports_in, is_forbidden, leaks, modules_of

import simengine

PLC = Path(simengine.__file__).parent / "plc"
# what the protocol layer must not lean on: the simulation and everything built on it
FORBIDDEN = ("engine", "kinds", "physics", "sensors", "calibration", "virtual_plc", "batch", "sweep",
             "sensitivity", "optimize", "fatigue", "fatigue_cli", "api", "cli")


def test_importing_each_plc_module_loads_no_engine_kinds_physics_or_simulator():
    modules = modules_of(PLC)
    for io in ("tags", "codec", "modbus_client", "modbus_server", "opcua_client", "opcua_server", "recorder",
               "readings", "errors", "service"):
        assert f"simengine.plc.{io}" in modules
    assert "simengine.plc.virtual_plc" not in modules  # the simulator lives in simengine.virtual_plc
    # run beside this checkout's simengine, so the probe imports the package these tests import
    assert leaks(modules, FORBIDDEN, PLC.parent.parent) == {}


def test_no_plc_module_imports_them_inside_a_function_either():
    assert forbidden_imports(PLC, FORBIDDEN) == []


def test_the_checks_see_a_forbidden_import(tmp_path):
    # the source check on a module that builds the virtual PLC inside a function
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from simengine.virtual_plc import PhysicsSource\n    import simengine.kinds\n")
    assert [name for _, name in imports_in(sneaky) if is_forbidden(name, FORBIDDEN)] == [
        "simengine.virtual_plc", "simengine.virtual_plc.PhysicsSource", "simengine.kinds"]
    assert forbidden_imports(tmp_path, FORBIDDEN) == ["sneaky.py:2 imports simengine.virtual_plc",
                                                     "sneaky.py:2 imports simengine.virtual_plc.PhysicsSource",
                                                     "sneaky.py:3 imports simengine.kinds"]
    assert not is_forbidden("simengine.plc.tags", FORBIDDEN) and not is_forbidden("simengine.config.validate", FORBIDDEN)
    # the import check on a module that loads one (here a stand-in, registered as the engine)
    (tmp_path / "leaky.py").write_text("import sys, types\nsys.modules['simengine.engine'] = types.ModuleType('e')\n")
    assert leaks(["simengine.plc.tags", "leaky"], FORBIDDEN, tmp_path) == {"leaky": ["simengine.engine"]}
