"""A kind whose sensors can observe only temperature and load: for the refusal of other quantities."""

from my_kinds import Pump


class Thermometer(Pump):
    name = "thermometer"
    quantities = ("temperature_C", "load_factor")
