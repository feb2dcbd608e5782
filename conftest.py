"""Repository-wide pytest setup: hypothesis profiles live here and only here."""

import os

from hypothesis import HealthCheck, settings

# `ci`: derandomized, no example database, so a red run is reproducible byte for byte.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# `dev`: random, with the local database, a little more search.
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
