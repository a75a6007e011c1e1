"""Global sensitivity (`simengine sensitivity`): Sobol' first-order and total indices of KPIs, with SALib.

`parameters` resolves dotted scenario keys and their distributions, `evaluators`
holds what is evaluated at the sample points (the engine's scenario variants,
or the Ishigami function with its known indices), `sobol` samples and
analyses, `report` writes sensitivity.h5, the plot and the Markdown report,
`command` is the CLI's entry.
"""
