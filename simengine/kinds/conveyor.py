"""The belt conveyor of a bulk production line: shifts of running, a fluctuating material load, drive
pulley bearings that fatigue (ISO 281) and a belt cover that wears.

Its duty settings sit beside ``fleet.duty.kind`` (`ConveyorDutyConfig`); the duty itself,
`simengine.kinds.conveyor_duty.ConveyorDuty`, is imported when a duty is built.

What the engine's physics state means for a conveyor:

- ``damage``: the drive pulley bearings' fatigue, consumed by Miner's rule against the ISO 281
  basic rating life under the varying bearing load; it reaches 1 when the weakest bearing of the
  pulley spalls (each pulley's life drawn from the ISO 281 life distribution, see the duty);
- ``wear``: the belt's top cover, the engine's Archard-type law driven by the drive's load factor:
  the running belt wears per pass (scrapers, pulleys) and the material wears it per tonne;
- ``temperature_C``: the drive (motor and gearbox), heated by its losses;
- ``load_factor``: the drive's power as a fraction of its rated power (a motor power meter reads it).

It has no crack model (``crack_m``, ``natural_frequency_hz``): its steelwork is not fatigue-critical.
Units: kN for bearing loads, W for power and heat, m and s for the belt, °C for temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simengine.config.validate import spec
from simengine.kinds.base import PlcCounter
from simengine.kinds.quantities import ABSOLUTE_ZERO_C
from simengine.kinds.structural import StructuralKind

ISO_281_ROLLER = 10.0 / 3.0  # the life exponent p of roller bearings; 3 for ball bearings


@dataclass(frozen=True)
class ConveyorDutyConfig:
    """A belt conveyor on a production line run in shifts."""

    shifts: tuple[tuple[float, float], ...] = spec(default_factory=lambda: ((6.0, 14.0), (14.0, 22.0)), ge=0.0,
                                                   le=24.0, doc="(start, end) hour of day the line runs")
    running_days_per_week: int = spec(6, ge=1, le=7, doc="days the line runs, from the first of the week")
    mean_fill: float = spec(0.65, gt=0.0, le=1.0, doc="mean material load while running, fraction of rated capacity")
    fill_cv: float = spec(0.25, ge=0.0, doc="hour-to-hour scatter of the feed (lognormal)")
    hourly_autocorrelation: float = spec(0.8, ge=0.0, lt=1.0, doc="of the feed from one hour to the next")
    max_fill: float = spec(1.0, gt=0.0, doc="the most a belt carries; a surge above it spills or is held back")
    conveyor_scatter_cv: float = spec(0.05, ge=0.0, doc="each conveyor's fixed share of the line's feed (lognormal)")
    empty_power_fraction: float = spec(0.35, ge=0.0, lt=1.0, doc="drive power running empty, fraction of rated")
    rated_power_W: float = spec(250.0e3, gt=0.0)
    drive_loss_fraction: float = spec(0.07, ge=0.0, lt=1.0, doc="motor and gearbox losses, fraction of drive power")
    belt_speed_m_s: float = spec(4.0, gt=0.0)
    pulley_diameter_m: float = spec(1.0, gt=0.0, doc="drive pulley, whose bearings are modelled")
    bearing_C_kN: float = spec(380.0, gt=0.0, doc="basic dynamic load rating C of one pulley bearing (ISO 281)")
    bearing_load_kN: tuple[float, float] = spec(default_factory=lambda: (50.0, 70.0), gt=0.0,
                                                doc="equivalent load P on one bearing (running empty, at rated fill)")
    life_exponent: float = spec(ISO_281_ROLLER, gt=0.0, doc="p in L10 = (C/P)^p 10^6 rev: 10/3 roller, 3 ball")
    bearings: int = spec(2, ge=1, doc="bearings of the drive pulley; the first to spall stops the conveyor")
    life_modification: float = spec(1.0, gt=0.0, doc="a_ISO of ISO 281 (lubrication, contamination); 1 = basic life")
    ambient_mean_C: float = spec(15.0, ge=ABSOLUTE_ZERO_C)
    ambient_amplitude_C: float = spec(8.0, ge=0.0)

    def check(self):
        problems = []
        if not self.shifts:
            problems.append(("shifts", [], "needs at least one (start, end) shift; [[0, 24]] is round the clock"))
        problems += [(f"shifts[{i}]", list(s), "needs start < end") for i, s in enumerate(self.shifts)
                     if not s[0] < s[1]]
        empty, full = self.bearing_load_kN
        if empty > full:
            problems.append(("bearing_load_kN", [empty, full], "needs the empty load <= the load at rated fill"))
        if self.bearing_load(self.max_fill) >= 0.5 * self.bearing_C_kN:
            problems.append(("bearing_load_kN", [empty, full], f"P reaches C/2 ({self.bearing_C_kN / 2} kN) at "
                                                               "max_fill: beyond the range of ISO 281's life equation"))
        if self.ambient_mean_C - self.ambient_amplitude_C < ABSOLUTE_ZERO_C:
            problems.append(("ambient_amplitude_C", self.ambient_amplitude_C, "takes the ambient below absolute zero"))
        return problems

    @property
    def revolutions_per_h(self) -> float:
        """Drive pulley revolutions per running hour: v / (π D) per second."""
        return 3600.0 * self.belt_speed_m_s / (math.pi * self.pulley_diameter_m)

    def bearing_load(self, fill):
        """Equivalent bearing load P (kN) at a fill (fraction of rated capacity): the belt tensions rise
        linearly with the material's weight and resistance on the belt."""
        empty, full = self.bearing_load_kN
        return empty + (full - empty) * fill

    def l10_h(self, load_kN: float) -> float:
        """Basic rating life (h of running) of one bearing at a constant load: (C/P)^p 10^6 rev (ISO 281)."""
        return (self.bearing_C_kN / load_kN) ** self.life_exponent * 1.0e6 / self.revolutions_per_h


# The calibration model's parameters that mean something for a conveyor: its drive's thermal node and
# heating (hoist_heat_W is the drive's losses at rated power), the ambient, the start, the vibration level.
CALIBRATION_PARAMETERS = ("thermal_tau_s", "thermal_resistance_K_per_W", "hoist_heat_W", "ambient_C",
                          "initial_temp_C", "vibration_rms0")


class ConveyorKind(StructuralKind):
    name = "conveyor"
    labels = ("belt_conveyor",)
    settings_type = ConveyorDutyConfig
    quantities = ("vibration_rms", "temperature_C", "load_factor", "damage", "wear")
    plc_counters = (PlcCounter("load_time_s", "s", "the drive's energy meter in rated-power seconds: drive power "
                                                   "over rated power, integrated over time"),)
    fittable = CALIBRATION_PARAMETERS

    def build_duty(self, fleet, horizon_h: float, rng):
        from simengine.kinds.conveyor_duty import ConveyorDuty

        return ConveyorDuty(fleet.duty.settings, fleet.count, horizon_h, rng)

    def heat_at_rated_load_W(self, settings: ConveyorDutyConfig) -> float:
        """Drive losses at rated power (W); the duty's heat is this times the load factor."""
        return settings.drive_loss_fraction * settings.rated_power_W

    def steady_load_s(self, settings: ConveyorDutyConfig) -> float:
        """The feed holds for an hour in the duty model; shifts start and end on the hour."""
        return 3600.0


CONVEYOR = ConveyorKind()
