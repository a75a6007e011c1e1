"""`simengine fatigue`: what the command adds around the standalone fatigue toolkit.

`simengine.fatigue` counts, bins, integrates and samples with NumPy, JAX and
numba only; it imports nothing from the engine, the PLC, the results store or
the executors (tests/fatigue/test_fatigue_standalone.py holds it to that). What a
command needs besides (executors by name, the results file, plots, an output
folder published whole) lives here: `executors.run_fatigue` (a batch on a
pool opened by name), `report` (fatigue.h5, plots, the terminal summary) and
`command.run_batch` (the whole command after validation).
"""
