"""Repository root marker for pytest: with the default `prepend` import mode this directory goes first
on sys.path, so a checkout (or a scratch copy, as `make mutants` makes) imports its own `trainer`,
`falsifiers` and `pv`. Hypothesis profiles live in pv's pytest plugin (`pv.pytest_plugin`); the
`pv_profile = "ci"` ini key in pyproject.toml selects the derandomized one for every run here
(`PV_PROFILE=dev pytest …` for a random local search).
"""
