"""Typed configuration: frozen dataclass schemas built from plain data."""
from simengine.config.validate import MISSING, ConfigError, Problem, build, describe, spec, tagged, to_dict

__all__ = ["MISSING", "ConfigError", "Problem", "build", "describe", "spec", "tagged", "to_dict"]
