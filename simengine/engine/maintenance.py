"""Crews and spare parts: who does the work, when, with what.

Crews are a `CrewPool`: a counted resource whose waiting work orders are
served by priority (failures first, then planned repairs, then inspections),
first come first served within one. A granted crew waits for its shift
and, offshore, for a weather window, travels, takes the spare part (waiting
for delivery if the store is empty) and works; work that does not fit in a
shift resumes at the next one. Times in hours, money in euros.
"""

from __future__ import annotations

import heapq
import itertools
import math

import simpy

from simengine.config.scenario import CrewConfig, SparePart
from simengine.engine.calendar import AccessWindows, ShiftCalendar, next_start

FAILURE, PLANNED, INSPECTION = 0, 1, 2  # work-order priorities, lower first


class Maintenance:
    def __init__(self, env: simpy.Environment, crews: CrewConfig, spares: dict[str, SparePart],
                 access: AccessWindows | None = None):
        self.env = env
        self.crews = CrewPool(env, crews.count)
        self.calendar = ShiftCalendar(crews.shifts)
        self.access = access
        self.travel_h = crews.travel_h
        self.hourly_cost = crews.hourly_cost_eur
        self._immediate = self.calendar.always and access is None and self.travel_h == 0.0
        self.stores = {name: _PartStore(env, name, spec) for name, spec in spares.items()}
        self.crew_hours = 0.0
        self.work_orders = 0
        self.wait_h = 0.0  # work-order hours spent waiting for a free crew, by orders that got one
        self._waiting: dict[int, float] = {}  # orders still waiting: key -> time asked
        self._keys = itertools.count()

    def wait_h_until(self, t_h: float) -> float:
        """Hours work orders waited for a crew up to `t_h`, counting those still waiting then.

        Without the orders still in the queue, a saturated crew pool (orders
        that never get a crew) would look as if nobody waited long.
        """
        return self.wait_h + sum(t_h - asked for asked in self._waiting.values())

    def perform(self, priority: int, work_h: float, part: str | None = None, on_site=None):
        """Generator: carry out one work order; use as ``yield from maintenance.perform(...)``.

        `on_site()` is called when the crew starts work (after shift, access, travel and part).
        Returns False if the work could not be done within the horizon (no access left).
        """
        env = self.env
        self.work_orders += 1
        wait = self.crews.acquire(priority)
        if wait is not None:
            asked, key = env.now, next(self._keys)
            self._waiting[key] = asked
            yield wait
            del self._waiting[key]
            self.wait_h += env.now - asked
        try:
            if self._immediate and part is None:
                if on_site is not None:
                    on_site()
                yield env.timeout(work_h)  # round the clock, onshore, no parts: one event
                self.crew_hours += work_h
                return True
            return (yield from self._on_site(work_h, part, on_site))
        finally:
            self.crews.release()

    def _on_site(self, work_h: float, part: str | None, on_site):
        """A granted crew: wait for shift and access, travel, take the part, work."""
        env = self.env
        granted = env.now
        start = next_start(granted, self.calendar, self.access)
        if math.isinf(start):
            yield env.event()  # no access left within the horizon: the order stays open
            return False
        if start > granted:
            yield env.timeout(start - granted)
        if self.travel_h > 0.0:
            yield env.timeout(self.travel_h)
        if part is not None:
            yield from self.stores[part].take()
        if on_site is not None:
            on_site()
        finish = self.calendar.finish_time(env.now, work_h)
        yield env.timeout(finish - env.now)
        self.crew_hours += self.travel_h + work_h
        return True

    @property
    def labour_cost_eur(self) -> float:
        return self.crew_hours * self.hourly_cost

    @property
    def parts_cost_eur(self) -> float:
        return sum(s.cost_eur for s in self.stores.values())


class CrewPool:
    """`capacity` crews; work orders wait in a priority queue.

    Leaner than `simpy.PriorityResource` (which re-sorts its queue on every
    request and always schedules a request event): a free crew is taken with
    no event at all, and a released crew is handed straight to the next
    work order. This keeps the engine within a few per cent of a hand-written
    SimPy model (see `simengine bench`).
    """

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env, self.capacity, self.free = env, capacity, capacity
        self._queue: list[tuple[int, int, simpy.Event]] = []
        self._order = itertools.count()

    def acquire(self, priority: int) -> simpy.Event | None:
        """None if a crew was free and is now taken; else an event that fires when one is."""
        if self.free > 0:
            self.free -= 1
            return None
        ev = self.env.event()
        heapq.heappush(self._queue, (priority, next(self._order), ev))
        return ev

    def release(self) -> None:
        if self._queue:
            heapq.heappop(self._queue)[2].succeed()
        else:
            self.free += 1

    @property
    def queued(self) -> int:
        return len(self._queue)


class _PartStore:
    """A spare-part store with a reorder point and a delivery lead time."""

    def __init__(self, env: simpy.Environment, name: str, spec: SparePart):
        self.env, self.name, self.spec = env, name, spec
        self.stock = simpy.Container(env, init=spec.initial)
        self.on_order = 0
        self.cost_eur = 0.0

    def take(self):
        self.stock_check()
        yield self.stock.get(1)
        self.stock_check()

    def stock_check(self) -> None:
        if self.stock.level + self.on_order <= self.spec.reorder_point:
            self.on_order += self.spec.order_quantity
            self.env.process(self._deliver(self.spec.order_quantity))

    def _deliver(self, quantity: int):
        yield self.env.timeout(self.spec.lead_time_h)
        self.cost_eur += quantity * self.spec.unit_cost_eur
        self.on_order -= quantity
        yield self.stock.put(quantity)
