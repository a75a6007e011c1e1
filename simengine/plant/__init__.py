"""The plant as a graph of twins: asset groups of several kinds, and which assets feed which."""

from simengine.plant.graph import Group, PlantGraph, plant_graph

__all__ = ["Group", "PlantGraph", "plant_graph"]
