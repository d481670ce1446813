"""Tests for bnlib/gradcheck.py: the checker itself must be right, or every other check is moot."""
import numpy as np
import pytest

from bnlib import numerical_gradient, rel_error


def test_numerical_gradient_of_known_functions(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(x**3), x), 3 * x**2, rtol=1e-8)
    dout = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda: np.sin(x), x, dout),
                               np.cos(x) * dout, rtol=1e-8, atol=1e-10)


def test_numerical_gradient_restores_its_input(rng):
    x = rng.standard_normal(5)
    before = x.copy()
    numerical_gradient(lambda: np.sum(x**2), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))
