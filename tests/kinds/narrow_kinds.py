"""Kinds that are not quite right: sensors that can observe only temperature and load (for the refusal of
other quantities), settings that are no schema."""

from my_kinds import Pump


class Thermometer(Pump):
    name = "thermometer"
    quantities = ("temperature_C", "load_factor")


class Shapeless(Pump):
    name = "shapeless"
    settings_type = dict
