"""Build typed, frozen configuration dataclasses from plain data, listing every problem.

A schema is a frozen dataclass whose fields carry bounds, choices and docs via
:func:`spec`. :func:`build` converts the plain data of
``OmegaConf.to_container(resolve=True)`` and raises one :class:`ConfigError`
listing every problem in document order. Conversion rules:

- ``int`` takes ints and integral floats (``3.0`` -> ``3``, as YAML arithmetic
  yields floats), never bools; ``float`` takes ints and floats, never bools or
  strings, nor NaN unless ``spec(allow_nan=True)``; infinities are left to the
  bounds. ``str`` and ``bool`` take only their own type.
- ``tuple[X, ...]``, ``tuple[X, Y]`` and ``list[X]`` take lists or tuples and build
  the annotated container (declare tuples to keep a config hashable); also
  ``dict[str, X]``, ``Literal[...]``, ``X | None`` and nested dataclasses. ``Any`` takes
  plain data as it is, for a part whose schema only a plugin knows (it checks it itself).
- A field's bounds and choices apply to every scalar inside it.
- An absent key takes the field's default (defaults are trusted); an absent
  nested dataclass without one is built from ``{}``.
- Cross-field rules: an optional ``check(self)`` returning ``(relative_field,
  value, rule)`` triples, run only once every field passed; a ``ValueError``
  from ``__post_init__`` is reported as a problem too.
- Tagged unions: a schema with a :func:`tagged` field reads one flat mapping, its tag
  and the keys beside it (``{kind: wind, mean_wind_m_s: 9}``). The tag's value picks the
  variant's schema through a resolver function, so variants a plugin defines work as
  well as built-in ones; the keys beside the tag build it, at the mapping's own path
  (``fleet.duty.mean_wind_m_s``), into the tagged field. :func:`to_dict` writes it flat again.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import operator
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""Marks a value that is absent: a required field's, or a spec without default."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """An offending value, its dotted path (``assets[0].duty.rate_per_h``) and the rule."""

    field: str
    value: object
    rule: str

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.rule}"


class ConfigError(ValueError):
    """Every problem found in one configuration, in document order."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(list(problems))
        self.problems: list[Problem] = list(problems)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'' if n == 1 else 's'} in the configuration:"
        return "\n  - ".join([head, *map(str, self.problems)])


def spec(default: Any = MISSING, *, default_factory: Any = MISSING, ge=None, gt=None,
         le=None, lt=None, choices=None, allow_nan: bool = False, doc: str = "") -> Any:
    """A dataclass field with bounds, choices and a one-line doc for :func:`describe`."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "allow_nan": allow_nan, "doc": doc,
            "choices": None if choices is None else tuple(choices)}
    kwargs = {} if default is MISSING else {"default": default}
    if default_factory is not MISSING:
        kwargs["default_factory"] = default_factory
    return dataclasses.field(metadata=meta, **kwargs)


@dataclasses.dataclass(frozen=True)
class Variants:
    """How a tagged union finds its variant: the `tag` field beside it, and the `schema` of a tag's value.

    ``schema(value)`` is a dataclass, or None for a variant without settings (then the tag
    stands alone); it raises ConfigError for a value that names no variant (its problems are
    reported at the tag's path). `former`: keys that once held the variant's settings, each
    refused with where its settings go now. `label(value)`: the variant in messages (default
    ``"<tag> <value>"``, e.g. ``kind wind``), called only once `schema` accepted the value.
    """

    tag: str
    schema: Callable[[Any], type | None]
    former: tuple[str, ...] = ()
    label: Callable[[Any], str] | None = None

    def name(self, value: Any) -> str:
        return self.label(value) if self.label else f"{self.tag} {value}"


def tagged(tag: str, schema: Callable[[Any], type | None], *, former: Sequence[str] = (),
           label: Callable[[Any], str] | None = None, doc: str = "") -> Any:
    """A dataclass field holding a tagged union's variant, built from the keys beside the field `tag`.

    The field itself is never a key: ``{kind: wind, mean_wind_m_s: 9}`` builds the variant
    ``schema("wind")`` from ``{mean_wind_m_s: 9}``. Its default is None: a schema built in code
    fills it in ``__post_init__`` if it wants the variant's defaults. See `Variants`.
    """
    return dataclasses.field(default=None, metadata={"doc": doc,
                                                     "variants": Variants(tag, schema, tuple(former), label)})


def build(cls: type[T], data: Mapping, *, path: str = "") -> T:
    """Convert plain data into the dataclass `cls`; raise ConfigError listing every problem."""
    problems: list[Problem] = []
    obj = _build(cls, data, path, problems)
    if problems:
        raise ConfigError(problems)
    return obj


def to_dict(obj: Any) -> dict:
    """The plain data that builds `obj` again: dicts, lists and scalars only (a tagged union's variant flat,
    beside its tag)."""
    out = {}
    for f in (f for f in dataclasses.fields(obj) if f.init):
        value = getattr(obj, f.name)
        if "variants" in f.metadata:
            out.update(to_dict(value) if value is not None else {})
        else:
            out[f.name] = _plain(value)
    return out


def describe(cls: type) -> str:
    """One line per field: name, type, default, constraints and doc; nested schemas indented."""
    return "\n".join(_describe_lines(cls, ""))


# --- building -----------------------------------------------------------------

@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, name: str) -> str:
    if not name or not path:
        return path or name
    return path + name if name.startswith("[") else f"{path}.{name}"


def _default(f: dataclasses.Field) -> Any:
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


@functools.cache
def _tagged_field(cls: type) -> tuple[str, Variants] | None:
    """The field of `cls` that holds a tagged union's variant, and how to find it; None if none does."""
    found = [(f.name, f.metadata["variants"]) for f in dataclasses.fields(cls) if "variants" in f.metadata]
    if len(found) > 1:
        raise TypeError(f"{cls.__name__}: one tagged field per schema, not {', '.join(n for n, _ in found)}")
    return found[0] if found else None


def _build(cls: type, data: Any, path: str, problems: list[Problem], unknown=None) -> Any:
    """`unknown(key, raw)`: the problem of a key that is no field (default: the known fields, the closest)."""
    if not isinstance(data, Mapping):
        problems.append(Problem(path or "<root>", data, "expected a mapping"))
        return MISSING
    union = _tagged_field(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not (union and f.name == union[0])}
    hints, before, values, beside = _hints(cls), len(problems), {}, {}
    for key, raw in data.items():
        if key in fields:
            meta = fields[key].metadata
            values[key] = _convert(hints[key], raw, _join(path, key), problems, meta)
        elif union:  # the variant's, or nobody's: only its schema can tell
            beside[key] = raw
        elif unknown:
            problems.append(unknown(key, raw))
        else:
            problems.append(Problem(_join(path, str(key)), raw, _unknown_rule(str(key), fields)))
    for name, f in fields.items():
        if name in data or _has_default(f):
            continue
        if dataclasses.is_dataclass(hints[name]):
            values[name] = _build(hints[name], {}, _join(path, name), problems)
        else:
            problems.append(Problem(_join(path, name), MISSING, "required field is missing"))
    if union:
        name, variants = union
        tag_field = fields[variants.tag]
        tag = values.get(variants.tag, _default(tag_field) if _has_default(tag_field) else MISSING)
        if tag is not MISSING:  # a tag that failed picks no variant: the keys beside it wait
            values[name] = _variant(variants, tag, beside, path, problems)
    return MISSING if len(problems) > before else _construct(cls, values, data, path, problems)


def _variant(variants: Variants, tag: Any, data: Mapping, path: str, problems: list[Problem]) -> Any:
    """The variant that the tag's value `tag` picks, built from the keys beside the tag, `data`."""
    tag_path = _join(path, variants.tag)
    try:
        schema = variants.schema(tag)
    except ConfigError as err:  # the resolver's paths are its own; the tag is where the user wrote it
        problems.extend(Problem(tag_path, p.value, p.rule) for p in err.problems)
        return MISSING
    names = [f.name for f in dataclasses.fields(schema) if f.init] if schema is not None else []
    label = variants.name(tag)

    def unknown(key, raw):
        if key in variants.former:
            return Problem(_join(path, str(key)), raw, _moved_rule(variants.tag, label, path, raw, names))
        rule = _unknown_rule(str(key), [variants.tag, *names], f"unknown field for {label}")
        return Problem(_join(path, str(key)), raw, rule)
    if schema is None:
        problems.extend(unknown(key, raw) for key, raw in data.items())
        return None
    return _build(schema, data, path, problems, unknown)


def _moved_rule(tag: str, label: str, path: str, raw: Any, names: Sequence[str]) -> str:
    """Where the settings of an old nested section (``duty: {kind: wind, wind: {...}}``) go now."""
    if not names:
        return f"{label} takes no settings: only {_join(path, tag)}"
    keys = [k for k in raw if k in names] if isinstance(raw, Mapping) else []
    shown = keys or list(names)
    where = ", ".join(_join(path, str(k)) for k in shown[:3]) + (", ..." if len(shown) > 3 else "")
    return f"the settings of {label} sit beside {tag} now: {where}"


def _construct(cls: type, values: dict, data: Mapping, path: str, problems: list[Problem]) -> Any:
    try:
        obj = cls(**values)
    except ValueError as exc:  # an invariant in __post_init__ is a user error like any other
        problems.append(Problem(path or "<root>", dict(data), str(exc)))
        return MISSING
    found = [Problem(_join(path, name), value, rule)
             for name, value, rule in (obj.check() if hasattr(obj, "check") else ())]
    problems.extend(found)
    return MISSING if found else obj


def unknown_rule(key: str, fields: Sequence[str] | Mapping) -> str:
    """The rule for an unknown key: the known ones, and the closest if one is close."""
    return _unknown_rule(key, fields)


def choice_rule(value: Any, options: Sequence) -> str:
    """The rule for a value outside `options`: the options, and the closest if one is close."""
    return _choice_rule(value, options)


def _unknown_rule(key: str, fields: Sequence[str] | Mapping, what: str = "unknown field") -> str:
    rule = f"{what}; known fields: " + ", ".join(fields)
    close = difflib.get_close_matches(key, list(fields), n=1)
    return rule + (f"; did you mean {close[0]!r}?" if close else "")


def _choice_rule(value: Any, options: Sequence) -> str:
    rule = "must be one of " + ", ".join(map(str, options))
    close = difflib.get_close_matches(value, [o for o in options if isinstance(o, str)], n=1) \
        if isinstance(value, str) else []
    return rule + (f"; did you mean {close[0]!r}?" if close else "")


def _convert(tp: Any, raw: Any, path: str, problems: list[Problem], meta: Mapping) -> Any:
    if tp is Any:
        return raw
    if dataclasses.is_dataclass(tp):
        return _build(tp, raw, path, problems)
    origin = typing.get_origin(tp)
    handler = _BY_ORIGIN.get(origin) if origin else (_scalar if tp in _PARSERS else None)
    if handler is None:
        raise TypeError(f"{path}: unsupported configuration type {tp!r}")
    return handler(tp, raw, path, problems, meta)


def _optional(tp, raw, path, problems, meta):
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) != 1 or len(typing.get_args(tp)) != 2:
        raise TypeError(f"{path}: only `X | None` unions are supported, not {tp!r}")
    return None if raw is None else _convert(args[0], raw, path, problems, meta)


def _literal(tp, raw, path, problems, meta):
    options = typing.get_args(tp)
    if any(raw == o and type(raw) is type(o) for o in options):
        return raw
    problems.append(Problem(path, raw, _choice_rule(raw, options)))
    return MISSING


def _sequence(tp, raw, path, problems, meta):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        problems.append(Problem(path, raw, "expected a list"))
        return MISSING
    if origin is tuple and args[-1:] != (Ellipsis,):
        if len(raw) != len(args):
            problems.append(Problem(path, raw, f"expected a list of {len(args)} items"))
            return MISSING
        item_types = args
    else:
        item_types = (args[0],) * len(raw)
    return origin(_convert(t, item, f"{path}[{i}]", problems, meta)
                  for i, (t, item) in enumerate(zip(item_types, raw)))


def _mapping(tp, raw, path, problems, meta):
    key_type, value_type = typing.get_args(tp)
    if key_type is not str:
        raise TypeError(f"{path}: only dict[str, X] is supported, not {tp!r}")
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, raw, "expected a mapping"))
        return MISSING
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(Problem(_join(path, str(key)), key, "key must be a string"))
        else:
            out[key] = _convert(value_type, value, _join(path, key), problems, meta)
    return out


def _parse_int(raw):
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else MISSING


def _parse_float(raw):
    return float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else MISSING


_PARSERS = {
    int: (_parse_int, "expected an integer"),
    float: (_parse_float, "expected a number"),
    str: (lambda raw: raw if isinstance(raw, str) else MISSING, "expected a string"),
    bool: (lambda raw: raw if isinstance(raw, bool) else MISSING, "expected true or false"),
}
_BOUNDS = (("ge", operator.ge, ">="), ("gt", operator.gt, ">"),
           ("le", operator.le, "<="), ("lt", operator.lt, "<"))


def _scalar(tp, raw, path, problems, meta):
    parse, expected = _PARSERS[tp]
    value = parse(raw)
    rule = expected if value is MISSING else _violation(value, meta)
    if rule:
        problems.append(Problem(path, raw, rule))
        return MISSING
    return value


def _violation(value: Any, meta: Mapping) -> str | None:
    if isinstance(value, float) and math.isnan(value):
        # NaN compares false with every bound, so it must be ruled on before them.
        return None if meta.get("allow_nan") else "must not be NaN"
    for key, op, word in _BOUNDS:
        if meta.get(key) is not None and not op(value, meta[key]):
            return f"must be {word} {meta[key]}"
    choices = meta.get("choices")
    return _choice_rule(value, choices) if choices is not None and value not in choices else None


_BY_ORIGIN = {Union: _optional, types.UnionType: _optional, Literal: _literal,
              tuple: _sequence, list: _sequence, dict: _mapping}


# --- plain data and descriptions ----------------------------------------------

def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None) or not args:
        return "None" if tp is type(None) else getattr(tp, "__name__", repr(tp))
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (Union, types.UnionType):
        return " | ".join(map(_type_name, args))
    inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
    return f"{origin.__name__}[{inner}]"


def _describe_lines(cls: type, indent: str) -> list[str]:
    lines = []
    for f in (f for f in dataclasses.fields(cls) if f.init):
        tp, meta = _hints(cls)[f.name], f.metadata
        if "variants" in meta:
            tag = meta["variants"].tag
            doc = f"  # {meta['doc']}" if meta["doc"] else ""
            lines.append(f"{indent}<the settings of its {tag}, beside {tag}>{doc}")
            continue
        nested = dataclasses.is_dataclass(tp)
        if f.default is not dataclasses.MISSING:
            default = f" = {f.default!r}"
        elif f.default_factory is not dataclasses.MISSING and not nested:
            default = f" = {f.default_factory()!r}"
        else:
            default = "" if nested else " (required)"
        rules = [f"{word} {meta[k]}" for k, _, word in _BOUNDS if meta.get(k) is not None]
        rules += [f"one of {', '.join(map(str, meta['choices']))}"] if meta.get("choices") else []
        rules += ["NaN allowed"] if meta.get("allow_nan") else []
        line = f"{indent}{f.name}: {_type_name(tp)}{default}"
        line += f"  ({'; '.join(rules)})" if rules else ""
        lines.append(line + (f"  # {meta['doc']}" if meta.get("doc") else ""))
        schema = _item_schema(tp)
        lines += _describe_lines(schema, indent + "  ") if schema else []
    return lines


def _item_schema(tp: Any) -> type | None:
    """The dataclass that a field holds, directly or as the items of a list or optional."""
    if dataclasses.is_dataclass(tp):
        return tp
    args = [a for a in typing.get_args(tp) if a not in (Ellipsis, type(None))]
    return _item_schema(args[0]) if len(args) == 1 else None
