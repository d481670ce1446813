"""Shared fixtures and the settings of the property tests.

Hypothesis runs 60 examples per property. Under CI (CI set) the examples are derandomised: the
same every run, so CI cannot fail on a draw nobody saw locally; locally each run draws new ones,
which is how the pinned @example cases of tests/test_batchnorm.py were found.
"""
import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None,
                          print_blob=True)
settings.register_profile("dev", max_examples=60, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def rng():
    """A fresh, seeded generator for each test."""
    return np.random.default_rng(1502)
