"""The offshore wind turbine: one farm weather loads its blade roots and heats its gearbox.

Its duty settings sit beside ``fleet.duty.kind`` (`WindDutyConfig`); the duty itself,
`simengine.kinds.wind_duty.WindDuty`, is imported when a duty is built. Its weather
brings the sea state, which decides when crews can go offshore.
Units: m/s for wind, W for power and heat, MPa for stress, m for waves, °C.
"""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec
from simengine.kinds.quantities import ABSOLUTE_ZERO_C
from simengine.kinds.structural import StructuralKind


@dataclass(frozen=True)
class WindDutyConfig:
    """A wind turbine in a farm sharing one weather."""

    mean_wind_m_s: float = spec(9.0, gt=0.0)
    weibull_k: float = spec(2.0, gt=0.0)
    hourly_autocorrelation: float = spec(0.97, ge=0.0, lt=1.0)
    cut_in_m_s: float = spec(3.0, ge=0.0)
    rated_m_s: float = spec(12.0, gt=0.0)
    cut_out_m_s: float = spec(25.0, gt=0.0)
    rated_power_W: float = spec(3.0e6, gt=0.0)
    gearbox_loss_fraction: float = spec(0.03, ge=0.0, lt=1.0)
    rotor_cycles_per_h: float = spec(900.0, gt=0.0)
    blade_stress_MPa: tuple[float, float] = spec(default_factory=lambda: (10.0, 30.0), ge=0.0, doc="(gravity part, aero part at rated wind)")
    turbine_scatter_cv: float = spec(0.05, ge=0.0)
    mean_wave_height_m: float = spec(1.2, gt=0.0)
    wave_cv: float = spec(0.5, gt=0.0)
    ambient_mean_C: float = spec(10.0, ge=ABSOLUTE_ZERO_C)
    ambient_amplitude_C: float = spec(6.0, ge=0.0)

    def check(self):
        problems = []
        if not self.cut_in_m_s < self.rated_m_s < self.cut_out_m_s:
            problems.append(("", [self.cut_in_m_s, self.rated_m_s, self.cut_out_m_s], "needs cut_in_m_s < rated_m_s < cut_out_m_s"))
        if self.ambient_mean_C - self.ambient_amplitude_C < ABSOLUTE_ZERO_C:
            problems.append(("ambient_amplitude_C", self.ambient_amplitude_C, "takes the ambient below absolute zero"))
        return problems


class WindKind(StructuralKind):
    name = "wind"
    labels = ("wind_turbine",)
    settings_type = WindDutyConfig
    sea_state = True

    def build_duty(self, fleet, horizon_h: float, rng):
        import numpy as np

        from simengine.engine.physics_setup import endurance_scatter, sn_curve
        from simengine.kinds.wind_duty import WindDuty
        from simengine.physics import sn

        strength = endurance_scatter(fleet, rng)
        curve = sn_curve(fleet)

        def endurance(stress):
            return np.asarray(sn.cycles_to_failure_compiled(curve, stress))

        return WindDuty(fleet.duty.settings, fleet.count, horizon_h, fleet.crack.paris_m, endurance, strength, rng)


WIND = WindKind()
