"""The fatigue toolkit stands alone, as the README promises: no module of `simengine.fatigue` imports the
engine, the PLC, the results store, the calibration, the sweeps or the executors, neither when it is
imported (checked in a fresh interpreter) nor later inside a function (checked in the source)."""

from pathlib import Path

from layering import forbidden_imports, imports_in, is_forbidden, leaks, modules_of

import simengine

FATIGUE = Path(simengine.__file__).parent / "fatigue"
# what the toolkit must not lean on; `simengine.fatigue_cli` is the command built on top of it
FORBIDDEN = ("engine", "plc", "results", "calibration", "sweep", "batch", "api", "cli", "fatigue_cli")


def test_importing_each_fatigue_module_loads_no_engine_plc_results_or_executors():
    modules = modules_of(FATIGUE)
    assert "simengine.fatigue.spectrum" in modules and "simengine.fatigue.runner" in modules
    # run beside this checkout's simengine, so the probe imports the package these tests import
    assert leaks(modules, FORBIDDEN, FATIGUE.parent.parent) == {}


def test_no_fatigue_module_imports_them_inside_a_function_either():
    assert forbidden_imports(FATIGUE, FORBIDDEN) == []


def test_the_checks_see_a_forbidden_import(tmp_path):
    # the source check on a module that imports the results store inside a function
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from simengine.results.publish import StagedFolder\n    import simengine.plc\n")
    assert [name for _, name in imports_in(sneaky) if is_forbidden(name, FORBIDDEN)] == [
        "simengine.results.publish", "simengine.results.publish.StagedFolder", "simengine.plc"]
    assert not is_forbidden("simengine.fatigue.batch", FORBIDDEN) and not is_forbidden("simengine.units", FORBIDDEN)
    # the import check on a module that loads one (here a stand-in, registered as the results store)
    (tmp_path / "leaky.py").write_text("import sys, types\nsys.modules['simengine.results'] = types.ModuleType('r')\n")
    assert leaks(["simengine.units", "leaky"], FORBIDDEN, tmp_path) == {"leaky": ["simengine.results"]}
