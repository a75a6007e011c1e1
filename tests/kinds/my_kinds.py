"""my_kinds.py: a centrifugal pump as a simengine asset kind (the README's example). It runs or stands still
hour by hour; while it runs, pressure pulses load the weld of its shaft and the motor's losses heat it."""
from dataclasses import dataclass

from simengine.config import spec
from simengine.kinds import StructuralKind


@dataclass(frozen=True)
class PumpDuty:
    running_fraction: float = spec(0.7, gt=0.0, le=1.0, doc="share of hours the pump runs")
    pulses_per_h: float = spec(6000.0, gt=0.0, doc="pressure pulses per running hour")
    stress_MPa: float = spec(30.0, gt=0.0, doc="stress range at the shaft weld per pulse")
    motor_loss_W: float = spec(4000.0, ge=0.0, doc="motor losses while running, W")
    ambient_C: float = spec(25.0, doc="pump room temperature, °C")


class PumpLoads:
    """Which hours each pump runs, drawn up front; the physics inputs of any window from them."""

    def __init__(self, cfg: PumpDuty, n_pumps: int, horizon_h: float, paris_m: float, endurance: float, rng):
        self.cfg, self.paris_m, self.endurance = cfg, paris_m, endurance
        self.running = rng.random((int(horizon_h) + 1, n_pumps)) < cfg.running_fraction

    def inputs(self, t0_h, n_rows, dt_h):
        import numpy as np
        from simengine.physics import AssetInputs

        hour = np.minimum((t0_h + (np.arange(n_rows) + 0.5) * dt_h).astype(int), len(self.running) - 1)
        on = self.running[hour].astype(float)  # (n_rows, n_pumps)
        cycles = self.cfg.pulses_per_h * dt_h * on
        return AssetInputs(paris_driver=cycles * self.cfg.stress_MPa ** self.paris_m,
                           miner_increment=cycles / self.endurance,
                           heat_W=self.cfg.motor_loss_W * on,
                           ambient_C=np.full(on.shape, self.cfg.ambient_C),
                           load_factor=on)


class Pump(StructuralKind):
    name = "pump"
    settings_type = PumpDuty  # its settings: beside fleet.duty.kind

    def build_duty(self, fleet, horizon_h, rng):
        from simengine.engine.physics_setup import sn_curve
        from simengine.physics import cycles_to_failure

        cfg = fleet.duty.settings  # a PumpDuty, built and checked
        endurance = float(cycles_to_failure(sn_curve(fleet), cfg.stress_MPa))
        return PumpLoads(cfg, fleet.count, horizon_h, fleet.crack.paris_m, endurance, rng)
