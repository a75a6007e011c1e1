"""Typed schema of `simengine plc serve` and `simengine plc record`."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec


@dataclass(frozen=True)
class FaultConfig:
    """An injected fault: at `at_s` seconds of wall time, for `duration_s`."""

    at_s: float = spec(ge=0.0)
    kind: str = spec(choices=("drop", "freeze", "nan", "out_of_range", "restart"))
    duration_s: float = spec(5.0, ge=0.0)
    tags: tuple[str, ...] = spec(default_factory=tuple, doc="affected tags (nan, out_of_range); empty: all")


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
