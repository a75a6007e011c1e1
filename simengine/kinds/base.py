"""What an asset kind supplies to the engine, the configuration, the virtual PLC and the calibration.

A kind is one object (`AssetKind`), found by name in `simengine.kinds.registry`. The engine
asks it for the duty (the load inputs over time), the physics parameters and the
initial state; the configuration asks it which quantities its sensors can observe and
what its duty settings are; the virtual PLC (`simengine.virtual_plc`) reads what it serves
beyond one tag per sensor and, where the kind has one, plays its load cycle within the hour;
the calibration reads what it can fit and the few facts of the duty its models need.
Nothing outside `simengine/kinds/` tests a kind's name.

Cold start: a kind module defines its settings and this data at top level and imports
its duty and physics code (numpy, JAX) inside its methods, so that a configuration is
checked without importing JAX.

Units: hours for time, s where a name says so, MPa for stress, W for heat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # only for the annotations: importing them would import JAX
    import numpy as np

    from simengine.config.scenario import DutyConfig, FleetConfig
    from simengine.physics.asset import AssetInputs, AssetParams, AssetState


class Duty(Protocol):
    """A fleet's loads over its horizon, drawn up front, served for any window deterministically.

    A kind whose weather decides offshore access (`AssetKind.sea_state`) also has
    ``wave_height_m``: significant wave height (m) of each hour from t = 0.
    """

    def inputs(self, t0_h: float, n_rows: int, dt_h: float) -> AssetInputs:
        """Physics inputs of `n_rows` intervals of `dt_h` from `t0_h`: arrays (n_rows, n_assets)."""
        ...


@dataclass(frozen=True)
class PlcCounter:
    """A tag the virtual PLC serves once per asset besides one tag per sensor: an integrating counter.
    Its quantity is a word of the tag maps' vocabulary, e.g. ``load_time_s`` (`simengine.plc.tags.LOAD_COUNTER`)."""

    quantity: str
    unit: str
    doc: str


class LoadCycle(Protocol):
    """A load cycle shorter than the duty's hour (a crane's lifts), which the virtual PLC plays within
    each hour so that its scans see the load rise and fall as a real PLC's do."""

    def inputs(self, t_s: float, dt_s: float, hourly: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The physics inputs of the scan [t_s, t_s + dt_s] (s), by `AssetInputs` field (arrays (n_assets,)),
        from the hour's mean inputs `hourly`. Called once or more per scan, in time order."""
        ...


def load_cycle(kind, settings: Any, n_assets: int, rng: np.random.Generator) -> LoadCycle | None:
    """The kind's load cycle within the hour for `n_assets` assets, drawing from `rng`; None where the kind
    has none (its optional member ``load_cycle``): then the hour's mean inputs hold through the hour."""
    make = getattr(kind, "load_cycle", None)
    return None if make is None else make(settings, n_assets, rng)


@dataclass(frozen=True)
class CrackDriver:
    """The mean crack driver Σ Δσ^m of a duty per second (MPa^m/s) and the relative sd of a day's driver."""

    per_s: float
    cv_per_day: float


class AssetKind(Protocol):
    """Everything a kind of asset supplies. `simengine.kinds.structural.StructuralKind` has the defaults
    of a kind that carries the engine's structural physics (crack, S-N damage, heat, vibration, wear)."""

    name: str
    """Its name in the registry and in messages."""
    aliases: tuple[str, ...]
    """Other values of ``fleet.duty.kind`` that select it; the first is the one shipped scenarios use."""
    labels: tuple[str, ...]
    """Values of the free label ``fleet.kind`` that mean this kind (a scenario with one needs this kind)."""
    settings_type: type | None
    """The dataclass schema of its duty settings, or None: the keys beside ``kind`` in ``fleet.duty``
    (``{kind: wind, mean_wind_m_s: 9}``) build it, with `simengine.config.build`, into ``fleet.duty.settings``."""
    quantities: tuple[str, ...]
    """What its sensors can observe: names in `simengine.kinds.quantities.CATALOGUE`."""
    sea_state: bool
    """Whether its duty brings the sea state (``wave_height_m``) that offshore access needs."""
    plc_counters: tuple[PlcCounter, ...]
    """What the virtual PLC serves per asset besides one tag per sensor and the PLC clock."""
    fittable: tuple[str, ...]
    """Parameters the calibration can fit for it (empty: it cannot be calibrated)."""

    def settings(self, duty: DutyConfig) -> Any:
        """Its typed duty settings: ``duty.settings``, already built and checked (`StructuralKind` has this)."""
        ...

    def build_duty(self, fleet: FleetConfig, horizon_h: float, rng: np.random.Generator) -> Duty | None:
        """The fleet's duty over `horizon_h` from its own random stream; None for assets without physics loads."""
        ...

    def build_params(self, fleet: FleetConfig, rng: np.random.Generator) -> AssetParams:
        """Physics parameters of every asset (arrays (n_assets,)), drawn from the physics stream."""
        ...

    def initial_state(self, fleet: FleetConfig, rng: np.random.Generator) -> AssetState:
        """Physics state of every asset at t = 0, drawn from the physics stream after the parameters."""
        ...

    def heat_at_rated_load_W(self, settings: Any) -> float | None:
        """Heat into the thermal model at rated load (W), which the calibration scales by the measured load;
        None: the calibration has no heating model for this kind."""
        ...

    def steady_load_s(self, settings: Any) -> float:
        """The shortest time (s) its load holds still (inf: no shorter than any gap)."""
        ...

    def crack_driver(self, settings: Any, paris_m: float) -> CrackDriver | None:
        """The duty's mean crack driver and its day-to-day scatter, for tracking a crack; None: unknown."""
        ...

    # Optional (read through `load_cycle`, so a kind without it is still a kind):
    # def load_cycle(self, settings, n_assets: int, rng) -> LoadCycle | None
