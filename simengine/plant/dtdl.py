"""The plant as DTDL v3 models, twins and relationships, for Azure Digital Twins.

Interfaces (DTDL v3, https://azure.github.io/opendigitaltwins-dtdl/DTDL/v3/DTDL.v3.html):

- ``dtmi:simengine:Asset;1``: what every asset has: its group, index, kind,
  label, capacity and downtime cost as Properties, and the Relationship
  ``feeds`` to the assets it feeds (target: any Asset).
- ``dtmi:simengine:<kind>:<label>;1``, one per asset kind and label in the
  plant (``dtmi:simengine:crane:sts_crane;1``): extends Asset, with one
  Telemetry per sensor of its groups. A sensor with several channels per
  asset is an Object with one field per channel (``ch0``, ``ch1``, ...), in the
  order of the virtual PLC's tags ``<label>NN.<sensor>.<k>``. A unit DTDL's
  QuantitativeTypes extension knows (degC -> Temperature/degreeCelsius) becomes
  its semantic type and unit; any other (µε, t of load, a fraction) is said in
  the description, as DTDL v3 has no free-text unit.
- ``dtmi:simengine:Plant;1``: the plant, with the Relationship ``contains`` to
  its assets.

Twins: ``plant`` and one per asset, ``<group>-<i>`` (``cranes-0``), with their
Properties set; relationships: ``contains`` from the plant to every asset and
``feeds`` along every edge of the plant graph.

Files: ``models.json`` (a JSON array of the interfaces: ``az dt model create
--models models.json``, or the Azure Digital Twins Explorer's model upload) and
``import.ndjson`` (the Import Jobs format: a Header section, then Models, Twins
and Relationships, one JSON object a line).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from simengine.kinds.quantities import CATALOGUE, UNITS
from simengine.plant.graph import PlantGraph

CONTEXT = "dtmi:dtdl:context;3"
QUANTITATIVE_TYPES = "dtmi:dtdl:extension:quantitativeTypes;1"
ASSET = "dtmi:simengine:Asset;1"
PLANT = "dtmi:simengine:Plant;1"
PLANT_TWIN = "plant"
FEEDS, CONTAINS = "feeds", "contains"
MODELS_FILE, IMPORT_FILE = "models.json", "import.ndjson"

# simengine's unit strings -> (semantic type, unit) of DTDL v3's QuantitativeTypes extension v1
SEMANTIC_UNITS: dict[str, tuple[str, str]] = {
    "m/s2": ("Acceleration", "metrePerSecondSquared"), "m/s^2": ("Acceleration", "metrePerSecondSquared"),
    "Hz": ("Frequency", "hertz"), "kHz": ("Frequency", "kilohertz"),
    "degC": ("Temperature", "degreeCelsius"), "°C": ("Temperature", "degreeCelsius"),
    "K": ("Temperature", "kelvin"), "degF": ("Temperature", "degreeFahrenheit"),
    "m": ("Length", "metre"), "mm": ("Length", "millimetre"), "um": ("Length", "micrometre"),
    "µm": ("Length", "micrometre"), "cm": ("Length", "centimetre"),
    "m/s": ("Velocity", "metrePerSecond"),
    "W": ("Power", "watt"), "kW": ("Power", "kilowatt"), "MW": ("Power", "megawatt"),
    "kg": ("Mass", "kilogram"), "t": ("Mass", "tonne"),
    "N": ("Force", "newton"), "Pa": ("Pressure", "pascal"), "kPa": ("Pressure", "kilopascal"),
    "bar": ("Pressure", "bar"), "A": ("Current", "ampere"), "V": ("Voltage", "volt"),
    "rpm": ("AngularVelocity", "revolutionPerMinute"),
}  # not "%": a percentage of what (humidity, load) is not known from the unit alone

TEXT_MAX = 512  # characters of a DTDL comment, description or displayName
INTERFACE_ID_MAX = 128  # characters of an Interface's DTMI
_SEGMENT_MAX = 35  # characters of one path segment we make: "dtmi:simengine:" and three of them fit in 128
_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")

ASSET_PROPERTIES = (
    ("group", "string", "the asset group in the simengine scenario"),
    ("index", "integer", "the asset's index in its group"),
    ("plant_index", "integer", "the asset's number in the plant, group after group"),
    ("kind", "string", "the simengine asset kind: what loads and ages the asset (crane, wind, conveyor, none)"),
    ("label", "string", "what the asset is (sts_crane, turbine, substation)"),
    ("capacity", "double", "production of the asset while it produces, in the scenario's unit (e.g. MW); "
                           "0 for an asset that only enables others"),
    ("downtime_eur_per_h", "double", "cost of an hour in which the asset does not produce, EUR/h"),
)
PLANT_PROPERTIES = (
    ("scenario", "string", "the simengine scenario the plant comes from"),
    ("asset_count", "integer", "assets in the plant"),
)


@dataclass(frozen=True)
class DtdlExport:
    """The plant as Azure Digital Twins sees it: interfaces, twins and relationships (plain JSON data)."""

    interfaces: list[dict]
    twins: list[dict]
    relationships: list[dict]


def segment(text: str, limit: int = _SEGMENT_MAX) -> str:
    """`text` as a user segment of a DTMI, or a DTDL name: letters, digits and _, starting with a letter,
    not ending with _, at most `limit` characters."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(text)).strip("_")
    s = s if s[:1].isalpha() else f"x{s}" if s else "x"
    return s[:limit].rstrip("_")


def twin_id(graph: PlantGraph, asset: int) -> str:
    g = graph.group_of(asset)
    return f"{g.name}-{asset - g.offset}"


def plant_export(graph: PlantGraph, scenario=None) -> DtdlExport:
    """The interfaces, twins and relationships of `graph`. `scenario` (a ScenarioConfig; optional) brings
    the sensors (Telemetry), the downtime costs and the plant's name."""
    fleets = scenario.asset_groups() if scenario is not None else {}
    asset_ifaces, model_of = _asset_interfaces(graph, fleets)
    interfaces = [_asset_interface(), *asset_ifaces, _plant_interface()]
    twins, relationships = _twins(graph, scenario, model_of), _relationships(graph)
    return DtdlExport(interfaces, twins, relationships)


def export_dtdl(graph: PlantGraph, scenario, folder: str | Path) -> list[Path]:
    """Write ``models.json`` and ``import.ndjson`` of the plant into `folder` (which exists); returns them."""
    return write_export(plant_export(graph, scenario), folder)


def write_export(export: DtdlExport, folder: str | Path) -> list[Path]:
    """`export` as ``models.json`` and ``import.ndjson`` in `folder` (which exists); returns them."""
    folder = Path(folder)
    models = folder / MODELS_FILE
    models.write_text(json.dumps(export.interfaces, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    bulk = folder / IMPORT_FILE
    with open(bulk, "w", encoding="utf-8") as fh:
        for line in import_lines(export, author=f"simengine {_version()}"):
            fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return [models, bulk]


def import_lines(export: DtdlExport, author: str = "simengine"):
    """The Import Jobs file, line by line: the Header section and its line, then each section's head and items."""
    yield {"Section": "Header"}
    yield {"fileVersion": "1.0.0", "author": author, "organization": "simengine"}
    for section, items in (("Models", export.interfaces), ("Twins", export.twins),
                           ("Relationships", export.relationships)):
        if items:
            yield {"Section": section}
            yield from items


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simengine")
    except PackageNotFoundError:
        return "(not installed)"


# --- interfaces -----------------------------------------------------------------------------------------------

def _property(name: str, schema: str, doc: str) -> dict:
    return {"@type": "Property", "name": name, "schema": schema, "description": _text(doc)}


def _text(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def _asset_interface() -> dict:
    return {
        "@context": CONTEXT, "@id": ASSET, "@type": "Interface", "displayName": "simengine asset",
        "description": "An asset of a plant simulated by simengine",
        "contents": [*(_property(*p) for p in ASSET_PROPERTIES),
                     {"@type": "Relationship", "name": FEEDS, "target": ASSET,
                      "description": "assets this one feeds: each produces only while every asset feeding it does"}],
    }


def _plant_interface() -> dict:
    return {
        "@context": CONTEXT, "@id": PLANT, "@type": "Interface", "displayName": "simengine plant",
        "description": "A plant simulated by simengine: its asset groups and which assets feed which",
        "contents": [*(_property(*p) for p in PLANT_PROPERTIES),
                     {"@type": "Relationship", "name": CONTAINS, "target": ASSET, "description": "the plant's assets"}],
    }


def _asset_interfaces(graph: PlantGraph, fleets: dict) -> tuple[list[dict], dict[str, str]]:
    """One interface per asset kind and label (their groups' sensors together); a group whose sensor of the
    same name differs gets one of its own (``...:<label>:<group>;1``). Also: group name -> its interface."""
    made: dict[str, dict] = {}
    model_of: dict[str, str] = {}
    for g in graph.groups:
        telemetry = _telemetry(fleets.get(g.name), g.label)
        base = f"dtmi:simengine:{segment(g.kind)}:{segment(g.label)}"
        dtmi = f"{base};1"
        if dtmi in made and not _compatible(made[dtmi], telemetry):
            dtmi = f"{base}:{segment(g.name)};1"
        iface = made.setdefault(dtmi, {
            "@context": CONTEXT, "@id": dtmi, "@type": "Interface", "displayName": _text(g.label),
            "description": _text(f"{g.label}: a simengine asset of kind {g.kind}"),
            "extends": ASSET, "contents": []})
        have = {c["name"] for c in iface["contents"]}
        iface["contents"] += [t for t in telemetry if t["name"] not in have]
        if any(_semantic(t) for t in iface["contents"]):
            iface["@context"] = [CONTEXT, QUANTITATIVE_TYPES]
        model_of[g.name] = dtmi
    return list(made.values()), model_of


def _compatible(iface: dict, telemetry: list[dict]) -> bool:
    have = {c["name"]: c for c in iface["contents"]}
    return all(have.get(t["name"], t) == t for t in telemetry)


def _semantic(element: dict) -> bool:
    kinds = element["@type"] if isinstance(element["@type"], list) else [element["@type"]]
    fields = element["schema"].get("fields", []) if isinstance(element["schema"], dict) else []
    return len(kinds) > 1 or any(_semantic(f) for f in fields)


def _telemetry(fleet, label: str) -> list[dict]:
    """One Telemetry per sensor of `fleet` (none without a fleet): named for the sensor (unique, and apart from
    the Asset properties), its unit as a semantic type where DTDL has one."""
    if fleet is None:
        return []
    taken = {name for name, _, _ in ASSET_PROPERTIES} | {FEEDS}
    out = []
    for sensor in fleet.sensors:
        name = segment(sensor.name, limit=TEXT_MAX - 8)  # room for a suffix that makes it unique
        while name in taken:
            name = f"{name}_{len(taken)}"
        taken.add(name)
        unit = sensor.unit or UNITS[sensor.observes]
        quantity = CATALOGUE[sensor.observes]
        channels = sensor.per_asset
        doc = (f"{sensor.name}: {quantity.name} ({quantity.doc}) in {unit}"
               + (f", {channels} channels (PLC tags {label}NN.{sensor.name}.0..{channels - 1})" if channels > 1
                  else f" (PLC tag {label}NN.{sensor.name}.0)"))
        if channels == 1:
            out.append({**_typed("Telemetry", unit), "name": name, "schema": "double", "description": _text(doc)})
        else:
            fields = [{**_typed("Field", unit), "name": f"ch{k}", "schema": "double"} for k in range(channels)]
            out.append({"@type": "Telemetry", "name": name, "schema": {"@type": "Object", "fields": fields},
                        "description": _text(doc)})
    return out


def _typed(kind: str, unit: str) -> dict:
    """`kind` ("Telemetry", "Field") co-typed with the unit's semantic type, or alone where DTDL has none."""
    if unit in SEMANTIC_UNITS:
        semantic, dtdl_unit = SEMANTIC_UNITS[unit]
        return {"@type": [kind, semantic], "unit": dtdl_unit}
    return {"@type": kind}


# --- twins and relationships ----------------------------------------------------------------------------------

def _twins(graph: PlantGraph, scenario, model_of: dict[str, str]) -> list[dict]:
    from simengine.plant.store import downtime_costs

    downtime = downtime_costs(graph, scenario) if scenario is not None else [None] * len(graph.groups)
    plant = {"$dtId": PLANT_TWIN, "$metadata": {"$model": PLANT}, "asset_count": graph.n_assets}
    if scenario is not None:
        plant["scenario"] = scenario.name
    twins = [plant]
    for g, cost in zip(graph.groups, downtime):
        for i in range(g.count):
            twin = {"$dtId": f"{g.name}-{i}", "$metadata": {"$model": model_of[g.name]}, "group": g.name,
                    "index": i, "plant_index": g.offset + i, "kind": g.kind, "label": g.label,
                    "capacity": float(g.capacity)}
            if cost is not None:
                twin["downtime_eur_per_h"] = cost
            twins.append(twin)
    return twins


def _relationships(graph: PlantGraph) -> list[dict]:
    out = []
    for asset in range(graph.n_assets):
        target = twin_id(graph, asset)
        out.append({"$dtId": PLANT_TWIN, "$relationshipId": f"{CONTAINS}-{target}", "$targetId": target,
                    "$relationshipName": CONTAINS})
    for u, d in graph.edges:
        source, target = twin_id(graph, u), twin_id(graph, d)
        out.append({"$dtId": source, "$relationshipId": f"{FEEDS}-{target}", "$targetId": target,
                    "$relationshipName": FEEDS})
    return out
