"""Assets in service: operating state, failures and repairs, and their accounting.

An asset is up or down; it is down while at least one reason holds (a failed
component, a structural failure, an inspection or a repair in progress), and
downtime counts from the first reason to the last. Components with a
configured life fail as SimPy processes; physics failures arrive from the
physics layer as threshold crossings. Components under a replacement plan
(age or block) are renewed before they fail when the plan says so.
Times in hours, money in euros.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from simengine.config.scenario import ComponentFailure, FleetConfig, RepairConfig, ReplacementConfig
from simengine.engine.maintenance import FAILURE, PLANNED, Maintenance
from simengine.engine.sampling import draw, draw_scatter, draw_stream


class EventLog:
    """(time_h, asset, kind, value) rows, recorded in simulation order and kept as columns.

    A long run logs millions of rows. As columns they are no objects for the
    garbage collector to track, and they become the result's array in a few
    vectorised copies instead of a conversion row by row.
    """

    DTYPE = [("time_h", "f8"), ("asset", "i4"), ("kind", "U16"), ("value", "f8")]

    def __init__(self):
        self._time, self._asset, self._kind, self._value = array("d"), array("i"), [], array("d")
        put_time, put_asset, put_kind, put_value = (self._time.append, self._asset.append, self._kind.append,
                                                    self._value.append)

        def record(time_h: float, asset: int, kind: str, value: float = 0.0) -> None:
            put_time(time_h)
            put_asset(asset)
            put_kind(kind)
            put_value(value)

        self.record = record  # a closure over the bound appends: no attribute look-ups per row

    def __len__(self) -> int:
        return len(self._kind)

    @property
    def rows(self) -> list[tuple[float, int, str, float]]:
        return list(zip(self._time, self._asset, self._kind, self._value))

    def to_array(self) -> np.ndarray:
        out = np.empty(len(self._kind), self.DTYPE)
        out["time_h"], out["asset"], out["kind"], out["value"] = self._time, self._asset, self._kind, self._value
        return out


@dataclass(frozen=True)
class InstanceDraws:
    """The random durations of one component of one asset under a replacement plan, each from its own stream.

    Own streams per asset make common random numbers work across plans: the
    k-th component fitted to asset i has the same life whatever the interval,
    so two intervals differ by their decisions, not by reshuffled draws.
    """

    life: Callable[[], float]
    repair_work: Callable[[], float]
    preventive_work: Callable[[], float]


@dataclass(frozen=True)
class ReplacementPlan:
    kind: str  # "age" or "block"
    interval_h: float
    cost_eur: float
    part: str | None
    draws: list[InstanceDraws]  # by asset


class Fleet:
    """One group of assets of one kind. In a plant, assets may be fed by others (`fed`): an asset
    produces while it is up and no asset feeding it is out (`starve`/`feed` count those), and its lost
    production is tracked apart from its own downtime. `on_output(i, producing)` tells the plant when
    asset i starts or stops producing, so that the assets it feeds follow."""

    def __init__(self, env: simpy.Environment, cfg: FleetConfig, maintenance: Maintenance, log: EventLog,
                 rng: np.random.Generator, fed: bool = False):
        self.env, self.cfg, self.maintenance, self.log, self.rng = env, cfg, maintenance, log, rng
        n = cfg.count
        self.n = n
        self._down = [0] * n
        self._downtime = _Intervals(n)  # each asset's down intervals (from its first reason to its last)
        self._starved = [0] * n  # assets feeding this one that are not producing
        self.on_output: Callable[[int, bool], None] | None = None
        self._lost = _Intervals(n) if fed else None  # asset-time not producing, when it differs from downtime
        self.failures = 0  # every failure, component breakdowns included
        self.structural_failures = 0  # physics failures: a crack, fatigue damage or wear at its limit
        self.failure_cost_eur = 0.0
        self.repair_cost_eur = 0.0
        self.physics = None  # set by `attach_physics` when the fleet has physics
        self.operating = None  # the physics' mask: assets out of service carry no load
        self.broken = np.zeros((n, len(cfg.physics_failures)), bool)
        self.repair_open = np.zeros(n, bool)  # a planned repair is queued or under way
        self.repair_mode = np.full(n, -1)  # ... of this failure mode
        self.detections: list[tuple[int, int, float, dict]] = []  # (asset, mode, time, state)
        self.replacement: dict[str, ReplacementPlan] = {}  # component name -> its plan; set before the run
        self.preventive_replacements = 0
        self._lives_started = False
        for comp in cfg.components:
            life, work = draw_stream(comp.life, rng), draw_stream(comp.repair.work, rng)
            for i in range(n):
                env.process(self._component_life(i, comp, life, work))

    # -- up and down ----------------------------------------------------------
    def go_down(self, i: int) -> None:
        down = self._down
        if down[i] == 0:
            self._downtime.open(i, self.env.now)
            if self._starved[i] == 0:
                self._stop(i)
        down[i] += 1

    def come_up(self, i: int) -> None:
        down = self._down
        down[i] -= 1
        if down[i] == 0:
            now = self.env.now
            self._downtime.close(i, now)
            if self._starved[i] == 0:
                self._start(i, now)

    def starve(self, i: int) -> None:
        """An asset feeding asset i stopped producing: i stops too, and carries no load from now."""
        if self._starved[i] == 0:
            self.log.record(self.env.now, i, "supply_lost")
            if self._down[i] == 0:
                self._stop(i)
                if self.physics is not None:
                    self.physics.hold(i, self.env.now)
        self._starved[i] += 1

    def feed(self, i: int) -> None:
        """An asset feeding asset i produces again."""
        self._starved[i] -= 1
        if self._starved[i] == 0:
            self.log.record(self.env.now, i, "supply_back")
            if self._down[i] == 0:
                self._start(i, self.env.now)

    def _stop(self, i: int) -> None:
        if self.operating is not None:
            self.operating[i] = False
        if self._lost is not None:
            self._lost.open(i, self.env.now)
        if self.on_output is not None:
            self.on_output(i, False)

    def _start(self, i: int, now: float) -> None:
        if self.operating is not None:
            self.operating[i] = True
            self.physics.resume(i, now)
        if self._lost is not None:
            self._lost.close(i, now)
        if self.on_output is not None:
            self.on_output(i, True)

    def is_down(self, i: int) -> bool:
        return self._down[i] > 0

    def attach_physics(self, physics) -> None:
        self.physics = physics
        self.operating = physics.operating

    # -- failures ---------------------------------------------------------------
    def _component_life(self, i: int, comp: ComponentFailure, life: Callable[[], float], work: Callable[[], float]):
        self._lives_started = True
        plan = self.replacement.get(comp.name)
        if plan is not None:
            yield from self._replaced_life(i, comp, plan, plan.draws[i])
            return
        # The loop of every asset's every component, the engine's hottest: `_breakdown` written out, names bound.
        timeout, perform, part = self.env.timeout, self._doer(comp.repair), comp.repair.part
        broken, fixed = self._broken, self._fixed
        while True:
            yield timeout(life())
            broken(i, comp)
            if not (yield from perform(FAILURE, work(), part)):
                return
            fixed(i, comp)

    def _breakdown(self, i: int, comp: ComponentFailure, work_h: float):
        """Generator: component `comp` of asset i fails and is repaired (a new one fitted); False if never."""
        self._broken(i, comp)
        if not (yield from self._doer(comp.repair)(FAILURE, work_h, comp.repair.part)):
            return False
        self._fixed(i, comp)
        return True

    def _broken(self, i: int, comp: ComponentFailure) -> None:
        self.failures += 1
        self.failure_cost_eur += comp.failure_cost_eur
        self.log.record(self.env.now, i, "breakdown")
        self.go_down(i)

    def _fixed(self, i: int, comp: ComponentFailure) -> None:
        self.repair_cost_eur += comp.repair.cost_eur
        self.come_up(i)
        self.log.record(self.env.now, i, "breakdown_fixed")

    # -- preventive replacement ---------------------------------------------------
    def plan_replacement(self, spec: ReplacementConfig, names: tuple[str, ...]) -> None:
        """Replace the components `names` by `spec` (age or block); call before the run starts."""
        if self._lives_started:
            raise RuntimeError("plan_replacement must come before the simulation starts")
        for comp in self.cfg.components:
            if comp.name not in names:
                continue
            draws = []
            for child in self.rng.spawn(self.n):  # spawning leaves the fleet's own stream untouched
                life, work, preventive = child.spawn(3)
                draws.append(InstanceDraws(draw_stream(comp.life, life), draw_stream(comp.repair.work, work),
                                           draw_stream(spec.work, preventive)))
            self.replacement[comp.name] = ReplacementPlan(spec.kind, spec.interval_h, spec.cost_eur, spec.part, draws)

    def _replaced_life(self, i: int, comp: ComponentFailure, plan: ReplacementPlan, draws: InstanceDraws):
        """A component that fails, or is replaced when its age (age plan) or the calendar (block plan) says so.
        Each life is drawn when the component is fitted; whichever comes first, failure or replacement, renews it."""
        env, interval = self.env, plan.interval_h
        block = 1  # block plan: the next replacement is at block * interval
        while True:
            life = draws.life()
            due = interval if plan.kind == "age" else block * interval - env.now
            if life < due:
                yield env.timeout(life)
                renewed = yield from self._breakdown(i, comp, draws.repair_work())
            else:
                yield env.timeout(due)
                renewed = yield from self._preventive(i, comp, plan, draws.preventive_work())
                block += 1  # counted, not found from env.now, which may land a rounding error short of the time
            if not renewed:
                return
            while block * interval <= env.now:  # a repair or replacement that ran past block times skips them
                block += 1

    def _preventive(self, i: int, comp: ComponentFailure, plan: ReplacementPlan, work_h: float):
        """Generator: replace `comp` of asset i before it fails. Planned work: the asset runs until the crew is
        on site (a shift crew comes in its shift) and is down while the new one is fitted; the old component is
        taken to last that wait, which is hours against lives of thousands."""
        env, log = self.env, self.log.record
        which = float(self.cfg.components.index(comp))
        log(env.now, i, "replacement_due", which)
        done = yield from self.maintenance.perform(PLANNED, work_h, plan.part, on_site=lambda: self.go_down(i))
        if not done:
            return False
        self.preventive_replacements += 1
        self.repair_cost_eur += plan.cost_eur
        self.come_up(i)
        log(env.now, i, "replaced", which)
        return True

    def physics_failure(self, i: int, j: int) -> None:
        """A physics quantity of asset i reached the limit of failure mode j."""
        mode = self.cfg.physics_failures[j]
        if self.broken[i, j] or (self.repair_open[i] and self.repair_mode[i] == j):
            return  # already failed, or this very defect is locked out for repair
        self.broken[i, j] = True
        self.failures += 1
        self.structural_failures += 1
        self.failure_cost_eur += mode.failure_cost_eur
        self.log.record(self.env.now, i, "failure", float(j))
        self.go_down(i)
        self.env.process(self._repair(i, j, mode.repair, FAILURE))

    def planned_repair(self, i: int, j: int, via: str) -> None:
        """A defect of mode j was found on asset i before failure: repair it."""
        if self.repair_open[i] or self.broken[i, j]:
            return
        self.repair_open[i] = True
        self.repair_mode[i] = j
        self.detections.append((i, j, self.env.now, self.physics.state_at(i, self.env.now)))
        self.log.record(self.env.now, i, "detection", float(j))
        self.env.process(self._repair(i, j, self.cfg.physics_failures[j].planned_repair, PLANNED))

    def _repair(self, i: int, j: int, repair: RepairConfig, priority: int):
        was_down = self.broken[i, j]
        if not was_down:
            self.go_down(i)
        self.log.record(self.env.now, i, "repair_start", float(j))
        done = yield from self._doer(repair)(priority, float(draw(repair.work, self.rng)), repair.part)
        if not done:
            return
        self.repair_cost_eur += repair.cost_eur
        self.physics.reset(i, self.env.now, **self._as_new(j))
        self.broken[i, j] = False
        if self.repair_mode[i] == j:
            self.repair_open[i] = False
            self.repair_mode[i] = -1
        self.come_up(i)
        self.log.record(self.env.now, i, "repair_end", float(j))

    def _doer(self, repair: RepairConfig):
        """Who carries out `repair`: the plant's crews, or a contractor."""
        return self.maintenance.contract if repair.by == "contractor" else self.maintenance.perform

    def _as_new(self, j: int) -> dict[str, float]:
        """State of the repaired part: a new weld has a new initial flaw."""
        quantity = self.cfg.physics_failures[j].quantity
        if quantity == "crack_m":
            return {"crack_m": float(draw_scatter(self.cfg.crack.initial_flaw_m, self.rng, 1)[0])}
        return {quantity: 0.0}

    # -- outputs ----------------------------------------------------------------
    def lost_h(self, until_h: float) -> float:
        """Asset-hours not producing in [0, until_h]: down, or starved by an asset feeding it."""
        return (self._lost or self._downtime).total_h(until_h)

    def producing_fraction(self, times_h: np.ndarray) -> np.ndarray:
        """Like `available_fraction`, for the fraction of the group producing."""
        if self._lost is None:
            return self.available_fraction(times_h)
        return _mean_fraction_up(*self._lost.intervals(), times_h, self.n)

    def available_fraction(self, times_h: np.ndarray) -> np.ndarray:
        """Fraction of the fleet up, averaged over each interval (t[k-1], t[k]]; at t[0] the instant value."""
        return _mean_fraction_up(*self._intervals(), times_h, self.n)

    def cumulative_downtime_h(self, times_h: np.ndarray) -> np.ndarray:
        """Asset-hours down in [0, t] for each t: Σ over down intervals of their overlap with [0, t]."""
        return _cumulative_h(*self._intervals(), times_h)

    def _intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends of the down intervals so far, open ones running to +inf."""
        return self._downtime.intervals()

    def downtime_until_h(self, until_h: float) -> float:
        """Asset-hours down in [0, until_h], intervals still open counted to until_h."""
        return self._downtime.total_h(until_h)


class _Intervals:
    """Per-asset intervals of a state (down, not producing), open ones included. Closed ones are kept as
    two columns: no tuple per interval for the garbage collector to track."""

    def __init__(self, n: int):
        self.since = [0.0] * n
        self.is_open = [False] * n
        self.starts, self.ends = array("d"), array("d")
        self.closed_h = 0.0

    def open(self, i: int, t: float) -> None:
        self.since[i], self.is_open[i] = t, True

    def close(self, i: int, t: float) -> None:
        self.is_open[i] = False
        self.closed_h += t - self.since[i]
        self.starts.append(self.since[i])
        self.ends.append(t)

    def total_h(self, until_h: float) -> float:
        return self.closed_h + sum(until_h - t for t, o in zip(self.since, self.is_open) if o)

    def intervals(self) -> tuple[np.ndarray, np.ndarray]:
        still = [t for t, o in zip(self.since, self.is_open) if o]
        return (np.concatenate([np.asarray(self.starts, float), still]),
                np.concatenate([np.asarray(self.ends, float), np.full(len(still), np.inf)]))


def _cumulative_h(starts: np.ndarray, ends: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """Σ over intervals of their overlap with [0, t], for each t."""
    if not starts.size:
        return np.zeros_like(times_h, dtype=float)
    starts, ends = np.sort(starts), np.sort(np.minimum(ends, 1e300))

    def elapsed_since(points):  # Σ_{p < t} (t - p)
        k = np.searchsorted(points, times_h, "right")
        head = np.concatenate([[0.0], np.cumsum(points)])
        return times_h * k - head[k]

    return elapsed_since(starts) - elapsed_since(ends)


def _mean_fraction_up(starts: np.ndarray, ends: np.ndarray, times_h: np.ndarray, n: int) -> np.ndarray:
    """1 - the mean number of assets inside an interval over each (t[k-1], t[k]], divided by n; at t[0] the
    instant value."""
    out = _cumulative_h(starts, ends, times_h)
    span = np.diff(times_h, prepend=times_h[:1])
    mean_out = np.diff(out, prepend=out[:1]) / np.where(span > 0, span, 1.0)
    instant = int(np.count_nonzero((starts <= times_h[0]) & (times_h[0] < ends))) if times_h.size else 0
    mean_out[:1] = instant
    return 1.0 - mean_out / n
