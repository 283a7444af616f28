"""Settings for the whole suite: hypothesis profiles and the time limit of slow tests.

Hypothesis profiles (RAFTSTORE_HYPOTHESIS_PROFILE picks one; `make soak` sets "soak"):

- "ci" (the default, `make test`): derandomized, so every run tries the same examples and a failure
  reproduces as it is; no example database (nothing carried from run to run); a failing example is
  printed with its reproduce blob. No deadline: a slow example is the per-test timeout's business.
- "soak": the random search, with more examples, remembering failures in the local example database.

Settings objects built at import time by test modules (e.g. `settings(max_examples=...)`) inherit
from the profile loaded here, since this conftest is imported first; their explicit fields win.

Every test has the pytest-timeout limit of pyproject.toml; a test marked slow gets SLOW_TIMEOUT unless
it sets its own with @pytest.mark.timeout.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("soak", max_examples=1000, print_blob=True, deadline=None)
# PROFILE: the hypothesis profile of this run.
PROFILE = os.environ.get("RAFTSTORE_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

# SLOW_TIMEOUT: seconds a slow (soak) test may run before it is failed as hung (the slowest takes
# about a minute).
SLOW_TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


def pytest_report_header() -> str:
    return f"hypothesis profile: {PROFILE} (RAFTSTORE_HYPOTHESIS_PROFILE)"
