"""The catalogue of a replica's key performance indicators: name, unit, kind and range.

`simulation.Replica.kpis` reports exactly these, in this order (a plant's
scenario adds each group's, named ``<group>.<kpi>``: `kpi_catalogue`); the summary
picks each KPI's confidence interval from its kind and range (a count of
events per replica, a fraction in [0, 1], a continuous quantity), never
from its name.
"""

from __future__ import annotations

import math

from simengine.results.summary import KpiSpec

_COUNT, _HOURS, _EUR = "count", "h", "EUR"

KPIS: dict[str, KpiSpec] = {
    "availability": KpiSpec("fraction", "1", 0.0, 1.0, "time producing / time, weighted by capacity "
                                                       "(one fleet: fleet time up / fleet time)"),
    "failures": KpiSpec("count", _COUNT, doc="failures of any mode"),
    "structural_failures": KpiSpec("count", _COUNT, doc="physics failures (crack, damage, wear limit)"),
    "failures_prevented": KpiSpec("count", _COUNT,
                                  doc="planned repairs of defects that would have failed in the horizon"),
    "detection_lead_time_h": KpiSpec("continuous", _HOURS, doc="mean time from detection to the forecast failure"),
    "downtime_h": KpiSpec("continuous", _HOURS, doc="asset-hours down"),
    "inspections": KpiSpec("count", _COUNT),
    "alarms": KpiSpec("count", _COUNT),
    "no_fault_found": KpiSpec("count", _COUNT, doc="alarm visits that found nothing"),
    "sensors_stuck": KpiSpec("count", _COUNT),
    "sensors_replaced": KpiSpec("count", _COUNT),
    "work_orders": KpiSpec("count", _COUNT),
    "preventive_replacements": KpiSpec("count", _COUNT, doc="components replaced before failure (policy.replacement)"),
    "crew_wait_h": KpiSpec("continuous", _HOURS,
                           doc="mean wait of a work order for a crew, those still waiting at the horizon included"),
    "crew_utilisation": KpiSpec("fraction", "1", 0.0, 1.0, "crew hours worked / crew hours available"),
    "maintenance_cost_eur": KpiSpec("continuous", _EUR),
    "failure_cost_eur": KpiSpec("continuous", _EUR),
    "downtime_cost_eur": KpiSpec("continuous", _EUR),
    "total_cost_eur": KpiSpec("continuous", _EUR),
    "sensor_volume_saved": KpiSpec("fraction", "1", 0.0, 1.0, "1 - messages sent / raw samples"),
    "sensor_reduction_factor": KpiSpec("continuous", "1", doc="raw samples / messages sent"),
}

GROUP_KPIS: dict[str, KpiSpec] = {
    "availability": KpiSpec("fraction", "1", 0.0, 1.0, "the group's asset time up / asset time"),
    "producing": KpiSpec("fraction", "1", 0.0, 1.0, "asset time up and fed by every asset upstream / asset time"),
    "failures": KpiSpec("count", _COUNT, doc="failures of any mode"),
    "downtime_h": KpiSpec("continuous", _HOURS, doc="asset-hours down"),
    "lost_h": KpiSpec("continuous", _HOURS, doc="asset-hours not producing: down, or starved upstream"),
    "maintenance_cost_eur": KpiSpec("continuous", _EUR, doc="inspections and repairs (crew labour and parts are "
                                                            "the plant's)"),
    "failure_cost_eur": KpiSpec("continuous", _EUR),
    "downtime_cost_eur": KpiSpec("continuous", _EUR, doc="lost_h at the group's downtime_eur_per_h"),
}

UNITS: dict[str, str] = {name: spec.unit for name, spec in KPIS.items()}


def kpi_catalogue(scenario) -> dict[str, KpiSpec]:
    """The KPIs a replica of `scenario` reports: the plant's, then each group's as <group>.<kpi>."""
    groups = getattr(scenario, "groups", None) or {}
    return {**KPIS, **{f"{g}.{name}": spec for g in groups for name, spec in GROUP_KPIS.items()}}


def out_of_range(kpis: dict[str, float], catalogue: dict[str, KpiSpec] = KPIS) -> list[str]:
    """Each KPI whose value lies outside its declared range (NaN means 'none' and passes)."""
    return [f"{name} = {value!r} outside [{catalogue[name].low}, {catalogue[name].high}]"
            for name, value in kpis.items()
            if name in catalogue and not math.isnan(value) and not catalogue[name].low <= value <= catalogue[name].high]
