"""Suite-wide settings: reproducible hypothesis runs and a time bound on every test.

Hypothesis profiles (selected here, before any test module is imported):
- "ci" when the CI environment variable is set: derandomized, the failing example's reproduction blob
  printed, no database.
- "dev" otherwise: derandomized too, so a failure seen once is seen again on the next run.
- "random": opt in with HYPOTHESIS_PROFILE=random to explore new draws locally (a failure prints its seed
  and blob; --hypothesis-seed=N replays it under this profile).
HYPOTHESIS_PROFILE overrides the choice. Every profile skips hypothesis's explain phase: after shrinking a
failure it re-runs the test up to 500 times per argument under a coverage tracer, which on a numpy-heavy
test (tests/scaling/test_correlate.py) took tens of minutes and looked like a hang; the minimal failing
example is still reported.

Time bound: pytest-timeout (pyproject: 300 s a test, thread method, which prints every thread's stack and
ends the run, so a hang can neither pass nor block CI); the end-to-end trainer test gets E2E_TIMEOUT_S.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings

NO_EXPLAIN = tuple(p for p in Phase if p is not Phase.explain)
# tests/e2e/test_cpu_smoke.py: two launches of up to RUN_TIMEOUT_S (900 s) + 60 s each, inside one module fixture.
E2E_TIMEOUT_S = 2400

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=timedelta(seconds=5),  # per example; a loaded 2-core runner stays well below it
    phases=NO_EXPLAIN,
    suppress_health_check=[HealthCheck.too_slow],  # a busy runner is slow; that is not a bug of the test
)
settings.register_profile("dev", derandomize=True, database=None, print_blob=True, phases=NO_EXPLAIN)
settings.register_profile("random", print_blob=True, phases=NO_EXPLAIN)


def hypothesis_profile(env: os._Environ | dict) -> str:
    """The profile name: HYPOTHESIS_PROFILE if set, else "ci" when CI is set to a true value, else "dev"."""
    if env.get("HYPOTHESIS_PROFILE"):
        return env["HYPOTHESIS_PROFILE"]
    return "ci" if env.get("CI", "").strip().lower() not in ("", "0", "false", "no") else "dev"


settings.load_profile(hypothesis_profile(os.environ))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The end-to-end trainer run keeps its own, longer bound (unless a test sets one itself)."""
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))
