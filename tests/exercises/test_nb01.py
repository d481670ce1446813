"""Tests for bnlib/exercises/nb01.py: notebook 01's checks pass right answers, name the typical
mistakes, and refuse answers taken from bnlib."""
from pathlib import Path

import numpy as np
import pytest

from bnlib import numerical_gradient, sigmoid
from bnlib.exercises import LibraryCallError, nb01
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_chain_rule.ipynb"

# For each exercise, a solution that gets its answer from bnlib instead of the chain rule.
GAMED = {
    "Exercise 1: one input, two roles":
        "return numerical_gradient(lambda: x * sigmoid(x), x)",
    "Exercise 2: the backward pass of the centring node":
        "x0 = np.zeros_like(dd)\n"
        "dx = numerical_gradient(lambda: x0 - x0.mean(), x0, dout=dd)",
    "Exercise 3: the gradient of the batch variance":
        "dx = numerical_gradient(lambda: np.var(x), x, dout=dv)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1: silu_grad ----------------------------------------------------------------

def test_silu_grad_accepts_the_sum_of_both_paths(capsys):
    nb01.check_silu_grad(lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))))
    assert "✓ silu_grad is correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda x: sigmoid(x), "not the path through sigma"),
    (lambda x: x * sigmoid(x) * (1 - sigmoid(x)), "not the path through the factor x"),
    (lambda x: sigmoid(x) * (1 - sigmoid(x)), "derivative of sigma.x. alone"),
    (lambda x: sigmoid(x) + x * sigmoid(x), r"sigma\(x\) \* \(1 - sigma\(x\)\)"),
    (lambda x: 2 * sigmoid(x), "not quite.*two paths"),
    (lambda x: None, "forget to `return`"),
])
def test_silu_grad_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb01.check_silu_grad(wrong)


def test_silu_grad_refuses_numerical_gradient():
    def by_differences(x):
        return numerical_gradient(lambda: x * sigmoid(x), x)

    with pytest.raises(LibraryCallError, match="numerical_gradient"):
        nb01.check_silu_grad(by_differences)


# ---- Exercise 2: centre_backward ----------------------------------------------------------

def test_centre_backward_accepts_the_two_paths(capsys):
    nb01.check_centre_backward(lambda dd: dd - dd.mean())
    assert "✓ centre_backward is correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda dd: dd.copy(), "direct path only"),
    (lambda dd: dd - dd.sum(), "its local derivative with respect to each x_j is 1/m"),
    (lambda dd: dd + dd.mean(), "sign of the path through the mean"),
    (lambda dd: dd * (1 - 1 / len(dd)), "only the i = j term"),
    (lambda dd: np.array([dd.sum()]), r"shape \(1,\), expected \(6,\)"),
])
def test_centre_backward_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb01.check_centre_backward(wrong)


# ---- Exercise 3: variance_backward --------------------------------------------------------

def test_variance_backward_accepts_the_biased_variance(capsys):
    nb01.check_variance_backward(lambda x, dv: dv * 2 * (x - x.mean()) / len(x))
    assert "✓ variance_backward is correct" in capsys.readouterr().out


def test_variance_backward_agrees_with_central_differences():
    x = np.array([2.5, 0.4, 3.1, 1.0, 2.2])
    exact = 0.7 * 2 * (x - x.mean()) / len(x)          # what the check expects
    numeric = numerical_gradient(lambda: np.var(x), x, dout=0.7)
    np.testing.assert_allclose(exact, numeric, rtol=1e-7)


@pytest.mark.parametrize("wrong, message", [
    (lambda x, dv: dv * 2 * (x - x.mean()) / (len(x) - 1), "divided by m - 1"),
    (lambda x, dv: dv * (x - x.mean()) / len(x), "factor 2 is missing"),
    (lambda x, dv: 2 * (x - x.mean()) / len(x), "upstream gradient dv"),
    (lambda x, dv: dv * 2 * x / len(x), "centred value"),
])
def test_variance_backward_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb01.check_variance_backward(wrong)


# ---- a finite-difference estimate is not the chain rule -----------------------------------

def own_central_difference(f, x, h=1e-5):
    """A learner's own numerical derivative of an elementwise f (no bnlib involved)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def test_a_numerical_estimate_is_explained_not_accepted():
    with pytest.raises(AssertionError, match="numerical estimate"):
        nb01.check_silu_grad(lambda x: own_central_difference(lambda t: t * sigmoid(t), x))

    def variance_by_differences(x, dv):
        steps = np.eye(len(x)) * 1e-5
        return np.array([dv * (np.var(x + e) - np.var(x - e)) / 2e-5 for e in steps])

    with pytest.raises(AssertionError, match="numerical estimate"):
        nb01.check_variance_backward(variance_by_differences)
