"""Sobol parameters as scenario fields: their dotted keys, their distributions, the variants they make.

A key names a numeric field of `ScenarioConfig`: ``crews.count``,
``policy.inspection.interval_h``, ``fleet.components.1.life.mean`` (or
``fleet.components[1].life.mean``; items of a list by index, of
``spares`` by name). Hydra splits dotted keys on the command line into
nested mappings, so `flatten` joins them again.

Integer fields (``crews.count``) are drawn on [lower - ½, upper + ½) and
rounded to the nearest integer, so each integer of [lower, upper] gets its
full share of a uniform draw, the end values included.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from simengine.config import ConfigError, Problem, build
from simengine.config.scenario import ScenarioConfig
from simengine.config.sensitivity import SobolParameter
from simengine.config.validate import unknown_rule



@dataclass(frozen=True)
class Parameter:
    """A Sobol parameter resolved against the scenario: its key, its path in the plain scenario, its kind."""

    name: str
    path: tuple[str | int, ...]
    spec: SobolParameter
    integer: bool

    def values(self, unit: np.ndarray) -> np.ndarray:
        """Points of the unit interval [0, 1) mapped to this parameter's values (the inverse CDF)."""
        from scipy import stats

        s = self.spec
        lo, hi = (s.lower - 0.5, s.upper + 0.5) if self.integer else (s.lower, s.upper)
        if s.dist == "uniform":
            x = lo + unit * (hi - lo)
        elif s.dist == "loguniform":
            lo = max(lo, s.lower / 2) if self.integer else lo  # keep it positive
            x = np.exp(np.log(lo) + unit * (np.log(hi) - np.log(lo)))
        elif s.dist == "triangular":
            x = stats.triang.ppf(unit, (s.mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        else:
            x = stats.truncnorm.ppf(unit, (lo - s.mean) / s.sd, (hi - s.mean) / s.sd, loc=s.mean, scale=s.sd)
        if self.integer:
            return np.clip(np.floor(x + 0.5), s.lower, s.upper)
        return np.clip(x, lo, hi)

    def describe(self) -> str:
        s = self.spec
        extra = (f", mode {s.mode:g}" if s.dist == "triangular" else
                 f", mean {s.mean:g}, sd {s.sd:g}" if s.dist == "truncnormal" else "")
        return f"{self.name} ~ {s.dist}[{s.lower:g}, {s.upper:g}]{extra}{' (integer, rounded)' if self.integer else ''}"


def flatten(raw) -> dict:
    """`parameters` as Hydra composes it (nested by the dots of the command line, or dotted YAML keys)
    -> {dotted key: spec mapping}. A key set to null (``parameters.crews.count=null``) is left out."""
    if not isinstance(raw, Mapping):
        return raw
    out: dict = {}

    def walk(node, prefix):
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if value is None:
                continue
            if isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values()):
                walk(value, name)  # a spec holds numbers and words only
            else:
                out[_normal_key(name)] = value

    walk(raw, "")
    return out


def _normal_key(name: str) -> str:
    """``fleet.components[1].life.mean`` and ``fleet.components.1.life.mean`` are one key: the dotted one."""
    return re.sub(r"\[(\d+)\]", r".\1", name)


def resolve(name: str, spec: SobolParameter, plain_scenario: Mapping) -> Parameter | Problem:
    """The parameter `name` as a numeric field of the scenario, or the Problem that says why it is not."""
    def problem(rule: str) -> Problem:
        return Problem(f"parameters.{name}", _plain_spec(spec), f"not a scenario field: {rule}")

    tp: typing.Any = ScenarioConfig
    node: typing.Any = plain_scenario
    path: list[str | int] = []
    for part in name.split("."):
        where = ".".join(map(str, path)) or "the scenario"
        tp = _strip_optional(tp)
        origin = typing.get_origin(tp)
        if dataclasses.is_dataclass(tp):
            fields = [f.name for f in dataclasses.fields(tp) if f.init]
            if part not in fields:
                return problem(f"{part!r} in {where}: {unknown_rule(part, fields)}")
            key: str | int = part
            tp = typing.get_type_hints(tp)[part]
            node = node.get(part) if isinstance(node, Mapping) else None
        elif origin in (tuple, list):
            items = node if isinstance(node, (list, tuple)) else []
            if not part.isdigit() or int(part) >= len(items):
                return problem(f"{where} is a list of {len(items)} item(s); name one by its index 0..{len(items) - 1}")
            key, tp, node = int(part), typing.get_args(tp)[0], items[int(part)]
        elif origin is dict:
            known = list(node) if isinstance(node, Mapping) else []
            if part not in known:
                return problem(f"no {part!r} in {where}; known: {', '.join(map(str, known)) or 'none'}")
            key, tp, node = part, typing.get_args(tp)[1], node[part]
        else:
            return problem(f"{where} is a number, it has no field {part!r}")
        path.append(key)
    tp = _strip_optional(tp)
    if tp not in (int, float):
        return Problem(f"parameters.{name}", _plain_spec(spec),
                       f"not a numeric scenario field ({_type_name(tp)}): a Sobol parameter ranges over numbers")
    if tp is int and not (float(spec.lower).is_integer() and float(spec.upper).is_integer()):
        return Problem(f"parameters.{name}", _plain_spec(spec), "an integer field: lower and upper must be integers")
    return Parameter(name, tuple(path), spec, tp is int)


def _strip_optional(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _plain_spec(spec: SobolParameter) -> dict:
    return {k: v for k, v in dataclasses.asdict(spec).items() if v is not None}


def with_values(plain_scenario: Mapping, params: list[Parameter], values) -> dict:
    """A deep copy of the plain scenario with each parameter set to its value (ints as ints)."""
    out = copy.deepcopy(dict(plain_scenario))
    for p, v in zip(params, values):
        value = int(v) if p.integer else float(v)
        node = out
        for i, key in enumerate(p.path[:-1]):
            nxt = node[key] if isinstance(node, list) else node.get(key)
            if nxt is None:  # a section the scenario file left to its defaults
                nxt = node[key] = {} if not isinstance(p.path[i + 1], int) else []
            node = nxt
        node[p.path[-1]] = value
    return out


def scenario_at(plain_scenario: Mapping, params: list[Parameter], values, where: str) -> ScenarioConfig:
    """The scenario with the parameters at `values`; a ConfigError saying `where` if it is not valid."""
    try:
        return build(ScenarioConfig, with_values(plain_scenario, params, values))
    except ConfigError as err:
        raise ConfigError([Problem(p.field, p.value, f"{p.rule} ({where})") for p in err.problems]) from None


def bound_problems(plain_scenario: Mapping, params: list[Parameter]) -> list[Problem]:
    """Each parameter at its lower and at its upper bound, the others at the scenario's values:
    a bound the scenario refuses is the parameter's problem, named as such."""
    problems = []
    for p in params:
        for end in ("lower", "upper"):
            value = getattr(p.spec, end)
            value = int(value) if p.integer else value
            try:
                build(ScenarioConfig, with_values(plain_scenario, [p], [value]))
            except ConfigError as err:
                problems.append(Problem(f"parameters.{p.name}.{end}", value,
                                        "the scenario refuses it: " + "; ".join(f"{q.field} = {q.value!r}: {q.rule}"
                                                                                for q in err.problems)))
    return problems


def unit_hypercube_problem(names: list[str]) -> dict:
    """SALib's problem over [0, 1)^D: distributions are applied afterwards, by `Parameter.values`."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}

