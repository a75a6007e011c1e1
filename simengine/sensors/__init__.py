"""Sensors: observation models of the physics, edge features, alarms and report by exception."""
from simengine.sensors.bank import FIDELITIES, SensorBank, WindowReport
from simengine.sensors.edge import deadband_chain, deadband_rate, heartbeat_rows
from simengine.sensors.features import FEATURE_KINDS, draw_exceeding, draw_features, effective_sigma, exceedance, max_level
from simengine.sensors.raw import reduce_rows, sample_rows

__all__ = [
    "FEATURE_KINDS", "FIDELITIES", "SensorBank", "WindowReport", "deadband_chain", "deadband_rate", "draw_exceeding",
    "draw_features", "effective_sigma", "exceedance", "heartbeat_rows", "max_level", "reduce_rows", "sample_rows",
]
