"""The one catalogue of quantities a sensor can observe: name, SI unit, physically possible range.

Every kind draws the quantities its sensors can observe from here; the sensor bank,
the engine's observation arrays, the virtual PLC's tag units and valid ranges and the
configuration's checks all read this table. The order is the order of the engine's
observation arrays (`simengine.physics.asset.Observation`), so it is fixed.
Pure data: importing it costs nothing (no numpy, no JAX).
"""

from __future__ import annotations

from dataclasses import dataclass

ABSOLUTE_ZERO_C = -273.15


@dataclass(frozen=True)
class Quantity:
    """An observable quantity. Outside [low, high] a reading is physically impossible and is flagged.
    `state`: a physics state a failure mode can put a limit on (crack depth, Miner damage, wear)."""

    name: str
    unit: str
    low: float
    high: float
    doc: str
    state: bool = False


CATALOGUE: dict[str, Quantity] = {q.name: q for q in (
    Quantity("vibration_rms", "m/s2", 0.0, 100.0, "RMS acceleration at the monitored joint"),
    Quantity("natural_frequency_hz", "Hz", 0.0, 1000.0, "first natural frequency of the cracked structure"),
    Quantity("temperature_C", "degC", -60.0, 250.0, "lumped temperature of the heated component (motor, gearbox)"),
    Quantity("load_factor", "1", -0.5, 3.0, "load as a fraction of rated load (crane) or rated power (turbine)"),
    Quantity("crack_m", "m", 0.0, 1.0, "crack depth", state=True),
    Quantity("damage", "1", 0.0, 100.0, "Palmgren-Miner damage sum", state=True),
    Quantity("wear", "1", 0.0, 10.0, "wear as a fraction of its limit", state=True),
)}

OBSERVABLES: tuple[str, ...] = tuple(CATALOGUE)
PHYSICS_QUANTITIES: tuple[str, ...] = tuple(q.name for q in CATALOGUE.values() if q.state)
UNITS: dict[str, str] = {q.name: q.unit for q in CATALOGUE.values()}
PHYSICAL_RANGE: dict[str, tuple[float, float]] = {q.name: (q.low, q.high) for q in CATALOGUE.values()}
