"""The fatigue toolkit stands alone, as the README promises: no module of `simengine.fatigue` imports the
engine, the PLC, the results store, the calibration, the sweeps or the executors, neither when it is
imported (checked in a fresh interpreter) nor later inside a function (checked in the source)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import simengine

FATIGUE = Path(simengine.__file__).parent / "fatigue"
# what the toolkit must not lean on; `simengine.fatigue_cli` is the command built on top of it
FORBIDDEN = ("engine", "plc", "results", "calibration", "sweep", "batch", "api", "cli", "fatigue_cli")


def toolkit_modules() -> list[str]:
    return ["simengine.fatigue"] + sorted(f"simengine.fatigue.{p.stem}" for p in FATIGUE.glob("*.py")
                                          if p.stem != "__init__")


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


def test_importing_each_fatigue_module_loads_no_engine_plc_results_or_executors():
    modules = toolkit_modules()
    assert "simengine.fatigue.spectrum" in modules and "simengine.fatigue.runner" in modules
    probe = _PROBE.format(forbidden=set(FORBIDDEN), modules=modules)
    # run beside this checkout's simengine, so the probe imports the package these tests import
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          cwd=FATIGUE.parent.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}, done.stdout


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


def test_no_fatigue_module_imports_them_inside_a_function_either():
    offending = [f"{path.name}:{line} imports {name}" for path in sorted(FATIGUE.glob("*.py"))
                 for line, name in imports_in(path) if forbidden(name)]
    assert offending == []


def test_the_checks_see_a_forbidden_import(tmp_path):
    # the source check on a module that imports the results store inside a function
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from simengine.results.publish import StagedFolder\n    import simengine.plc\n")
    assert [name for _, name in imports_in(sneaky) if forbidden(name)] == [
        "simengine.results.publish", "simengine.results.publish.StagedFolder", "simengine.plc"]
    assert not forbidden("simengine.fatigue.batch") and not forbidden("simengine.units")
    # the import check on a module that loads one (here a stand-in, registered as the results store)
    (tmp_path / "leaky.py").write_text("import sys, types\nsys.modules['simengine.results'] = types.ModuleType('r')\n")
    probe = _PROBE.format(forbidden=set(FORBIDDEN), modules=["simengine.units", "leaky"])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"leaky": ["simengine.results"]}, done.stdout
