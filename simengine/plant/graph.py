"""The plant's asset graph: groups laid end to end, and supply edges between assets.

Assets are numbered across the plant, group after group in the scenario's
order (a one-fleet scenario is one group, numbered as before). An edge
(u, d) says asset u feeds asset d: d produces only while, in each
dependency, at least `need` (default: all) of the assets feeding it produce. Dependencies name assets by selector: ``group``,
``group[i]`` or ``group[a:b]`` (Python's half-open slice).

Pure data and checks: no engine, no JAX, so the configuration check and the
DTDL export use it without loading the simulation.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field

import numpy as np

_SELECTOR = re.compile(r"^(?P<group>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<a>-?\d*)(?P<colon>:)?(?P<b>-?\d*)\])?$")
GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Group:
    """One asset group: `count` assets of one kind, numbered from `offset` in the plant."""

    name: str
    kind: str  # the asset kind (simengine.kinds), e.g. crane
    label: str  # what the assets are, e.g. sts_crane
    count: int
    offset: int
    capacity: float  # production of one asset while it produces; 0 for assets that only enable others

    @property
    def assets(self) -> range:
        return range(self.offset, self.offset + self.count)


@dataclass(frozen=True)
class Supply:
    """What one dependency gives one fed asset: `need` of its `feeders` must produce."""

    asset: int
    dependency: int
    feeders: tuple[int, ...]
    need: int


@dataclass(frozen=True)
class PlantGraph:
    groups: tuple[Group, ...]
    edges: tuple[tuple[int, int], ...]  # (upstream asset, downstream asset), plant numbering
    # per fed asset and dependency: its feeders and how many must produce (the engine's; /plant keeps the edges)
    supplies: tuple[Supply, ...] = field(default=(), compare=False)

    @property
    def n_assets(self) -> int:
        return sum(g.count for g in self.groups)

    def group_of(self, asset: int) -> Group:
        for g in self.groups:
            if asset in g.assets:
                return g
        raise IndexError(f"asset {asset} is not in the plant ({self.n_assets} assets)")

    def asset_name(self, asset: int) -> str:
        g = self.group_of(asset)
        return f"{g.name}[{asset - g.offset}]"

    def feeds(self) -> dict[int, list[int]]:
        """Upstream asset -> the assets it feeds, in edge order."""
        out: dict[int, list[int]] = {}
        for u, d in self.edges:
            out.setdefault(u, []).append(d)
        return out


class SelectorError(ValueError):
    pass


def select(selector: str, counts: dict[str, int]) -> tuple[str, range]:
    """The group and its local asset indices that `selector` names."""
    m = _SELECTOR.match(selector.strip()) if isinstance(selector, str) else None
    if m is None:
        raise SelectorError("must be group, group[i] or group[a:b] (a Python slice of the group's assets)")
    name = m["group"]
    if name not in counts:
        raise SelectorError(f"unknown asset group {name!r}; known: {', '.join(counts) or 'none'}")
    n = counts[name]
    a, b, colon = m["a"], m["b"], m["colon"]
    if a is None and b is None and colon is None:
        return name, range(n)
    if colon is None:
        if a == "":
            raise SelectorError("must be group, group[i] or group[a:b]; [] names nothing")
        i = int(a)
        if not -n <= i < n:
            raise SelectorError(f"index {i} outside group {name} of {n} asset{'s' * (n != 1)} (0..{n - 1})")
        return name, range(i % n, i % n + 1)
    picked = range(n)[slice(int(a) if a else None, int(b) if b else None)]
    if not picked:
        raise SelectorError(f"names no asset of group {name} ({n} asset{'s' * (n != 1)})")
    return name, picked


def dependency_edges(upstream: list[int], downstream: list[int], mapping: str) -> list[tuple[int, int]]:
    """all: every upstream asset feeds every downstream one; blocks: upstream asset k feeds the k-th of
    len(upstream) contiguous, near-equal blocks of the downstream assets (numpy.array_split)."""
    if mapping == "all":
        return [(u, d) for u in upstream for d in downstream]
    blocks = np.array_split(np.asarray(downstream), len(upstream))
    return [(u, int(d)) for u, block in zip(upstream, blocks) for d in block]


def build_graph(groups: list[tuple[str, str, str, int, float]], dependencies) -> tuple[PlantGraph, list]:
    """The plant graph of (name, kind, label, count, capacity) groups and their dependencies
    (objects with upstream, downstream and mapping), and the problems found as (field, value, rule)."""
    laid, offset = [], 0
    for name, kind, label, count, capacity in groups:
        laid.append(Group(name, kind, label, count, offset, capacity))
        offset += count
    counts = {g.name: g.count for g in laid}
    by_name = {g.name: g for g in laid}
    problems, edges, supplies = [], [], []
    for k, dep in enumerate(dependencies):
        ends = {}
        for end in ("upstream", "downstream"):
            try:
                name, local = select(getattr(dep, end), counts)
            except SelectorError as err:
                problems.append((f"dependencies[{k}].{end}", getattr(dep, end), str(err)))
                continue
            ends[end] = [by_name[name].offset + i for i in local]
        if len(ends) < 2:
            continue
        if dep.mapping == "blocks" and len(ends["upstream"]) > len(ends["downstream"]):
            problems.append((f"dependencies[{k}].mapping", dep.mapping,
                             f"blocks needs no more upstream assets ({len(ends['upstream'])}) than downstream ones "
                             f"({len(ends['downstream'])})"))
            continue
        pairs = dependency_edges(ends["upstream"], ends["downstream"], dep.mapping)
        feeders: dict[int, list[int]] = {}
        for u, d in pairs:
            feeders.setdefault(d, []).append(u)
        need = getattr(dep, "need", None)
        fewest = min(len(f) for f in feeders.values())
        if need is not None and need > fewest:
            problems.append((f"dependencies[{k}].need", need, f"a fed asset has only {fewest} upstream "
                                                              f"asset{'s' * (fewest != 1)} in this dependency"))
            continue
        supplies += [Supply(d, k, tuple(f), need or len(f)) for d, f in feeders.items()]
        edges += pairs
    graph = PlantGraph(tuple(laid), tuple(dict.fromkeys(edges)), tuple(supplies))
    cycle = find_cycle(graph)
    if cycle:
        problems.append(("dependencies", " -> ".join(graph.asset_name(a) for a in cycle),
                         "the dependencies form a cycle: an asset would feed itself"))
    return graph, problems


def find_cycle(graph: PlantGraph) -> list[int]:
    """One cycle of the supply edges (its first asset repeated at the end), or [] if there is none."""
    sorter = graphlib.TopologicalSorter()
    for u, d in graph.edges:
        sorter.add(d, u)
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        return list(reversed(err.args[1]))  # graphlib lists it against the edges' direction
    return []


def plant_graph(scenario) -> PlantGraph:
    """The graph of a checked scenario (simengine.config.scenario.ScenarioConfig)."""
    from simengine.kinds.registry import kind_of

    groups = [(name, kind_of(g).name, g.kind, g.count, getattr(g, "capacity", 1.0))
              for name, g in scenario.asset_groups().items()]
    graph, problems = build_graph(groups, scenario.dependencies)
    if problems:  # a checked scenario has none
        raise ValueError(problems)
    return graph
