"""The plant graph in run.h5 and its DTDL v3 export for Azure Digital Twins.

The independent references: the graph of a small plant written out by hand
(a substation feeding three cranes); DTDL v3's rules as its specification states
them (the DTMI regular expression of the DTMI spec, the name rule, the
QuantitativeTypes table, the limits), checked here by a validator of this
file's own that is shown to catch each kind of mistake; and, where it is
installed, Microsoft's DTDL parser (DTDLParser for .NET as WebAssembly, npm
``@digicatapult/dtdl-parser``), which must accept the export and refuse a
broken copy.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from simengine.cli import main
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import build, to_dict
from simengine.plant.dtdl import export_dtdl, plant_export
from simengine.plant.graph import Group, PlantGraph, plant_graph
from simengine.plant.store import read_graph, write_graph
from simengine.results.store import ReplicaResult, write_run

SUBSTATION = {"kind": "substation", "count": 1, "capacity": 0, "duty": {"kind": "none"},
              "downtime_eur_per_h": 50.0,
              "components": [{"name": "transformer", "life": {"kind": "exponential", "mean": 50000}}]}
CRANES = {"kind": "sts_crane", "count": 3, "capacity": 1.0, "duty": {"kind": "lifts"},
          "sensors": [{"name": "motor_temp", "observes": "temperature_C"}]}
PLANT = {"name": "mini_port", "costs": {"downtime_eur_per_h": 10.0},
         "groups": {"substation": SUBSTATION, "cranes": CRANES},
         "dependencies": [{"upstream": "substation", "downstream": "cranes"}]}
ONE_FLEET = {"name": "two_cranes", "fleet": {
    "kind": "sts_crane", "count": 2, "duty": {"kind": "lifts"},
    "sensors": [{"name": "boom_strain", "observes": "load_factor", "per_asset": 2, "gain": 743, "unit": "µε"},
                {"name": "boom_frequency", "observes": "natural_frequency_hz"}]}}


def scenario(data: dict) -> ScenarioConfig:
    return build(ScenarioConfig, data)


# --- the graph in HDF5 --------------------------------------------------------------------------------------

def test_the_graph_round_trips_through_a_run_file(tmp_path):
    plant = scenario(PLANT)
    graph = plant_graph(plant)
    # by hand: the substation is asset 0, the cranes 1-3, and it feeds each of them
    assert graph == PlantGraph((Group("substation", "none", "substation", 1, 0, 0.0),
                                Group("cranes", "crane", "sts_crane", 3, 1, 1.0)), ((0, 1), (0, 2), (0, 3)))
    path = tmp_path / "run.h5"
    with h5py.File(path, "w") as f:
        f.create_group("kpi")  # a run file's other groups stay as they are
        write_graph(f, graph, plant)
        write_graph(f, graph, plant)  # again, as a resumed run does: replaced, not refused
    assert read_graph(path) == graph
    with h5py.File(path, "r") as f:
        assert read_graph(f) == graph and "kpi" in f
        edges = f["plant/edges"]
        assert edges.shape == (3, 2) and edges.dtype.kind == "i"
        assert list(edges.attrs["columns"]) == ["upstream", "downstream"]
        stored = json.loads(f["plant"].attrs["graph_json"])
        assert stored["edges"] == [[0, 1], [0, 2], [0, 3]] and stored["n_assets"] == 4
        assert [g["name"] for g in stored["groups"]] == ["substation", "cranes"]
        assert list(f["plant/groups/downtime_eur_per_h"][()]) == [50.0, 10.0]  # its own; the scenario's costs
        assert list(f["plant/groups/label"].asstr()[()]) == ["substation", "sts_crane"]
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(path, group="plant/groups", engine="h5netcdf", phony_dims="sort") as table:
        assert table["count"].sel(name="cranes").item() == 3 and table["offset"].sel(name="cranes").item() == 1


def test_a_file_without_a_plant_has_no_graph_and_a_one_fleet_scenario_is_one_group(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.create_group("kpi")
    assert read_graph(path) is None
    graph = plant_graph(scenario(ONE_FLEET))
    with h5py.File(path, "a") as f:
        write_graph(f, graph)
    assert read_graph(path) == PlantGraph((Group("fleet", "crane", "sts_crane", 2, 0, 1.0),), ())


# --- DTDL v3's rules, as its specification states them --------------------------------------------------------

# DTMI spec, "Validation regular expressions": user DTMIs
USER_DTMI = (r"^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
             r"(?:;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?)?(?:#(?:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)?)?$")
# DTDL v3: "contains only alphanumerics and underscore, starting with a letter, ending with alphanumeric"
NAME = r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$"
CONTEXT_V3, QT = "dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"
# QuantitativeTypes v1: the semantic types used by simengine's quantities, with their units
QT_UNITS = {"Temperature": {"degreeCelsius", "degreeFahrenheit", "kelvin"},
            "Acceleration": {"centimetrePerSecondSquared", "gForce", "metrePerSecondSquared"},
            "Frequency": {"gigahertz", "hertz", "kilohertz", "megahertz", "millihertz"},
            "Length": {"centimetre", "metre", "micrometre", "millimetre", "kilometre"},
            "Mass": {"gram", "kilogram", "tonne"}, "Power": {"watt", "kilowatt", "megawatt"}}
PRIMITIVE = {"boolean", "date", "dateTime", "double", "duration", "float", "integer", "long", "string", "time"}
VALUE_TYPES = {"string": (str,), "integer": (int,), "long": (int,), "double": (float, int), "boolean": (bool,)}


def _types(element: dict) -> list[str]:
    t = element.get("@type")
    return t if isinstance(t, list) else [t]


def dtdl_problems(interfaces: list[dict], twins: list[dict], relationships: list[dict]) -> list[str]:
    """Every breach of DTDL v3's mechanically checkable rules, and of a twin graph's consistency."""
    import re

    problems = []
    by_id = {i.get("@id"): i for i in interfaces}
    if len(by_id) != len(interfaces):
        problems.append("two interfaces share an @id")

    def contents(dtmi: str, seen=()) -> list[dict]:  # own and inherited (extends)
        iface = by_id.get(dtmi)
        if iface is None or dtmi in seen:
            return []
        parents = iface.get("extends", [])
        parents = parents if isinstance(parents, list) else [parents]
        return [c for p in parents for c in contents(p, (*seen, dtmi))] + list(iface.get("contents", []))

    def extends(dtmi: str, ancestor: str) -> bool:
        if dtmi == ancestor:
            return True
        parents = by_id.get(dtmi, {}).get("extends", [])
        return any(extends(p, ancestor) for p in (parents if isinstance(parents, list) else [parents]))

    def check_element(element: dict, where: str, context: list) -> None:
        types = _types(element)
        if not re.match(NAME, str(element.get("name", ""))) or len(element["name"]) > 512:
            problems.append(f"{where}: name {element.get('name')!r} breaks the name rule")
        for text in ("comment", "description", "displayName"):
            if len(str(element.get(text, ""))) > 512:
                problems.append(f"{where}: {text} longer than 512 characters")
        for semantic in types[1:]:
            if QT not in context:
                problems.append(f"{where}: semantic type {semantic} without the QuantitativeTypes context")
            if element.get("unit") not in QT_UNITS.get(semantic, ()):
                problems.append(f"{where}: unit {element.get('unit')!r} is not a {semantic} unit")
            if element.get("schema") not in ("double", "float", "integer", "long"):
                problems.append(f"{where}: a semantic type needs a numeric schema")
        if len(types) == 1 and "unit" in element:
            problems.append(f"{where}: a unit without a semantic type")
        schema = element.get("schema")
        if isinstance(schema, dict):
            if schema.get("@type") != "Object":
                problems.append(f"{where}: schema {schema.get('@type')} not expected")
            fields = schema.get("fields", [])
            if len({f.get("name") for f in fields}) != len(fields):
                problems.append(f"{where}: two fields share a name")
            for f in fields:
                if _types(f)[0] != "Field":
                    problems.append(f"{where}: a field's @type is {_types(f)[0]}")
                check_element(f, f"{where}.{f.get('name')}", context)
        elif types[0] in ("Property", "Telemetry", "Field") and schema not in PRIMITIVE:
            problems.append(f"{where}: schema {schema!r} is not a primitive schema")

    for iface in interfaces:
        dtmi = str(iface.get("@id"))
        context = iface.get("@context")
        context = context if isinstance(context, list) else [context]
        if context[0] != CONTEXT_V3 or not set(context) <= {CONTEXT_V3, QT}:
            problems.append(f"{dtmi}: @context {context} is not DTDL v3's (first) and its extensions")
        if iface.get("@type") != "Interface":
            problems.append(f"{dtmi}: @type is {iface.get('@type')!r}")
        if not re.match(USER_DTMI, dtmi) or len(dtmi) > 128 or dtmi.startswith(("dtmi:dtdl:", "dtmi:standard:")):
            problems.append(f"{dtmi}: not a user DTMI an Interface may have")
        for parent in iface.get("extends", []) if isinstance(iface.get("extends"), list) else [iface.get("extends")]:
            if parent is not None and parent not in by_id:
                problems.append(f"{dtmi}: extends {parent}, which is not exported")
        names = [c.get("name") for c in contents(dtmi)]
        if len(set(names)) != len(names):
            problems.append(f"{dtmi}: contents share a name (with those inherited): {names}")
        for c in iface.get("contents", []):
            kind = _types(c)[0]
            if kind not in ("Property", "Telemetry", "Relationship", "Command", "Component"):
                problems.append(f"{dtmi}.{c.get('name')}: @type {kind}")
            check_element(c, f"{dtmi}.{c.get('name')}", context)
            if kind == "Relationship" and c.get("target") is not None and c["target"] not in by_id:
                problems.append(f"{dtmi}.{c['name']}: target {c['target']} is not exported")

    model = {}
    for twin in twins:
        tid, dtmi = twin.get("$dtId"), twin.get("$metadata", {}).get("$model")
        if tid in model:
            problems.append(f"twin {tid}: $dtId twice")
        model[tid] = dtmi
        if dtmi not in by_id:
            problems.append(f"twin {tid}: model {dtmi} is not exported")
            continue
        props = {c["name"]: c for c in contents(dtmi) if _types(c)[0] == "Property"}
        for key, value in twin.items():
            if key.startswith("$"):
                continue
            if key not in props:
                problems.append(f"twin {tid}: {key} is no Property of {dtmi}")
            elif isinstance(value, bool) != (props[key]["schema"] == "boolean") or \
                    not isinstance(value, VALUE_TYPES[props[key]["schema"]]):
                problems.append(f"twin {tid}: {key} = {value!r} is not a {props[key]['schema']}")
    seen = set()
    for rel in relationships:
        source, target, name = rel.get("$dtId"), rel.get("$targetId"), rel.get("$relationshipName")
        if (source, rel.get("$relationshipId")) in seen:
            problems.append(f"relationship {rel.get('$relationshipId')} of {source} twice")
        seen.add((source, rel.get("$relationshipId")))
        if source not in model or target not in model:
            problems.append(f"relationship {name} {source} -> {target}: a twin that does not exist")
            continue
        declared = [c for c in contents(model[source]) if _types(c)[0] == "Relationship" and c["name"] == name]
        if not declared:
            problems.append(f"relationship {name} of {source}: not a Relationship of {model[source]}")
        elif declared[0].get("target") and not extends(model[target], declared[0]["target"]):
            problems.append(f"relationship {name} {source} -> {target}: {model[target]} is not a "
                            f"{declared[0]['target']}")
    return problems


def read_import(path: Path) -> dict[str, list[dict]]:
    """The sections of an Import Jobs file, checking their order: Header (one line), Models, Twins, Relationships."""
    sections, current = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if set(item) == {"Section"}:
            current = item["Section"]
            assert current not in sections, f"section {current} twice"
            sections[current] = []
        else:
            assert current is not None, "an item before the Header section"
            sections[current].append(item)
    order = ["Header", "Models", "Twins", "Relationships"]
    assert list(sections) == [s for s in order if s in sections] and list(sections)[0] == "Header"
    assert len(sections["Header"]) == 1 and sections["Header"][0]["fileVersion"] == "1.0.0"
    return sections


def exported(tmp_path: Path, data: dict) -> tuple[list[dict], dict[str, list[dict]]]:
    sc = scenario(data)
    folder = tmp_path / sc.name
    folder.mkdir()
    paths = export_dtdl(plant_graph(sc), sc, folder)
    assert [p.name for p in paths] == ["models.json", "import.ndjson"]
    models = json.loads(paths[0].read_text(encoding="utf-8"))
    sections = read_import(paths[1])
    assert sections["Models"] == models
    return models, sections


def test_the_plant_export_keeps_dtdl_v3_rules_and_the_graph(tmp_path):
    models, sections = exported(tmp_path, PLANT)
    twins, rels = sections["Twins"], sections["Relationships"]
    assert dtdl_problems(models, twins, rels) == []
    ids = {m["@id"] for m in models}
    assert ids == {"dtmi:simengine:Asset;1", "dtmi:simengine:Plant;1", "dtmi:simengine:none:substation;1",
                   "dtmi:simengine:crane:sts_crane;1"}
    assert [t["$dtId"] for t in twins] == ["plant", "substation-0", "cranes-0", "cranes-1", "cranes-2"]
    feeds = sorted((r["$dtId"], r["$targetId"]) for r in rels if r["$relationshipName"] == "feeds")
    assert feeds == [("substation-0", "cranes-0"), ("substation-0", "cranes-1"), ("substation-0", "cranes-2")]
    contains = [r["$targetId"] for r in rels if r["$relationshipName"] == "contains"]
    assert all(r["$dtId"] == "plant" for r in rels if r["$relationshipName"] == "contains")
    assert contains == ["substation-0", "cranes-0", "cranes-1", "cranes-2"]
    crane = next(m for m in models if m["@id"] == "dtmi:simengine:crane:sts_crane;1")
    (temp,) = crane["contents"]
    assert temp["@type"] == ["Telemetry", "Temperature"] and temp["unit"] == "degreeCelsius"
    assert temp["name"] == "motor_temp" and temp["schema"] == "double"
    assert crane["@context"] == [CONTEXT_V3, QT]
    substation = next(t for t in twins if t["$dtId"] == "substation-0")
    assert (substation["capacity"], substation["downtime_eur_per_h"], substation["kind"]) == (0.0, 50.0, "none")
    assert next(t for t in twins if t["$dtId"] == "cranes-2")["downtime_eur_per_h"] == 10.0


def test_a_one_fleet_scenario_exports_its_sensor_channels_and_units_dtdl_knows(tmp_path):
    models, sections = exported(tmp_path, ONE_FLEET)
    assert dtdl_problems(models, sections["Twins"], sections["Relationships"]) == []
    crane = next(m for m in models if m["@id"] == "dtmi:simengine:crane:sts_crane;1")
    strain, freq = crane["contents"]
    assert strain["@type"] == "Telemetry" and [f["name"] for f in strain["schema"]["fields"]] == ["ch0", "ch1"]
    assert all(f["@type"] == "Field" and "unit" not in f for f in strain["schema"]["fields"])  # µε: none in DTDL
    assert "µε" in strain["description"]
    assert freq["@type"] == ["Telemetry", "Frequency"] and freq["unit"] == "hertz"
    assert [t["$dtId"] for t in sections["Twins"]] == ["plant", "fleet-0", "fleet-1"]
    assert all(r["$relationshipName"] == "contains" for r in sections["Relationships"])
    # a graph without its scenario (a run whose stored scenario this simengine no longer reads): no Telemetry
    bare = plant_export(plant_graph(scenario(ONE_FLEET)))
    assert dtdl_problems(bare.interfaces, bare.twins, bare.relationships) == []
    assert [c for i in bare.interfaces for c in i["contents"] if _types(c)[0] == "Telemetry"] == []


def broken_copies(models, twins, rels):
    """One deliberate mistake each, as (what, models, twins, relationships)."""
    def edit(fn):
        m, t, r = copy.deepcopy((models, twins, rels))
        fn(m, t, r)
        return m, t, r

    crane = next(i for i, m in enumerate(models) if "sts_crane" in m["@id"])
    return [
        ("a name ending in _", *edit(lambda m, t, r: m[crane]["contents"][0].update(name="motor_temp_"))),
        ("an upper-case DTMI scheme", *edit(lambda m, t, r: m[crane].update({"@id": "DTMI:simengine:x;1"}))),
        ("a version 0", *edit(lambda m, t, r: m[crane].update({"@id": "dtmi:simengine:x;0"}))),
        ("a unit of another type", *edit(lambda m, t, r: m[crane]["contents"][0].update(unit="hertz"))),
        ("a semantic type without its context", *edit(lambda m, t, r: m[crane].update({"@context": CONTEXT_V3}))),
        ("a name inherited twice", *edit(lambda m, t, r: m[crane]["contents"][0].update(name="capacity"))),
        ("a twin of a model not exported", *edit(lambda m, t, r: t[1]["$metadata"].update({"$model": "dtmi:a:b;1"}))),
        ("a relationship to no twin", *edit(lambda m, t, r: r[-1].update({"$targetId": "cranes-9"}))),
        ("a twin property of the wrong type", *edit(lambda m, t, r: t[1].update(index="0"))),
        ("a relationship its model lacks", *edit(lambda m, t, r: r[-1].update({"$relationshipName": "powers"}))),
    ]


def test_the_rules_check_catches_each_kind_of_mistake(tmp_path):
    models, sections = exported(tmp_path, PLANT)
    for what, m, t, r in broken_copies(models, sections["Twins"], sections["Relationships"]):
        assert dtdl_problems(m, t, r), f"not caught: {what}"


# --- Microsoft's DTDL parser, where it is installed -----------------------------------------------------------

PEERS = Path(__file__).parents[1] / "plc" / "peers" / "node_modules" / "@digicatapult" / "dtdl-parser"
PARSER = Path(os.environ.get("SIMENGINE_DTDL_PARSER", PEERS))
PARSE_ALL = """
const { parse, parserVersion } = await import(process.argv[1]);
const inputs = JSON.parse(require('fs').readFileSync(0, 'utf-8'));
const out = inputs.map((models) => {
  try { const entities = JSON.parse(parse(JSON.stringify(models)));
        return { ok: true, interfaces: Object.values(entities).filter((e) => e.EntityKind === 'Interface').length }; }
  catch (e) { return { ok: false, error: String(e).slice(0, 600) }; }
});
console.log(JSON.stringify({ version: parserVersion(), out }));
process.exit(0);  // the .NET runtime keeps a timer alive for seconds after the work is done
"""


@pytest.mark.skipif(not (PARSER / "build" / "interop" / "modelParser.js").is_file() or shutil.which("node") is None,
                    reason="Microsoft's DTDL parser is not installed: npm @digicatapult/dtdl-parser in "
                           "tests/plc/peers, or SIMENGINE_DTDL_PARSER=<its folder>, and node")
def test_microsofts_dtdl_parser_accepts_the_export_and_refuses_a_broken_copy(tmp_path):
    plant, plant_sections = exported(tmp_path, PLANT)
    one, _ = exported(tmp_path, ONE_FLEET)
    broken = broken_copies(plant, plant_sections["Twins"], plant_sections["Relationships"])[0][1]
    script = "const require = (await import('module')).createRequire(import.meta.url);\n" + PARSE_ALL
    done = subprocess.run(["node", "--input-type=module", "-e", script,
                           (PARSER / "build" / "interop" / "modelParser.js").as_uri()],
                          input=json.dumps([plant, one, broken]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"].startswith("DTDLParser")
    good_plant, good_one, bad = result["out"]
    assert good_plant == {"ok": True, "interfaces": 4}, good_plant
    assert good_one == {"ok": True, "interfaces": 3}, good_one
    assert not bad["ok"] and "motor_temp_" in bad["error"]


# --- the command ------------------------------------------------------------------------------------------------

def run_file(path: Path, sc: ScenarioConfig, with_graph: bool) -> Path:
    """A real run file as simengine writes one: provenance with the scenario, one replica, /plant."""
    events = np.zeros(0, dtype=[("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")])
    replica = ReplicaResult(0, 1, {"availability": 1.0}, events, np.array([0.0]), {}, {},
                            np.zeros(0, dtype=np.int64))
    write_run(path, config={"scenario": to_dict(sc), "run": {"replicas": 1}}, seed=0, replicas=[replica])
    if with_graph:
        with h5py.File(path, "a") as f:
            write_graph(f, plant_graph(sc), sc)
    return path


def published(out_dir: Path) -> tuple[list[dict], dict[str, list[dict]]]:
    (folder,) = [p for p in out_dir.iterdir()]
    assert folder.name.startswith("dtdl-") and not folder.name.startswith(".")
    return json.loads((folder / "models.json").read_text()), read_import(folder / "import.ndjson")


@pytest.mark.parametrize("with_graph", [True, False], ids=["its /plant", "a file before /plant"])
def test_dtdl_from_a_run_exports_the_plant_it_simulated(tmp_path, capsys, with_graph):
    sc = scenario(PLANT)
    path = run_file(tmp_path / "run.h5", sc, with_graph)
    out = tmp_path / "out"
    assert main(["dtdl", f"from={path}", f"out_dir={out}"]) == 0
    models, sections = published(out)
    expected = plant_export(plant_graph(sc), sc)
    assert models == expected.interfaces
    assert sections["Twins"] == expected.twins and sections["Relationships"] == expected.relationships
    assert "4 assets in 2 groups, 3 supply edges" in capsys.readouterr().out


def test_dtdl_of_a_scenario_and_its_mistakes(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["dtdl", "scenario=crane_fleet", "fleet.count=3", f"out_dir={out}"]) == 0
    models, sections = published(out)
    assert [t["$dtId"] for t in sections["Twins"]] == ["plant", "fleet-0", "fleet-1", "fleet-2"]
    assert dtdl_problems(models, sections["Twins"], sections["Relationships"]) == []
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert main(["dtdl", "crews.count=-1", f"out_dir={bad}"]) == 2
    assert main(["dtdl", f"from={tmp_path / 'none.h5'}", "crews.count=3", f"out_dir={bad}"]) == 2
    err = capsys.readouterr().err
    assert "crews.count = -1: must be >= 1" in err and "Traceback" not in err
    assert "drop crews.count" in err and "no such file" in err
    assert not bad.exists()  # nothing made


def test_a_dtdl_mistake_is_reported_before_any_heavy_import():
    from simengine.bench.cold_start import loaded_after

    seen = loaded_after(["dtdl", "crews.count=-1"])
    assert seen["code"] == 2 and "crews.count = -1" in seen["stderr"], seen["stderr"]
    assert seen["heavy"] == [], f"imported before the message: {seen['heavy']}"
