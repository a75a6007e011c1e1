"""Decision variables: where each sits in the scenario, what values it may take, and the scenario of a setting.

A variable is a scenario key, dotted (``policy.inspection.interval_h``); an
item of a list is named by its index or by its ``name``
(``fleet.sensors.boom_frequency.alarm.level`` or ``fleet.sensors[0].alarm.level``).
Its type is the scenario field's: an integer field (``crews.count``) is
searched over integers, a float field over floats.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass

from simengine.config import ConfigError, Problem, build, to_dict
from simengine.config.optimize import Variable
from simengine.config.scenario import ScenarioConfig

_RANGE_KEYS = {"low", "high", "step", "log", "choices"}
_PART = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def flatten_variables(raw) -> object:
    """A variables mapping written nested (``crews: {count: {low: 1, high: 4}}``) as dotted keys;
    a node whose keys are all range keys (low, high, step, log, choices) is a variable."""
    if not isinstance(raw, Mapping):
        return raw
    flat = {}
    for key, node in raw.items():
        if isinstance(node, Mapping) and node and not set(node) <= _RANGE_KEYS:
            for sub, leaf in flatten_variables(node).items():
                flat[f"{key}.{sub}"] = leaf
        else:
            flat[str(key)] = node
    return flat


@dataclass(frozen=True)
class Decision:
    """One decision variable, resolved: its key, its path in the scenario's plain data, its type and range."""

    key: str
    path: tuple[str | int, ...]
    integer: bool
    range: Variable

    def suggest(self, trial):
        """The value an Optuna trial proposes."""
        r = self.range
        if r.choices is not None:
            values = [int(c) if self.integer else float(c) for c in r.choices]
            return trial.suggest_categorical(self.key, values)
        if self.integer:
            return trial.suggest_int(self.key, int(r.low), int(r.high), step=int(r.step or 1), log=r.log)
        return trial.suggest_float(self.key, r.low, r.high, step=r.step, log=r.log)

    @property
    def log_scale(self) -> bool:
        return self.range.log


class Space:
    """The decision variables over a base scenario; `scenario(setting)` builds the scenario of one setting."""

    def __init__(self, base: ScenarioConfig, variables: dict[str, Variable]):
        self.base_plain = to_dict(base)
        problems: list[Problem] = []
        self.decisions: list[Decision] = []
        for key, rng in variables.items():
            decision = _resolve(key, rng, self.base_plain, problems)
            if decision is not None:
                self.decisions.append(decision)
        if not problems:
            problems += self._ends_build()
        if problems:
            raise ConfigError(problems)

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.decisions]

    def base_value(self, decision: Decision):
        node = self.base_plain
        for part in decision.path:
            node = node[part]
        return node

    def scenario(self, setting: dict[str, float]) -> ScenarioConfig:
        """The base scenario with each variable set as `setting` says."""
        plain = copy.deepcopy(self.base_plain)
        for d in self.decisions:
            node = plain
            for part in d.path[:-1]:
                node = node[part]
            node[d.path[-1]] = setting[d.key]
        return build(ScenarioConfig, plain)

    def _ends_build(self) -> list[Problem]:
        """Each end of each range must give a valid scenario (the others at their base values):
        an interval shorter than an inspection's duration is refused now, not in trial 17."""
        problems = []
        for d in self.decisions:
            r = d.range
            ends = (("choices", c) for c in r.choices) if r.choices is not None else (("low", r.low), ("high", r.high))
            for name, value in ends:
                setting = {e.key: self.base_value(e) for e in self.decisions}
                setting[d.key] = int(value) if d.integer else float(value)
                try:
                    self.scenario(setting)
                except ConfigError as err:
                    rules = "; ".join(str(p) for p in err.problems)
                    problems.append(Problem(f"variables.{d.key}.{name}", value, f"gives an invalid scenario: {rules}"))
        return problems


def _resolve(key: str, rng: Variable, plain: dict, problems: list[Problem]) -> Decision | None:
    where = f"variables.{key}"
    parts = _split(key)
    if parts is None:
        problems.append(Problem(where, key, "not a scenario key: expected dotted names, list items as [i] or by name"))
        return None
    tp, node, path = ScenarioConfig, plain, []
    for k, part in enumerate(parts):
        tp = _unwrap_optional(tp)
        done = ".".join(map(str, path)) or "the scenario"
        if dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp) if f.init]
            if not isinstance(part, str) or part not in names:
                problems.append(Problem(where, key, f"not in the scenario: {done} has no field {part!r}; "
                                                    f"its fields: {', '.join(names)}"))
                return None
            tp, node = typing.get_type_hints(tp)[part], node[part]
            path.append(part)
        elif typing.get_origin(tp) in (tuple, list) and isinstance(node, list):
            index = part if isinstance(part, int) else _index_by_name(node, part)
            if index is None or not 0 <= index < len(node):
                known = ", ".join(str(item.get("name", i)) if isinstance(item, dict) else str(i)
                                  for i, item in enumerate(node))
                problems.append(Problem(where, key, f"not in the scenario: {done} has no item {part!r}; "
                                                    f"its items: {known or 'none'}"))
                return None
            tp, node = typing.get_args(tp)[0], node[index]
            path.append(index)
        elif typing.get_origin(tp) is dict and isinstance(node, dict) and isinstance(part, str) and part in node:
            tp, node = typing.get_args(tp)[1], node[part]
            path.append(part)
        else:
            problems.append(Problem(where, key, f"not in the scenario: {done} has no {part!r}"))
            return None
        if node is None and k < len(parts) - 1:
            problems.append(Problem(where, key, f"not in the scenario: {'.'.join(map(str, path))} is not set (null)"))
            return None
    tp = _unwrap_optional(tp)
    if tp not in (int, float):
        problems.append(Problem(where, key, f"a decision variable must be a number; this field holds {_name(tp)}"))
        return None
    if tp is int:
        integral = [(n, v) for n, v in (("low", rng.low), ("high", rng.high), ("step", rng.step))
                    if v is not None and not float(v).is_integer()]
        integral += [("choices", c) for c in rng.choices or () if not float(c).is_integer()]
        if integral:
            problems.append(Problem(f"{where}.{integral[0][0]}", integral[0][1], "must be an integer: the field is"))
            return None
    return Decision(key, tuple(path), tp is int, rng)


def _split(key: str) -> list[str | int] | None:
    parts: list[str | int] = []
    for text in key.split("."):
        match = _PART.match(text)
        if match is None:
            return None
        parts.append(int(match.group(1)) if match.group(1).isdigit() else match.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return parts


def _index_by_name(items: list, name: str) -> int | None:
    return next((i for i, item in enumerate(items) if isinstance(item, dict) and item.get("name") == name), None)


def _unwrap_optional(tp):
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp)


def setting_label(decisions: list[Decision], setting: dict) -> str:
    return ", ".join(f"{d.key}={format_value(setting[d.key])}" for d in decisions)


def format_value(value) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)


def path_problems(base: ScenarioConfig, keys) -> list[Problem]:
    """Which of `keys` name no numeric field of `base` (for a configuration whose ranges are themselves wrong)."""
    plain, problems = to_dict(base), []
    for key in keys:
        _resolve(str(key), Variable(low=0.0, high=1.0), plain, problems)
    return problems
