"""Maintenance policies: when and how defects are looked for.

- corrective: nothing is looked for; assets are repaired when they fail.
- scheduled: every asset is inspected at a fixed interval (staggered over the
  fleet); a crack is found with the probability of detection
  PoD(a) = 1 / (1 + (a50/a)^(1/s)), a log-logistic curve in crack depth a
  (the â-vs-a model of MIL-HDBK-1823A), with a50 the depth found half the time;
  wear is found once it passes a visible fraction of its limit (borescope);
  Miner damage is invisible.
- condition_based: a sensor alarm raises a work order: a crew inspects the
  asset (same PoD) and, if it finds a defect, repairs it; otherwise the visit
  is logged as "no fault found" and the asset's alarms re-arm after a hold-off.

With any of these, `policy.replacement` may replace components with a
configured life before they fail: at a fixed age, or all at once on a
calendar interval (block); see `Fleet.plan_replacement`.
"""

from __future__ import annotations

import numpy as np
import simpy

from simengine.config.scenario import PolicyConfig, replaced_components
from simengine.engine.fleet import Fleet
from simengine.engine.maintenance import INSPECTION, PLANNED, Maintenance


def probability_of_detection(crack_m, a50_m: float, slope: float):
    crack = np.maximum(np.asarray(crack_m, float), 1e-12)
    return 1.0 / (1.0 + (a50_m / crack) ** (1.0 / slope))


class Inspector:
    """Inspections, scheduled or on alarm, and what they find."""

    def __init__(self, env: simpy.Environment, policy: PolicyConfig, fleet: Fleet, maintenance: Maintenance,
                 rng: np.random.Generator):
        self.env, self.policy, self.fleet, self.maintenance, self.rng = env, policy, fleet, maintenance, rng
        self.inspections = 0
        self.alarms = 0
        self.no_fault_found = 0
        self.sensors_replaced = 0
        self.cost_eur = 0.0
        self._visiting: set[int] = set()  # assets with an inspection queued or under way
        if policy.replacement.kind != "none":
            fleet.plan_replacement(policy.replacement, replaced_components(policy.replacement, fleet.cfg))
        if policy.kind == "scheduled" and fleet.physics is not None:
            interval = policy.inspection.interval_h
            for i in range(fleet.n):
                env.process(self._every(i, interval * (i + 1) / fleet.n, interval))

    def _every(self, i: int, first_h: float, interval_h: float):
        yield self.env.timeout(first_h)
        while True:
            self.env.process(self._inspect(i, INSPECTION, "inspection"))
            yield self.env.timeout(interval_h)

    def on_alarm(self, asset: int, sensor: int, value: float) -> None:
        self.alarms += 1
        self.fleet.log.record(self.env.now, asset, "alarm", value)
        if self.policy.kind == "condition_based" and not self.fleet.repair_open[asset]:
            self.env.process(self._after(self.policy.alarm_response_h, self._inspect(asset, PLANNED, "alarm")))

    def _after(self, delay_h: float, process):
        if delay_h > 0:
            yield self.env.timeout(delay_h)
        yield self.env.process(process)

    def _inspect(self, i: int, priority: int, via: str):
        spec = self.policy.inspection
        if i in self._visiting or self.fleet.repair_open[i] or self.fleet.broken[i].any():
            return  # a crew is coming anyway
        self._visiting.add(i)
        down = spec.takes_asset_down
        done = yield from self.maintenance.perform(priority, spec.duration_h,
                                                   on_site=(lambda: self.fleet.go_down(i)) if down else None)
        if not done:
            return
        if down:
            self.fleet.come_up(i)
        self._visiting.discard(i)
        self.inspections += 1
        self.cost_eur += spec.cost_eur
        self.fleet.log.record(self.env.now, i, "inspection")
        self.sensors_replaced += self.fleet.physics.replace_stuck_sensors(i, self.env.now)
        found = self._find(i)
        if found is not None:
            self.fleet.planned_repair(i, found, via)
        elif via == "alarm":
            self.no_fault_found += 1
            self.fleet.log.record(self.env.now, i, "no_fault_found")
            self.env.process(self._rearm(i))

    def _rearm(self, i: int):
        """After a visit that found nothing, the asset's alarms watch again after a hold-off
        (without one, an alarm that stays on would call a crew every hour)."""
        yield self.env.timeout(self.policy.rearm_after_h)
        if not self.fleet.repair_open[i]:
            self.fleet.physics.rearm(i, self.env.now)

    def _find(self, i: int) -> int | None:
        """Index of the first failure mode found on asset i, or None."""
        state = self.fleet.physics.state_at(i, self.env.now)
        spec = self.policy.inspection
        for j, mode in enumerate(self.fleet.cfg.physics_failures):
            if mode.quantity == "crack_m":
                pod = probability_of_detection(state["crack_m"], spec.pod_a50_m, spec.pod_slope)
                if self.rng.random() < pod:
                    return j
            elif mode.quantity == "wear" and state["wear"] >= spec.wear_visible_fraction * mode.limit:
                return j
        return None
