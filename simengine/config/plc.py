"""Typed schema of `simengine plc serve` and `simengine plc record`."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from simengine.config.validate import Problem, spec

ABSOLUTE_ZERO_C = -273.15
# each hidden parameter of the virtual PLC (an AssetParams field) and what physics allows of it
TRUE_PARAM_RULES = {
    "paris_C": (lambda v: v >= 0, "must be >= 0 (a Paris coefficient, m/cycle/(MPa·√m)^m; 0: no growth)"),
    "paris_m": (lambda v: v > 0, "must be > 0 (a Paris exponent)"),
    "geometry_Y": (lambda v: v > 0, "must be > 0 (a geometry factor)"),
    "section_depth_m": (lambda v: v > 0, "must be > 0 (a depth, m)"),
    "stiffness_sensitivity": (lambda v: 0 <= v <= 0.95, "must lie in [0, 0.95] (β in k/k0 = 1 - β (a/h)²)"),
    "natural_frequency_hz": (lambda v: v > 0, "must be > 0 (a frequency, Hz)"),
    "vibration_rms0": (lambda v: v > 0, "must be > 0 (an RMS acceleration, m/s²)"),
    "wear_vibration_gain": (lambda v: v >= 0, "must be >= 0 (a gain)"),
    "thermal_tau_s": (lambda v: v > 0, "must be > 0 (a time constant, s)"),
    "thermal_resistance_K_per_W": (lambda v: v > 0, "must be > 0 (a thermal resistance, K/W)"),
    "wear_rate_per_s": (lambda v: v >= 0, "must be >= 0 (a wear rate, 1/s)"),
    "wear_reference_C": (lambda v: v >= ABSOLUTE_ZERO_C, f"must be >= {ABSOLUTE_ZERO_C} (a temperature, °C)"),
    "wear_doubling_K": (lambda v: v > 0, "must be > 0 (a temperature step, K)"),
}


@dataclass(frozen=True)
class FaultConfig:
    """An injected fault: at `at_s` seconds of wall time, for `duration_s`."""

    at_s: float = spec(ge=0.0)
    kind: str = spec(choices=("drop", "freeze", "nan", "out_of_range", "restart"))
    duration_s: float = spec(5.0, gt=0.0)
    tags: tuple[str, ...] = spec(default_factory=tuple, doc="affected tags (nan, out_of_range); empty: all")

    def check(self):
        if self.tags and self.kind not in ("nan", "out_of_range"):
            return [("tags", list(self.tags), f"a {self.kind} fault acts on the whole server; "
                                              "tags apply to nan and out_of_range faults only")]
        return []


@dataclass(frozen=True)
class ServeConfig:
    assets: tuple[int, ...] = spec(default_factory=lambda: (0,), ge=0, doc="assets of the scenario to serve")
    protocols: tuple[str, ...] = spec(default_factory=lambda: ("modbus", "opcua"), choices=("modbus", "opcua"))
    host: str = spec("127.0.0.1", doc="bind address; loopback unless you mean otherwise")
    modbus_port: int = spec(5020, ge=0, le=65535)
    opcua_port: int = spec(4840, ge=0, le=65535)
    rate_hz: float = spec(1.0, gt=0.0, le=100.0)
    time_factor: float = spec(1.0, gt=0.0, doc="simulated seconds per wall second")
    duration_s: float | None = spec(None, gt=0.0, doc="None: until interrupted")
    seed: int = spec(0, ge=0)
    true_params: dict[str, float] = spec(default_factory=dict, doc="hidden parameters, e.g. thermal_tau_s: 1500")
    initial_crack_m: float | None = spec(None, gt=0.0, doc="hidden crack depth at the start; None: the scenario's draw")
    faults: tuple[FaultConfig, ...] = spec(default_factory=tuple)
    opcua_secure: bool = spec(False, doc="Basic256Sha256 SignAndEncrypt + user/password only")
    certificate_dir: str = spec("results/pki", doc="where the server certificate is made or found")
    credentials_file: str = spec("", doc="user/password file (mode 0600); empty: SIMENGINE_OPCUA_USER/_PASSWORD")

    def check(self):
        problems = []
        if not self.assets:
            problems.append(("assets", [], "must name at least one asset of the scenario's fleet"))
        elif len(set(self.assets)) != len(self.assets):
            problems.append(("assets", list(self.assets), "must name each asset once"))
        for name, value in self.true_params.items():
            problems += [(f"true_params.{name}", value, rule) for rule in true_param_rules(name, value)]
        if self.opcua_port == self.modbus_port and self.opcua_port and set(self.protocols) == {"modbus", "opcua"}:
            problems.append(("opcua_port", self.opcua_port, f"must differ from modbus_port ({self.modbus_port})"))
        for i, fault in enumerate(self.faults):
            problems += [(f"faults[{i}].{field}", value, rule) for field, value, rule in self._fault_problems(fault)]
        return problems

    def _fault_problems(self, fault: FaultConfig) -> list[tuple[str, object, str]]:
        """A fault no update of the server falls into would silently never happen."""
        if self.duration_s is not None and fault.at_s >= self.duration_s:
            return [("at_s", fault.at_s, f"must be before the end of serving (serve.duration_s = {self.duration_s} s)")]
        period = 1.0 / self.rate_hz
        first = math.ceil(fault.at_s / period - 1e-9) * period  # the first update at or after at_s
        if first >= fault.at_s + fault.duration_s:
            return [("duration_s", fault.duration_s, f"no update falls inside it: the server updates every {period:g} s "
                                                     f"(serve.rate_hz = {self.rate_hz}); make it longer or move at_s")]
        return []


def true_param_rules(name: str, value: float) -> list[str]:
    """The rules a hidden parameter value breaks (empty: none)."""
    if name not in TRUE_PARAM_RULES:
        close = difflib.get_close_matches(name, list(TRUE_PARAM_RULES), n=1)
        return [f"unknown parameter; known: {', '.join(TRUE_PARAM_RULES)}" + (f"; did you mean {close[0]!r}?" if close else "")]
    allowed, rule = TRUE_PARAM_RULES[name]
    if not math.isfinite(value):
        return ["must be finite"]
    return [] if allowed(value) else [rule]


def serve_problems(cfg: ServeConfig, scenario) -> list[Problem]:
    """What `cfg` asks of `scenario` that it cannot give: assets beyond its fleet, an initial crack
    at or beyond the critical one (the scenario's crack failure limit, or the section depth)."""
    plant = scenario.one_fleet_problems("the virtual PLC")
    if plant:
        return [Problem(*p) for p in plant]
    fleet = scenario.fleet
    problems = []
    beyond = [a for a in cfg.assets if a >= fleet.count]
    if beyond:
        problems.append(Problem("serve.assets", list(cfg.assets),
                                f"{beyond} beyond the fleet: scenario {scenario.name!r} has assets 0..{fleet.count - 1}"))
    depth = cfg.true_params.get("section_depth_m", fleet.crack.section_depth_m)
    limits = [(m.limit, f"fleet.physics_failures[{i}].limit") for i, m in enumerate(fleet.physics_failures)
              if m.quantity == "crack_m"] + [(depth, "the section depth")]
    critical, where = min(limits)
    if cfg.initial_crack_m is not None and not cfg.initial_crack_m < critical:
        problems.append(Problem("serve.initial_crack_m", cfg.initial_crack_m,
                                f"must be below the critical crack, {critical} m ({where})"))
    return problems


@dataclass(frozen=True)
class RecordConfig:
    protocol: str = spec("modbus", choices=("modbus", "opcua"))
    tagmap: str = spec("", doc="tag map YAML; empty: the virtual PLC's map for the scenario and serve.assets")
    host: str | None = spec(None, doc="override the tag map's endpoint host")
    port: int | None = spec(None, ge=1, le=65535)
    rate_hz: float = spec(1.0, gt=0.0, le=100.0)
    duration_s: float = spec(60.0, gt=0.0)
    flush_interval_s: float = spec(1.0, gt=0.0)
    out: str = spec("", doc="HDF5 path; empty: results/recordings/<map>-<UTC time>.h5")
    first_reading_s: float | None = spec(None, gt=0.0, doc="fail when no reading arrives within this (s); "
                                         "None: 3 poll intervals, at least 5 s (Modbus) or 10 s (OPC UA)")
    plausibility: str = spec("refuse", choices=("refuse", "warn", "off"),
                             doc="a map whose first readings show the wrong word order: refuse, warn, or do not check")
    progress: str = spec("auto", choices=("auto", "always", "never"), doc="progress bar on stderr; auto: when a terminal")
    opcua_secure: bool = spec(False, doc="connect with Basic256Sha256 SignAndEncrypt + user/password")
    certificate_dir: str = spec("results/pki", doc="where the client certificate is made or found")
    credentials_file: str = spec("", doc="user/password file (mode 0600); empty: SIMENGINE_OPCUA_USER/_PASSWORD")

    def check(self):
        if self.protocol == "modbus" and self.duration_s * self.rate_hz < 0.5:  # polls: round(duration * rate)
            return [("duration_s", self.duration_s, f"gives no poll at rate_hz = {self.rate_hz}: "
                                                    f"record at least {1.0 / self.rate_hz:g} s")]
        return []
