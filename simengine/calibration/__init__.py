"""Calibration: fit the physics core of one asset to its PLC readings, with uncertainty."""

from simengine.calibration.fit import Calibration, FitSpec, fit
from simengine.calibration.model import OUTPUTS, PARAMETERS, Baseline, baseline_for, predict
from simengine.calibration.window import Window, align, tag_gains, tags_of

__all__ = ["Baseline", "Calibration", "FitSpec", "OUTPUTS", "PARAMETERS", "Window", "align", "baseline_for", "fit",
           "predict", "tag_gains", "tags_of"]
