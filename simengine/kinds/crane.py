"""The ship-to-shore crane: container lifts load a welded boom joint and heat the hoist motor.

Its duty settings sit beside ``fleet.duty.kind`` (`LiftDutyConfig`); the duty itself,
`simengine.kinds.lift_duty.LiftDuty`, is imported when a duty is built, and its lift
cycle within the hour (`simengine.kinds.lift_cycle`) when the virtual PLC plays it.
Units: t for loads, MPa for stress, J and W for heat, °C for temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simengine.config.validate import spec
from simengine.kinds.base import CrackDriver, PlcCounter
from simengine.kinds.quantities import ABSOLUTE_ZERO_C
from simengine.kinds.structural import StructuralKind
from simengine.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class LiftDutyConfig:
    """Container lifts of a quay crane."""

    operating_hours_per_year: float = spec(5500.0, gt=0.0, le=HOURS_PER_YEAR)
    lifts_per_h: float = spec(30.0, gt=0.0, doc="moves per operating hour")
    load_classes_t: tuple[float, ...] = spec(default_factory=lambda: (18.0, 26.0, 34.0, 45.0), gt=0.0, doc="load per lift incl. spreader, t")
    load_probs: tuple[float, ...] = spec(default_factory=lambda: (0.25, 0.35, 0.28, 0.12), ge=0.0, le=1.0)
    stress_per_t_MPa: float = spec(2.4, gt=0.0, doc="stress range at the joint per tonne lifted")
    traffic_cv: float = spec(0.3, ge=0.0, doc="day-to-day scatter of traffic (gamma)")
    rated_load_t: float = spec(65.0, gt=0.0)
    heat_J_per_t: float = spec(25000.0, ge=0.0, doc="hoist motor losses per tonne lifted")
    ambient_mean_C: float = spec(15.0, ge=ABSOLUTE_ZERO_C)
    ambient_amplitude_C: float = spec(8.0, ge=0.0)

    def check(self):
        problems = []
        if self.load_classes_t and max(self.load_classes_t) > self.rated_load_t:
            problems.append(("load_classes_t", list(self.load_classes_t), f"must not exceed rated_load_t ({self.rated_load_t} t)"))
        if self.ambient_mean_C - self.ambient_amplitude_C < ABSOLUTE_ZERO_C:
            problems.append(("ambient_amplitude_C", self.ambient_amplitude_C, "takes the ambient below absolute zero"))
        if len(self.load_probs) != len(self.load_classes_t):
            problems.append(("load_probs", list(self.load_probs), f"needs one probability per load class ({len(self.load_classes_t)})"))
        elif not math.isclose(sum(self.load_probs), 1.0, abs_tol=1e-9):
            problems.append(("load_probs", list(self.load_probs), "must sum to 1"))
        return problems


# The parameters `simengine.calibration.model` can fit: the asset's physics parameters, the hoist's heat at
# rated load, the ambient, and the starting temperature and crack.
CALIBRATION_PARAMETERS = (
    "paris_C", "paris_m", "geometry_Y", "section_depth_m", "stiffness_sensitivity", "natural_frequency_hz",
    "vibration_rms0", "wear_vibration_gain", "thermal_tau_s", "thermal_resistance_K_per_W", "wear_rate_per_s",
    "wear_reference_C", "wear_doubling_K", "hoist_heat_W", "ambient_C", "initial_temp_C", "initial_crack_m",
)


class CraneKind(StructuralKind):
    name = "crane"
    aliases = ("lifts",)
    labels = ("sts_crane",)
    settings_type = LiftDutyConfig
    plc_counters = (PlcCounter("load_time_s", "s", "the hoisted load factor integrated over time, in rated-load "
                                                   "seconds, as a crane's load-spectrum recorder counts it"),)
    fittable = CALIBRATION_PARAMETERS

    def build_duty(self, fleet, horizon_h: float, rng):
        import numpy as np

        from simengine.engine.physics_setup import endurance_scatter, sn_curve
        from simengine.kinds.lift_duty import LiftDuty
        from simengine.physics import sn

        strength = endurance_scatter(fleet, rng)
        c = fleet.duty.settings
        stress = c.stress_per_t_MPa * np.asarray(c.load_classes_t)
        endurance = np.asarray(sn.cycles_to_failure(sn_curve(fleet), stress))[None, :] * strength[:, None]
        return LiftDuty(c, fleet.count, horizon_h, fleet.crack.paris_m, endurance, rng)

    def heat_at_rated_load_W(self, settings: LiftDutyConfig) -> float:
        """Motor losses while hoisting the rated load (W): heat_J_per_t for each tonne, over half a lift cycle."""
        return 2.0 * settings.heat_J_per_t * settings.rated_load_t * settings.lifts_per_h / 3600.0

    def load_cycle(self, settings: LiftDutyConfig, n_assets: int, rng):
        """Its lifts within the hour, as the virtual PLC's scans see them (`simengine.kinds.lift_cycle`)."""
        from simengine.kinds.lift_cycle import LiftCycle

        return LiftCycle(settings, n_assets, rng, self.heat_at_rated_load_W(settings))

    def steady_load_s(self, settings: LiftDutyConfig) -> float:
        """Half a lift cycle: the hoist lifts, or returns empty."""
        return 1800.0 / settings.lifts_per_h

    def crack_driver(self, settings: LiftDutyConfig, paris_m: float) -> CrackDriver:
        from simengine.kinds.lift_duty import driver_cv_per_day, expected_driver_per_s

        return CrackDriver(expected_driver_per_s(settings, paris_m), driver_cv_per_day(settings, paris_m))


CRANE = CraneKind()
