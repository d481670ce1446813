"""Shared fixtures for the tests."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded generator for each test."""
    return np.random.default_rng(1502)
