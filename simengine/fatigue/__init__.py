"""Fatigue toolkit: rainflow counting, S-N curves and Miner's rule, crack growth over
load blocks, load spectra from data, and time-accelerated Monte Carlo batches.

It stands alone: NumPy, SciPy, h5py, JAX, numba and its schema in `simengine.config`,
and nothing of the engine, the PLC, the results store or the executors
(tests/fatigue/test_fatigue_standalone.py). The `simengine fatigue` command around it, with
executors by name, the results file and plots, is `simengine.fatigue_cli`."""

from simengine.fatigue.batch import STATUS, BatchResult, ReplicaParams, run_constant_Y, run_variable_Y
from simengine.fatigue.crack_growth import (
    BlockStep, ConstantY, EdgeCrack, block_driver, block_enclosure, block_step, finite_width_edge_crack_Y,
    grow_blocks, grow_blocks_bounded, predictor_corrector_block,
)
from simengine.fatigue.histogram import RainflowMatrix, RangeHistogram, rainflow_matrix, range_histogram
from simengine.fatigue.miner import damage, damage_equivalent_range, effective_ranges, life_in_repeats
from simengine.fatigue.rainflow import Cycles, RainflowCounter, count_cycles, turning_points
from simengine.fatigue.runner import FatigueRun, run_fatigue
from simengine.fatigue.sn_curves import (
    MeanStressCorrection, cutoff_range_MPa, dnv_curve, equivalent_range, eurocode_detail,
)
from simengine.fatigue.spectrum import (
    LoadSpectrum, miner_increment, paris_driver, spectrum_from_cycles, spectrum_from_hdf5, spectrum_from_history,
)

__all__ = [
    "Cycles", "RainflowCounter", "count_cycles", "turning_points",
    "RainflowMatrix", "RangeHistogram", "rainflow_matrix", "range_histogram",
    "STATUS", "BatchResult", "ReplicaParams", "run_constant_Y", "run_variable_Y",
    "BlockStep", "ConstantY", "EdgeCrack", "block_driver", "block_enclosure", "block_step",
    "finite_width_edge_crack_Y", "grow_blocks", "grow_blocks_bounded", "predictor_corrector_block",
    "damage", "damage_equivalent_range", "effective_ranges", "life_in_repeats", "FatigueRun", "run_fatigue",
    "MeanStressCorrection", "cutoff_range_MPa", "dnv_curve", "equivalent_range", "eurocode_detail",
    "LoadSpectrum", "miner_increment", "paris_driver", "spectrum_from_cycles", "spectrum_from_hdf5",
    "spectrum_from_history",
]
