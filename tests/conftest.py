import simengine  # noqa: F401  (turns on float64 in JAX before any test builds arrays)
