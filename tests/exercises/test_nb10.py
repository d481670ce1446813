"""Tests for bnlib/exercises/nb10.py: the checks of notebook 10's exercises.

Right answers pass, the usual wrong ones are explained, and every exercise refuses bnlib's own
version (its fold, or for a prediction the exact measurement) in the notebook itself.
"""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb10
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "10_train_vs_eval.ipynb"


def fold(W, b, gamma, beta, running_mean, running_var, eps):
    scale = gamma / np.sqrt(running_var + eps)
    return W * scale, (b - running_mean) * scale + beta


# ---- Exercise 1 -----------------------------------------------------------------------------

def test_the_forgetting_measurement_follows_the_decay_of_the_start():
    measured = nb10.measured_forgetting_steps()
    exact = np.log(0.01) / np.log(0.99)              # 458.2: the start weighs 1 %
    assert abs(measured - exact) < 20                 # sampling noise of 100 averaged units
    assert nb10.measured_forgetting_steps(momentum=0.1) == pytest.approx(
        np.log(0.01) / np.log(0.9), abs=5)


@pytest.mark.parametrize("predicted", [460, 458.2, 500])
def test_reasoned_forgetting_predictions_pass(predicted, capsys):
    nb10.check_forgetting_steps(predicted)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("predicted, reason", [(100, "37 %"), (199, r"\(2 - momentum\)"),
                                               (300, "still weighs more than 1 %"),
                                               (900, "Too many")])
def test_wrong_forgetting_predictions_are_explained(predicted, reason):
    with pytest.raises(AssertionError, match=reason):
        nb10.check_forgetting_steps(predicted)


def test_a_forgetting_prediction_that_is_not_a_number_is_refused():
    with pytest.raises(AssertionError, match="one number"):
        nb10.check_forgetting_steps(None)


# ---- Exercise 2 -----------------------------------------------------------------------------

def test_one_class_batches_are_near_chance_on_the_checks_network():
    one_class, in_eval = nb10.measured_one_class_accuracy()
    assert in_eval > 0.85 and one_class < 0.3


@pytest.mark.parametrize("predicted", [0.1, 0.15, 0.25])
def test_reasoned_one_class_predictions_pass(predicted, capsys):
    nb10.check_one_class_accuracy(predicted)
    assert "evaluation mode" in capsys.readouterr().out


@pytest.mark.parametrize("predicted", [0.5, 0.9])
def test_a_one_class_prediction_near_evaluation_mode_is_explained(predicted):
    with pytest.raises(AssertionError, match="subtracts the sevens' own mean"):
        nb10.check_one_class_accuracy(predicted)


def test_an_impossible_accuracy_is_refused():
    with pytest.raises(AssertionError, match="impossible"):
        nb10.check_one_class_accuracy(1.5)


# ---- Exercise 3 -----------------------------------------------------------------------------

def test_a_right_fold_passes(capsys):
    nb10.check_fold_layer(fold)
    assert "✓" in capsys.readouterr().out


def _scaled(scale_of):
    """A fold whose scale s is computed by `scale_of(gamma, var, eps)`."""
    def wrong(W, b, gamma, beta, running_mean, running_var, eps):
        s = scale_of(gamma, running_var, eps)
        return W * s, (b - running_mean) * s + beta
    return wrong


@pytest.mark.parametrize("wrong, reason", [
    (_scaled(lambda g, v, e: g / (np.sqrt(v) + e)), "eps goes inside the square root"),
    (_scaled(lambda g, v, e: g / np.sqrt(v)), "eps is missing"),
    (_scaled(lambda g, v, e: g / (v + e)), "standard deviation"),
    (_scaled(lambda g, v, e: 1 / np.sqrt(v + e)), "gamma is missing"),
    (_scaled(lambda g, v, e: np.abs(g) / np.sqrt(v + e)), "keep its sign"),
])
def test_wrong_scales_are_explained(wrong, reason):
    with pytest.raises(AssertionError, match=reason):
        nb10.check_fold_layer(wrong)


def test_wrong_biases_and_rows_are_explained():
    def rows(W, b, gamma, beta, running_mean, running_var, eps):
        s = gamma / np.sqrt(running_var + eps)
        return W * s[:, None], (b - running_mean) * s + beta

    def no_bias(W, b, gamma, beta, running_mean, running_var, eps):
        s = gamma / np.sqrt(running_var + eps)
        return W * s, beta - running_mean * s

    def mean_unscaled(W, b, gamma, beta, running_mean, running_var, eps):
        s = gamma / np.sqrt(running_var + eps)
        return W * s, b * s + beta - running_mean

    def no_beta(W, b, gamma, beta, running_mean, running_var, eps):
        s = gamma / np.sqrt(running_var + eps)
        return W * s, (b - running_mean) * s

    for wrong, reason in ((rows, "scaled the rows"), (no_bias, "bias b is missing"),
                          (mean_unscaled, "multiplied by s too"), (no_beta, "beta is missing")):
        with pytest.raises(AssertionError, match=reason):
            nb10.check_fold_layer(wrong)


def test_a_fold_that_changes_its_inputs_or_returns_one_thing_is_explained():
    def in_place(W, b, gamma, beta, running_mean, running_var, eps):
        W *= gamma / np.sqrt(running_var + eps)
        return W, (b - running_mean) * gamma / np.sqrt(running_var + eps) + beta

    with pytest.raises(AssertionError, match="in place"):
        nb10.check_fold_layer(in_place)
    with pytest.raises(AssertionError, match="two arrays"):
        nb10.check_fold_layer(lambda *args: fold(*args)[0])


def test_calling_bnlibs_fold_is_refused():
    import bnlib

    def via_bnlib(W, b, gamma, beta, running_mean, running_var, eps):
        bn = bnlib.BatchNorm1d(len(gamma), eps=eps)
        bn.gamma[...], bn.beta[...] = gamma, beta
        bn.running_mean[...], bn.running_var[...] = running_mean, running_var
        return bnlib.fold_batchnorm(W, b, bn.eval())

    with pytest.raises(LibraryCallError, match="calls bnlib's BatchNorm1d"):
        nb10.check_fold_layer(via_bnlib)


# Each gamed solution replaces the solution region and gets its answer from bnlib: its own
# fold, or for a prediction the check's exact measurement.
GAMED = {
    "Exercise 1: how long momentum 0.01 remembers its start":
        "predicted_steps = nb10.measured_forgetting_steps()",
    "Exercise 2: a batch of one digit in training mode":
        "predicted_accuracy = nb10.measured_one_class_accuracy()[0]",
    "Exercise 3: fold a layer by hand": """\
bn = bnlib.BatchNorm1d(len(gamma), eps=eps)
bn.gamma[...], bn.beta[...] = gamma, beta
bn.running_mean[...], bn.running_var[...] = running_mean, running_var
return bnlib.fold_batchnorm(W, b, bn.eval())""",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)
