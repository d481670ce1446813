"""Tests for bnlib/exercises/nb02.py: notebook 02's checks pass right answers, name the typical
mistakes (unbiased variance, eps misplaced, wrong axis, Keras's momentum ...), and refuse
answers taken from bnlib."""
from pathlib import Path

import numpy as np
import pytest

import bnlib
from bnlib.exercises import LibraryCallError, nb02
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_forward_pass.ipynb"

# For each exercise, a solution that gets its answer from bnlib (or, for the prediction, the
# exact measurement).
GAMED = {
    "Exercise 1: Algorithm 1 in numpy":
        "return bnlib.batchnorm_forward(x, gamma, beta, eps)[0]",
    "Exercise 2: how far can one example stand out?":
        "predicted_x_hat = nb02.outlier_x_hat()",
    "Exercise 3: the inference formula":
        "return bnlib.batchnorm_eval_forward(x, gamma, beta, pop_mean, pop_var, eps)",
    "Exercise 4: one update of the running averages":
        "layer = bnlib.BatchNorm1d(batch.shape[1], momentum=momentum)\n"
        "layer.running_mean[:], layer.running_var[:] = running_mean, running_var\n"
        "layer.forward(batch)\n"
        "return layer.running_mean, layer.running_var",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1: Algorithm 1 --------------------------------------------------------------

def forward_with(mean=lambda x: x.mean(axis=0), var=lambda x: x.var(axis=0),
                 normalise=lambda xc, v, eps: xc / np.sqrt(v + eps),
                 affine=lambda x_hat, gamma, beta: gamma * x_hat + beta):
    """A learner's bn_forward built from its steps, so that each test changes one of them."""
    def bn_forward(x, gamma, beta, eps=1e-5):
        return affine(normalise(x - mean(x), var(x), eps), gamma, beta)
    return bn_forward


def test_bn_forward_accepts_algorithm_1(capsys):
    nb02.check_bn_forward(forward_with())
    out = capsys.readouterr().out
    assert "✓ bn_forward (eps=1e-05) is correct" in out and "(eps=0.001) is correct" in out


@pytest.mark.parametrize("wrong, message", [
    (forward_with(var=lambda x: x.var(axis=0, ddof=1)), "unbiased variance"),
    (forward_with(normalise=lambda xc, v, eps: xc / (np.sqrt(v) + eps)), "inside the square root"),
    (forward_with(normalise=lambda xc, v, eps: xc / np.sqrt(v)), "eps is missing"),
    (forward_with(normalise=lambda xc, v, eps: xc / (v + eps)), "not by the variance"),
    (forward_with(mean=lambda x: x.mean(), var=lambda x: x.var()), "whole batch"),
    (forward_with(mean=lambda x: x.mean(axis=1, keepdims=True),
                  var=lambda x: x.var(axis=1, keepdims=True)), "layer normalization"),
    (forward_with(affine=lambda x_hat, gamma, beta: x_hat), "you returned x_hat"),
    (forward_with(affine=lambda x_hat, gamma, beta: beta * x_hat + gamma), "gamma scales"),
    (forward_with(normalise=lambda xc, v, eps: xc / np.sqrt(v + 1e-5)), "eps argument"),
])
def test_bn_forward_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb02.check_bn_forward(wrong)


def test_bn_forward_explains_a_reduction_over_the_wrong_axis():
    with pytest.raises(AssertionError, match="axis=0, one value per feature"):
        nb02.check_bn_forward(forward_with(mean=lambda x: x.mean(axis=1)))


def test_bn_forward_refuses_bnlibs_batch_norm():
    with pytest.raises(LibraryCallError, match="BatchNorm1d"):
        nb02.check_bn_forward(lambda x, gamma, beta, eps: bnlib.BatchNorm1d(4, eps).forward(x))


# ---- Exercise 2: the outlier ---------------------------------------------------------------

def test_outlier_measurement_is_near_the_bound():
    assert 2.9 < nb02.outlier_x_hat() < 3.0          # sqrt(m - 1) = 3 for m = 10


def test_outlier_prediction_accepts_a_reasoned_number_and_refuses_others(capsys):
    nb02.check_outlier_prediction(3)
    assert "you predicted 3" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="off by"):
        nb02.check_outlier_prediction(12.0)        # 40 / (spread of the ordinary values) ...
    with pytest.raises(AssertionError, match="impossible"):
        nb02.check_outlier_prediction(-3.0)
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        nb02.check_outlier_prediction(nb02.outlier_x_hat())


# ---- Exercise 3: inference -----------------------------------------------------------------

def eval_with(normalise=lambda xc, v, eps: xc / np.sqrt(v + eps), statistics=None):
    def bn_eval(x, gamma, beta, pop_mean, pop_var, eps=1e-5):
        if statistics is not None:
            pop_mean, pop_var = statistics(x)
        return gamma * normalise(x - pop_mean, pop_var, eps) + beta
    return bn_eval


def test_bn_eval_accepts_algorithm_2(capsys):
    nb02.check_bn_eval(eval_with())
    assert "✓ bn_eval on a batch of 1 (eps=1e-05) is correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (eval_with(normalise=lambda xc, v, eps: xc / (np.sqrt(v) + eps)), "inside the square root"),
    (eval_with(normalise=lambda xc, v, eps: xc / np.sqrt(v)), "eps is missing"),
    (eval_with(normalise=lambda xc, v, eps: xc / (v + eps)), "not by the variance"),
    (eval_with(statistics=lambda x: (x.mean(axis=0), x.var(axis=0))), "batch's own mean"),
    (eval_with(normalise=lambda xc, v, eps: xc / np.sqrt(v + 1e-5)), "eps argument"),
    (lambda x, gamma, beta, pop_mean, pop_var, eps=1e-5: (x - pop_mean) / np.sqrt(pop_var + eps),
     "forgot gamma and beta"),
])
def test_bn_eval_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb02.check_bn_eval(wrong)


# ---- Exercise 4: running averages ----------------------------------------------------------

def update_with(weight_of_new=lambda momentum: momentum, ddof=1, root=False):
    def update_running(running_mean, running_var, batch, momentum=0.1):
        a = weight_of_new(momentum)
        var = batch.var(axis=0, ddof=ddof)
        var = np.sqrt(var) if root else var
        return (1 - a) * running_mean + a * batch.mean(axis=0), (1 - a) * running_var + a * var
    return update_running


def test_update_running_accepts_pytorchs_convention(capsys):
    nb02.check_update_running(update_with())
    assert "✓ new running var is correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (update_with(weight_of_new=lambda momentum: 1 - momentum), "as Keras does"),
    (update_with(ddof=0), "store the unbiased batch variance"),
    (update_with(root=True), "not of the standard deviation"),
    (update_with(weight_of_new=lambda momentum: 0.1), "use the momentum argument"),
    (lambda running_mean, running_var, batch, momentum: running_mean, "return two arrays"),
])
def test_update_running_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb02.check_update_running(wrong)
