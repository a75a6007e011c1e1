"""Policy optimisation: search decision variables of a scenario on common random numbers (`simengine optimize`)."""
