"""Tag maps: which PLC register or node holds which quantity of which asset.

A tag map is YAML (see ``conf/tagmap/crane_demo.yaml``) validated into a
`TagMap`; a bad map is rejected with every problem listed at once (duplicate
names or addresses, overlapping registers, unknown types, ...).

Engineering value = raw value · scale + offset, in the tag's `unit`.
Modbus holds 16-bit registers: int32/uint32/float32 take two, float64 four;
`word_order` "big" puts the most significant word first (the Modbus
convention; many PLCs use "little"). The twin only reads unless a tag's
access is "read_write" *and* writes are enabled for the connection.

A tag's `quantity` is an observable quantity (`simengine.kinds.quantities`) or
one of the PLC's own words below: its scan clock and its integrating counters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from simengine.config.validate import ConfigError, Problem, build, spec

DTYPES = ("int16", "uint16", "int32", "uint32", "float32", "float64")
REGISTER_WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
MODBUS_MAX_ADDRESS = 65535
CLOCK = "clock_s"  # the PLC's time of each scan, s
LOAD_COUNTER = "load_time_s"  # the load factor integrated over time, rated-load seconds (a load-spectrum recorder)


@dataclass(frozen=True)
class ModbusPoint:
    address: int = spec(ge=0, le=MODBUS_MAX_ADDRESS, doc="0-based register address")
    register: str = spec("holding", choices=("holding", "input"))
    word_order: str = spec("big", choices=("big", "little"))


@dataclass(frozen=True)
class OpcUaPoint:
    node_id: str = spec(doc='e.g. "ns=2;s=crane07.boom.strain"')


@dataclass(frozen=True)
class Tag:
    name: str = spec()
    quantity: str = spec(doc="what the value is, e.g. vibration_rms or temperature_C")
    asset: int = spec(0, ge=0)
    unit: str = spec("1")
    dtype: str = spec("float32", choices=DTYPES)
    scale: float = spec(1.0)
    offset: float = spec(0.0)
    access: str = spec("read", choices=("read", "read_write"))
    valid_min: float | None = spec(None, doc="engineering values below are flagged bad")
    valid_max: float | None = spec(None)
    stale_after_s: float | None = spec(None, gt=0.0, doc="a value unchanged this long is flagged stale")
    modbus: ModbusPoint | None = spec(None)
    opcua: OpcUaPoint | None = spec(None)

    def check(self):
        problems = []
        if self.modbus is None and self.opcua is None:
            problems.append(("", self.name, "needs a modbus address or an opcua node_id"))
        if not self.name.strip():
            problems.append(("name", self.name, "must not be empty"))
        if self.scale == 0 or not math.isfinite(self.scale):
            problems.append(("scale", self.scale, "must be finite and non-zero"))
        if not math.isfinite(self.offset):
            problems.append(("offset", self.offset, "must be finite"))
        if self.valid_min is not None and self.valid_max is not None and not self.valid_min < self.valid_max:
            problems.append(("valid_min", self.valid_min, f"must be below valid_max ({self.valid_max})"))
        if self.modbus is not None and self.modbus.address + REGISTER_WIDTH[self.dtype] - 1 > MODBUS_MAX_ADDRESS:
            problems.append(("modbus.address", self.modbus.address, f"a {self.dtype} needs {REGISTER_WIDTH[self.dtype]} registers below 65536"))
        return problems


@dataclass(frozen=True)
class Endpoint:
    host: str = spec("127.0.0.1", doc="PLC address; loopback by default")
    modbus_port: int = spec(5020, ge=1, le=65535)
    device_id: int = spec(1, ge=0, le=255, doc="Modbus unit / device id")
    opcua_url: str = spec("opc.tcp://127.0.0.1:4840/simengine/")

    def check(self):
        if not self.opcua_url.startswith("opc.tcp://"):
            return [("opcua_url", self.opcua_url, "must start with opc.tcp://")]
        return []


@dataclass(frozen=True)
class TagMap:
    name: str = spec("tags")
    endpoint: Endpoint = spec(default_factory=Endpoint)
    tags: tuple[Tag, ...] = spec(default_factory=tuple)

    def check(self):
        empty = [("tags", [], "a tag map needs at least one tag")] if not self.tags else []
        return empty + _duplicate_names(self.tags) + _modbus_overlaps(self.tags) + _duplicate_nodes(self.tags)

    def by_name(self, name: str) -> Tag:
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise KeyError(f"tag {name!r} is not in tag map {self.name!r}")

    @property
    def modbus_tags(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.modbus is not None)

    @property
    def opcua_tags(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.opcua is not None)


def _duplicate_names(tags) -> list[tuple[str, object, str]]:
    seen: dict[str, int] = {}
    problems = []
    for i, tag in enumerate(tags):
        if tag.name in seen:
            problems.append((f"tags[{i}].name", tag.name, f"duplicate; also tags[{seen[tag.name]}]"))
        seen.setdefault(tag.name, i)
    return problems


def _modbus_overlaps(tags) -> list[tuple[str, object, str]]:
    owner: dict[tuple[str, int], int] = {}
    problems = []
    for i, tag in enumerate(tags):
        if tag.modbus is None:
            continue
        for reg in range(tag.modbus.address, tag.modbus.address + REGISTER_WIDTH[tag.dtype]):
            key = (tag.modbus.register, reg)
            if key in owner:
                j = owner[key]
                problems.append((f"tags[{i}].modbus.address", tag.modbus.address,
                                 f"{tag.modbus.register} register {reg} is also used by tags[{j}] ({tags[j].name})"))
                break
            owner[key] = i
    return problems


def _duplicate_nodes(tags) -> list[tuple[str, object, str]]:
    seen: dict[str, int] = {}
    problems = []
    for i, tag in enumerate(tags):
        if tag.opcua is None:
            continue
        if tag.opcua.node_id in seen:
            problems.append((f"tags[{i}].opcua.node_id", tag.opcua.node_id, f"duplicate; also tags[{seen[tag.opcua.node_id]}]"))
        seen.setdefault(tag.opcua.node_id, i)
    return problems


def load_tagmap(path: str | Path, field: str = "tagmap") -> TagMap:
    """Read and validate a tag map YAML file; raises ConfigError listing every problem (`field`
    names the file in the message when it cannot be read, is not YAML, or is empty)."""
    try:
        data = OmegaConf.to_container(OmegaConf.load(Path(path)), resolve=True)
    except OSError as err:
        raise ConfigError([Problem(field, str(path), f"cannot be read: {err.strerror or err}")]) from None
    except Exception as err:  # yaml's and OmegaConf's parse errors share no base class but Exception
        raise ConfigError([Problem(field, str(path), f"is not valid YAML: {_yaml_problem(err)}")]) from None
    if not isinstance(data, dict) or not data:
        raise ConfigError([Problem(field, str(path), "is empty or not a mapping: a tag map needs name, endpoint "
                                                     "and a list of tags (see conf/tagmap/crane_demo.yaml)")])
    return tagmap_from_dict(data)


def _yaml_problem(err: Exception) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem


def tagmap_from_dict(data: dict) -> TagMap:
    """Validate plain data into a `TagMap`. Map-wide rules (duplicates, overlaps) are also
    checked on the raw data, so they are listed even when some tag has other problems."""
    try:
        return build(TagMap, data)
    except ConfigError as err:
        known = {(p.field, p.rule) for p in err.problems}
        extra = [Problem(f, v, r) for f, v, r in _raw_map_problems(data) if (f, r) not in known]
        raise ConfigError(err.problems + extra) from None


def _raw_map_problems(data) -> list[tuple[str, object, str]]:
    """Duplicates and overlaps among the raw tags that are well-formed enough to tell."""
    raw = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(raw, (list, tuple)):
        return []
    shaped = []
    for t in raw:
        if not isinstance(t, dict):
            continue
        modbus = t.get("modbus") if isinstance(t.get("modbus"), dict) else None
        opcua = t.get("opcua") if isinstance(t.get("opcua"), dict) else None
        address = modbus.get("address") if modbus else None
        shaped.append(_RawTag(
            name=t.get("name"), dtype=t.get("dtype", "float32") if t.get("dtype") in DTYPES else "int16",
            modbus=ModbusPoint(address, modbus.get("register", "holding")) if isinstance(address, int) else None,
            opcua=OpcUaPoint(opcua["node_id"]) if opcua and isinstance(opcua.get("node_id"), str) else None))
    return _duplicate_names(shaped) + _modbus_overlaps(shaped) + _duplicate_nodes(shaped)


@dataclass(frozen=True)
class _RawTag:
    name: object
    dtype: str
    modbus: ModbusPoint | None
    opcua: OpcUaPoint | None
