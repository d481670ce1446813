"""Tests for bnlib/exercises/nb11.py: the checks of notebook 11's exercises.

Right answers pass, the usual wrong ones are explained, and every exercise refuses bnlib's own
version in the notebook itself.
"""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb11
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11_fine_tuning.ipynb"


def frozen_backward(dout, x, gamma, running_mean, running_var, eps=1e-5):
    inv_std = 1.0 / np.sqrt(running_var + eps)
    x_hat = (x - running_mean) * inv_std
    return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def unit_offsets(a, running_mean, running_var, eps=1e-5):
    return np.abs(a.mean(axis=0) - running_mean) / np.sqrt(running_var + eps)


# ---- Exercise 1 -----------------------------------------------------------------------------

def test_a_right_frozen_backward_passes(capsys):
    nb11.check_frozen_backward(frozen_backward)
    assert "✓" in capsys.readouterr().out


def _with(dx=None, dgamma=None, dbeta=None):
    """frozen_backward with some of its results replaced by functions of the inputs."""
    def wrong(dout, x, gamma, running_mean, running_var, eps=1e-5):
        right = frozen_backward(dout, x, gamma, running_mean, running_var, eps)
        args = (dout, x, gamma, running_mean, running_var, eps)
        return tuple(f(*args) if f else r for f, r in zip((dx, dgamma, dbeta), right))
    return wrong


def _algorithm_1(dout, x, gamma, running_mean, running_var, eps=1e-5):
    n, mean, var = len(x), x.mean(axis=0), x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    return gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta


@pytest.mark.parametrize("wrong, reason", [
    (_algorithm_1, "Algorithm 1's backward"),
    (_with(dx=lambda d, x, g, m, v, e: (d * g / np.sqrt(v + e))
           - (d * g / np.sqrt(v + e)).mean(axis=0)), "subtracted the batch mean of dx"),
    (_with(dx=lambda d, x, g, m, v, e: d / np.sqrt(v + e)), "gamma is missing"),
    (_with(dx=lambda d, x, g, m, v, e: d * g), r"1 / sqrt\(running_var \+ eps\) is missing"),
    (_with(dx=lambda d, x, g, m, v, e: d * g / (v + e)), "standard deviation"),
    (_with(dx=lambda d, x, g, m, v, e: d * g / np.sqrt(v)), "eps is missing"),
    (_with(dx=lambda d, x, g, m, v, e: d * g / np.sqrt(v + e) / len(x)), "no 1/N"),
    (_with(dgamma=lambda d, x, g, m, v, e: (d * x).sum(axis=0)), "not times x"),
    (_with(dgamma=lambda d, x, g, m, v, e: d.sum(axis=0),
           dbeta=lambda d, x, g, m, v, e: (d * (x - m) / np.sqrt(v + e)).sum(axis=0)),
     "swapped"),
    (_with(dgamma=lambda d, x, g, m, v, e: d * (x - m) / np.sqrt(v + e)), "sum their gradients"),
])
def test_usual_frozen_backward_mistakes_are_explained(wrong, reason):
    with pytest.raises(AssertionError, match=reason):
        nb11.check_frozen_backward(wrong)


def test_a_frozen_backward_returning_two_things_is_explained():
    with pytest.raises(AssertionError, match="three arrays"):
        nb11.check_frozen_backward(lambda *args: frozen_backward(*args)[:2])


def test_calling_bnlibs_frozen_backward_is_refused():
    import bnlib

    def via_bnlib(dout, x, gamma, running_mean, running_var, eps=1e-5):
        _, cache = bnlib.frozen_batchnorm_forward(x, gamma, np.zeros_like(gamma), running_mean,
                                                  running_var, eps)
        return bnlib.frozen_batchnorm_backward(dout, cache)

    with pytest.raises(LibraryCallError, match="calls bnlib's frozen_batchnorm_forward"):
        nb11.check_frozen_backward(via_bnlib)


# ---- Exercise 2 -----------------------------------------------------------------------------

def test_right_offsets_pass(capsys):
    nb11.check_unit_offsets(unit_offsets)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, reason", [
    (lambda a, m, v, e=1e-5: (a.mean(axis=0) - m) / np.sqrt(v + e), "no sign"),
    (lambda a, m, v, e=1e-5: np.abs(a - m).mean(axis=0) / np.sqrt(v + e),
     "averaged each image's distance"),
    (lambda a, m, v, e=1e-5: np.abs(a.mean(axis=0) - m) / a.std(axis=0), "batch's own std"),
    (lambda a, m, v, e=1e-5: np.abs(a.mean(axis=0) - m) / (v + e), "square root"),
    (lambda a, m, v, e=1e-5: np.abs(a.mean(axis=0) - m) / np.sqrt(v), "eps is missing"),
    (lambda a, m, v, e=1e-5: np.abs(a - m).mean(axis=1), "axis 0"),
    (lambda a, m, v, e=1e-5: None, "returned None"),
])
def test_usual_offset_mistakes_are_explained(wrong, reason):
    with pytest.raises(AssertionError, match=reason):
        nb11.check_unit_offsets(wrong)


def test_calling_bnlibs_measurement_is_refused():
    from bnlib.experiments import fine_tuning

    with pytest.raises(LibraryCallError, match="calls bnlib's unit_offsets"):
        nb11.check_unit_offsets(fine_tuning.unit_offsets)


# Each gamed solution replaces the solution region (inside the function) and gets its answer
# from bnlib: its frozen backward, or its own measurement of the offsets.
GAMED = {
    "Exercise 1: the backward pass with frozen statistics": """\
_, cache = bnlib.frozen_batchnorm_forward(x, gamma, np.zeros_like(gamma), running_mean,
                                          running_var, eps)
return bnlib.frozen_batchnorm_backward(dout, cache)""",
    "Exercise 2: how far the shifted images put each unit":
        "return fine_tuning.unit_offsets(a, running_mean, running_var, eps)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)
