"""Asset kinds by name: the built-ins, a user's entry points, or a dotted path.

``fleet.duty.kind`` names a kind in one of three ways, tried in this order:

- a built-in: ``crane`` (also ``lifts``), ``wind``, ``none``;
- ``package.module:Name``: an object (or a class, instantiated without arguments) in
  any importable module, such as a file of the user's on PYTHONPATH;
- the name of an entry point in the group ``simengine.asset_kinds`` of an installed
  package (``[project.entry-points."simengine.asset_kinds"] pump = "mypkg.pump:Pump"``).

Looking a kind up imports only its module (kind modules keep numpy and JAX inside their
methods), so a configuration is checked before anything heavy is imported. A name
that is none of these, a plugin that fails to import, or an object that is not a kind
is one ConfigError naming the field, the value and the rule.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from importlib.metadata import entry_points

from simengine.config.validate import ConfigError, Problem
from simengine.kinds.base import AssetKind
from simengine.kinds.quantities import CATALOGUE

GROUP = "simengine.asset_kinds"
FIELD = "fleet.duty.kind"
BUILTIN = ("simengine.kinds.crane:CRANE", "simengine.kinds.wind:WIND", "simengine.kinds.bare:NONE",
           "simengine.kinds.conveyor:CONVEYOR")
# what a kind must have: the protocol's attributes and methods
MEMBERS = tuple(AssetKind.__annotations__) + tuple(
    n for n, v in vars(AssetKind).items() if callable(v) and not n.startswith("_"))


@functools.cache
def builtins() -> dict[str, AssetKind]:
    """Every name (and alias) of a built-in kind -> the kind."""
    out = {}
    for target in BUILTIN:
        kind = _load(target, target, target)
        out.update({name: kind for name in (kind.name, *kind.aliases)})
    return out


def installed() -> dict[str, str]:
    """Entry points of the group simengine.asset_kinds: name -> ``module:object``."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


@functools.cache  # failures raise, and are not cached: a fixed plugin is found on the next call
def resolve(name: str) -> AssetKind:
    """The kind `name` names (see the module's docstring); ConfigError on ``fleet.duty.kind`` if none."""
    known = builtins()
    if name in known:
        return known[name]
    if ":" in name:
        return _load(name, name, f"the asset kind {name}")
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name in eps:
        return _load(eps[name].value, name, f"the asset kind plugin {name} (entry point {eps[name].value})")
    raise ConfigError([Problem(FIELD, name, unknown_rule(eps))])


def kind_of(fleet) -> AssetKind:
    """The kind of a fleet (`simengine.config.scenario.FleetConfig`)."""
    return resolve(fleet.duty.kind)


def unknown_rule(eps=None) -> str:
    kinds = {}
    for name, kind in builtins().items():
        kinds.setdefault(kind.name, []).append(name)
    names = "; ".join(f"{k} (also {', '.join(n[1:])})" if n[1:] else k for k, n in kinds.items())
    found = installed() if eps is None else {n: ep.value for n, ep in eps.items()}
    plugins = ", ".join(f"{n} ({v})" for n, v in found.items()) or "none installed"
    return (f"unknown asset kind; known kinds: {names}; entry points in group {GROUP}: {plugins}; "
            "or name a kind by its dotted path, package.module:Name")


def _load(target: str, name: str, what: str) -> AssetKind:
    module, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except Exception as err:  # the plugin's own error, whatever it is, is the message
        raise ConfigError([Problem(FIELD, name, f"{what} failed to import: {type(err).__name__}: {err}")]) from None
    if not attr:
        raise ConfigError([Problem(FIELD, name, f"{what}: name the object too, as package.module:Name")])
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as err:
            raise ConfigError([Problem(FIELD, name, f"{what} failed to start: {type(err).__name__}: {err}")]) from None
    missing = [m for m in MEMBERS if not hasattr(obj, m)]
    if missing:
        raise ConfigError([Problem(FIELD, name, f"{what} is not an asset kind: it lacks {', '.join(missing)} "
                                                "(see simengine.kinds.base.AssetKind)")])
    schema = obj.settings_type
    if schema is not None and not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise ConfigError([Problem(FIELD, name, f"{what}: its settings_type must be a dataclass (the schema of the "
                                                f"settings beside kind) or None, not {schema!r}")])
    foreign = [q for q in obj.quantities if q not in CATALOGUE]
    if foreign:
        raise ConfigError([Problem(FIELD, name, f"{what} observes {', '.join(map(str, foreign))}, not in the "
                                                f"catalogue of quantities: {', '.join(CATALOGUE)}")])
    return obj
