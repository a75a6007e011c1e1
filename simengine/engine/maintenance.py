"""Crews and spare parts: who does the work, when, with what.

Crews are a `CrewPool`: a counted resource whose waiting work orders are
served by priority (failures first, then planned repairs, then inspections),
first come first served within one. A granted crew waits for its shift
and, offshore, for a weather window, travels, takes the spare part (waiting
for delivery if the store is empty) and works; work that does not fit in a
shift resumes at the next one. A repair given to a contractor
(`RepairConfig.by`) holds no crew: it waits for access and its part, then
runs round the clock. Times in hours, money in euros.
"""

from __future__ import annotations

import heapq
import itertools
import math

import simpy
from simpy.events import NORMAL

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
        self.work_orders = 0  # for the crews
        self.contracts = 0  # work by contractors, who hold no crew

    @property
    def wait_h(self) -> float:
        """Work-order hours spent waiting for a free crew, by orders that got one."""
        return self.crews.wait_h

    def wait_h_until(self, t_h: float) -> float:
        """Hours work orders waited for a crew up to `t_h`, counting those still waiting then.

        Without the orders still in the queue, a saturated crew pool (orders
        that never get a crew) would look as if nobody waited long.
        """
        return self.crews.wait_h + sum(t_h - asked for asked in self.crews.asked_h())

    def perform(self, priority: int, work_h: float, part: str | None = None, on_site=None):
        """Generator: carry out one work order; use as ``yield from maintenance.perform(...)``.

        `on_site()` is called when the crew starts work (after shift, access, travel and part).
        Returns False if the work could not be done within the horizon (no access left).
        """
        self.work_orders += 1
        crews = self.crews
        if self._immediate and part is None and on_site is None:
            # Round the clock, onshore, no part, nothing to do on arrival: the crew works as soon as it is
            # granted, so the order is one event from the ask to the end of the work, waiting or not.
            yield crews.acquire(priority, work_h)
            self.crew_hours += work_h
            crews.release()
            return True
        wait = crews.acquire(priority)
        if wait is not None:
            yield wait
        try:
            if self._immediate and part is None:
                if on_site is not None:
                    on_site()
                yield self.env.timeout(work_h)  # round the clock, onshore, no parts: one event
                self.crew_hours += work_h
                return True
            return (yield from self._on_site(work_h, part, on_site))
        finally:
            crews.release()

    def contract(self, priority: int, work_h: float, part: str | None = None, on_site=None):
        """Generator: work done by a contractor (`RepairConfig.by`), like `perform` but holding no crew:
        it starts once access allows (offshore weather), takes the part, and works round the clock;
        mobilisation belongs in `work_h`. `priority` is not used: contractors do not queue for crews."""
        env = self.env
        self.contracts += 1
        start = self.access.next_open(env.now) if self.access is not None else env.now
        if math.isinf(start):
            yield env.event()  # no access left within the horizon: the order stays open
            return False
        if start > env.now:
            yield env.timeout(start - env.now)
        if part is not None:
            yield from self.stores[part].take()
        if on_site is not None:
            on_site()
        yield env.timeout(work_h)
        return True

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
    work order. An order that knows how long it holds its crew (round-the-clock
    work with nothing to wait for once granted) is one event from the ask to
    the end of the work. This keeps the engine at or below a hand-written SimPy
    model (see `simengine bench`).
    """

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env, self.capacity, self.free = env, capacity, capacity
        self.wait_h = 0.0  # hours waited by orders that got a crew
        self._queue: list[tuple[int, int, _Order]] = []
        self._order = itertools.count()

    def acquire(self, priority: int, hold_h: float | None = None) -> simpy.Event | None:
        """Ask for a crew.

        Without `hold_h`: None if a crew was free and is now taken, else an
        event that fires when one is granted. With `hold_h`: an event that
        fires `hold_h` hours after a crew is granted (now, if one is free).
        """
        if self.free > 0:
            self.free -= 1
            return None if hold_h is None else self.env.timeout(hold_h)
        order = _Order(self.env, hold_h)
        heapq.heappush(self._queue, (priority, next(self._order), order))
        return order

    def release(self) -> None:
        if self._queue:
            order = heapq.heappop(self._queue)[2]
            self.wait_h += self.env.now - order.asked_h
            order.grant()
        else:
            self.free += 1

    def asked_h(self) -> list[float]:
        """When each order still waiting asked, in the order they asked."""
        return [order.asked_h for _, _, order in sorted(self._queue, key=lambda entry: entry[1])]

    @property
    def queued(self) -> int:
        return len(self._queue)


class _Order(simpy.Event):
    """A work order waiting for a crew: fires when granted, or `hold_h` hours after."""

    def __init__(self, env: simpy.Environment, hold_h: float | None):
        super().__init__(env)
        self.asked_h = env.now
        self.hold_h = hold_h

    def grant(self) -> None:
        if self.hold_h is None:
            self.succeed()
        else:  # `succeed` with a delay, as `simpy.Timeout` triggers itself
            self._ok, self._value = True, None
            self.env.schedule(self, NORMAL, self.hold_h)


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
