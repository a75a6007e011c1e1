"""What-if sweeps: variants of a scenario run with common random numbers and compared, paired, to a baseline."""

from simengine.sweep.compare import Comparison, Difference, compare, paired_difference
from simengine.sweep.run import SweepRun, run_sweep
from simengine.sweep.store import Variant, read_sweep_kpis, write_sweep

__all__ = ["Comparison", "Difference", "SweepRun", "Variant", "compare", "paired_difference", "read_sweep_kpis",
           "run_sweep", "write_sweep"]
