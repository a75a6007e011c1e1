"""`simengine.plc` holds protocol I/O only (tag maps, codecs, clients, servers, the recorder): no module of it
imports the engine, the asset kinds, the physics, the sensors, the calibration or the virtual PLC built on
them, neither when it is imported (checked in a fresh interpreter) nor later inside a function (checked in
the source). `simengine plc serve` hands the service a source object; the service never builds one."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import simengine

PLC = Path(simengine.__file__).parent / "plc"
# what the protocol layer must not lean on: the simulation and everything built on it
FORBIDDEN = ("engine", "kinds", "physics", "sensors", "calibration", "virtual_plc", "batch", "sweep",
             "sensitivity", "optimize", "fatigue", "fatigue_cli", "api", "cli")


def plc_modules() -> list[str]:
    return ["simengine.plc"] + sorted(f"simengine.plc.{p.stem}" for p in PLC.glob("*.py") if p.stem != "__init__")


def forbidden(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[0] == "simengine" and parts[1] in FORBIDDEN


# Imports each module in turn and reports, for the first one that loads a forbidden package, which ones.
_PROBE = """
import importlib, json, sys
bad = lambda: sorted(m for m in sys.modules if m.split(".")[0] == "simengine" and len(m.split(".")) > 1
                     and m.split(".")[1] in {forbidden})
found = {{}}
for name in {modules}:
    importlib.import_module(name)
    if bad():
        found[name] = bad()
        break
print(json.dumps(found))
"""


def probe(modules: list[str], cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE.format(forbidden=set(FORBIDDEN), modules=modules)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_each_plc_module_loads_no_engine_kinds_physics_or_simulator():
    modules = plc_modules()
    for io in ("tags", "codec", "modbus_client", "modbus_server", "opcua_client", "opcua_server", "recorder",
               "readings", "errors", "service"):
        assert f"simengine.plc.{io}" in modules
    assert "simengine.plc.virtual_plc" not in modules  # the simulator lives in simengine.virtual_plc
    # run beside this checkout's simengine, so the probe imports the package these tests import
    assert probe(modules, PLC.parent.parent) == {}


def imports_in(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in `path` names, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_plc_module_imports_them_inside_a_function_either():
    offending = [f"{path.name}:{line} imports {name}" for path in sorted(PLC.glob("*.py"))
                 for line, name in imports_in(path) if forbidden(name)]
    assert offending == []


def test_the_checks_see_a_forbidden_import(tmp_path):
    # the source check on a module that builds the virtual PLC inside a function
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from simengine.virtual_plc import PhysicsSource\n    import simengine.kinds\n")
    assert [name for _, name in imports_in(sneaky) if forbidden(name)] == [
        "simengine.virtual_plc", "simengine.virtual_plc.PhysicsSource", "simengine.kinds"]
    assert not forbidden("simengine.plc.tags") and not forbidden("simengine.config.validate")
    # the import check on a module that loads one (here a stand-in, registered as the engine)
    (tmp_path / "leaky.py").write_text("import sys, types\nsys.modules['simengine.engine'] = types.ModuleType('e')\n")
    assert probe(["simengine.plc.tags", "leaky"], tmp_path) == {"leaky": ["simengine.engine"]}
