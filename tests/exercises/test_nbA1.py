"""Tests for bnlib/exercises/nbA1.py: appendix A1's checks (the best float32 step, a
learner's numerical gradient) pass right answers, explain wrong ones, and refuse bnlib."""
from pathlib import Path

import numpy as np
import pytest

import bnlib
from bnlib.exercises import LibraryCallError, nbA1
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "A1_gradient_checks.ipynb"

GAMED = {
    "Exercise 1: predict the best step in float32":
        "predicted_exponent = nbA1.best_float32_step_exponent()",
    "Exercise 2: your own numerical gradient":
        "return numerical_gradient(f, x, h=h)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


def test_best_step_measurement_is_near_the_cube_root_of_float32_eps():
    exponent = nbA1.best_float32_step_exponent()
    assert abs(exponent - np.log10(np.finfo(np.float32).eps) / 3) < 0.5
    assert exponent != round(exponent, 1)           # not a round number a learner could write


def test_best_step_prediction(capsys):
    nbA1.check_best_step_prediction(-2)
    assert "you predicted -2" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="off by"):
        nbA1.check_best_step_prediction(-5)          # the float64 answer
    with pytest.raises(AssertionError, match="impossible"):
        nbA1.check_best_step_prediction(3)


def learner_gradient(kind="central", restore=True, divide_by=2, whole=False):
    """A learner's numerical gradient with one of the typical mistakes."""
    def numerical_gradient_of(f, x, h=1e-5):
        grad = np.zeros_like(x)
        if whole:
            old = x.copy()
            x += h
            plus = f()
            x[...] = old - h
            minus = f()
            x[...] = old
            return np.full(x.shape, (plus - minus) / (2 * h))
        for idx in np.ndindex(x.shape):
            old = x[idx]
            base = f()
            x[idx] = old + h
            plus = f()
            x[idx] = old - h
            minus = f()
            if restore:
                x[idx] = old
            grad[idx] = (plus - base) / h if kind == "forward" else (plus - minus) / (divide_by * h)
        return grad
    return numerical_gradient_of


def test_numerical_gradient_accepts_central_differences(capsys):
    nbA1.check_numerical_gradient(learner_gradient())
    assert "✓ numerical_gradient_of (h=1e-05) is correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (learner_gradient(kind="forward"), "forward difference"),
    (learner_gradient(divide_by=1), "divide by 2h"),
    (learner_gradient(restore=False), "left x changed"),
    (learner_gradient(whole=True), "one entry at a time"),
])
def test_numerical_gradient_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nbA1.check_numerical_gradient(wrong)


def test_numerical_gradient_refuses_bnlibs():
    with pytest.raises(LibraryCallError, match="numerical_gradient"):
        nbA1.check_numerical_gradient(lambda f, x, h: bnlib.numerical_gradient(f, x, h=h))
