"""Typed schema of `simengine calibrate`."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec

LOSSES = ("linear", "huber", "soft_l1", "cauchy")  # the robust losses of calibration.least_squares
DEFAULT_PARAMETERS = ("thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C", "initial_temp_C",
                      "natural_frequency_hz", "vibration_rms0")


@dataclass(frozen=True)
class VirtualSource:
    """The embedded virtual PLC: hidden true parameters the calibration should find."""

    seed: int = spec(0, ge=0)
    true_params: dict[str, float] = spec(default_factory=dict, doc="e.g. thermal_tau_s: 1500")
    initial_crack_m: float | None = spec(None, gt=0.0, doc="hidden crack depth at the start; None: the scenario's draw")


@dataclass(frozen=True)
class FitSettings:
    parameters: tuple[str, ...] = spec(default_factory=lambda: DEFAULT_PARAMETERS)
    initial: dict[str, float] = spec(default_factory=dict, doc="starting values; default the scenario's")
    lower: dict[str, float] = spec(default_factory=dict)
    upper: dict[str, float] = spec(default_factory=dict)
    loss: str = spec("linear", choices=LOSSES)
    f_scale: float = spec(3.0, gt=0.0, doc="robust loss: residuals beyond this many noise sd count less")
    noise_sd: dict[str, float] = spec(default_factory=dict, doc="per quantity; default estimated from the readings")
    confidence: float = spec(0.95, gt=0.0, lt=1.0)
    max_evaluations: int = spec(200, ge=2)


@dataclass(frozen=True)
class ContinuousSettings:
    """Rolling re-fit and crack tracking while readings stream in."""

    enabled: bool = spec(False)
    window_s: float = spec(3600.0, gt=0.0, doc="re-fit on the last window_s of readings (model seconds)")
    refit_every_s: float = spec(900.0, gt=0.0)
    feature_s: float = spec(3600.0, gt=0.0, doc="the crack filter's step: one frequency feature per feature_s")
    initial_crack_sd_m: float = spec(2.0e-3, gt=0.0, doc="prior sd of the crack depth around the scenario's")
    initial_crack_m: float | None = spec(None, gt=0.0, doc="prior mean crack; None: the scenario's median flaw")
    f0_sd_hz: float = spec(0.002, ge=0.0, doc="sd of the uncracked joint's natural frequency (an earlier calibration's)")
    rul_samples: int = spec(2000, ge=10)
    rul_horizon_years: float = spec(25.0, gt=0.0)


@dataclass(frozen=True)
class CalibrateConfig:
    source: str = spec("virtual", choices=("virtual", "modbus", "opcua", "hdf5"))
    asset: int = spec(0, ge=0, doc="the asset whose tags are fitted")
    duration_s: float = spec(3600.0, gt=0.0, doc="readings to collect: simulated s (virtual), wall s (live)")
    rate_hz: float = spec(1.0, gt=0.0, le=100.0)
    time_factor: float = spec(1.0, gt=0.0, doc="simulated s per wall s of a virtual PLC served faster than real time")
    clock_tag: str = spec("auto", doc="a tag holding each scan's time in s, used instead of arrival times (and "
                                      "time_factor); auto: the map's clock_s tag if it has one; empty: arrival times")
    tagmap: str = spec("", doc="tag map YAML; empty: the virtual PLC's map for the scenario")
    host: str | None = spec(None, doc="override the tag map's host (live sources)")
    port: int | None = spec(None, ge=1, le=65535)
    opcua_secure: bool = spec(False)
    certificate_dir: str = spec("results/pki")
    credentials_file: str = spec("", doc="user/password file (mode 0600); empty: SIMENGINE_OPCUA_USER/_PASSWORD")
    hdf5: str = spec("", doc="a recording (source=hdf5)")
    plausibility: str = spec("refuse", choices=("refuse", "warn", "off"),
                             doc="live sources: a map whose first readings show the wrong word order: refuse, "
                                 "warn, or do not check")
    virtual: VirtualSource = spec(default_factory=VirtualSource)
    fit: FitSettings = spec(default_factory=FitSettings)
    continuous: ContinuousSettings = spec(default_factory=ContinuousSettings)
    min_coverage: float = spec(0.5, ge=0.0, le=1.0, doc="refuse readings below this share of those asked for "
                               "(duration_s × rate_hz reading times; a PLC that stopped, a link that dropped); below "
                               "0.9 the calibration warns")
    out_dir: str = spec("results")
    plots: bool = spec(True)
