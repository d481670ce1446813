"""Tests for bnlib/exercises/nb07.py: the checks of notebook 07 pass right answers, explain
the usual wrong ones, and refuse answers taken from bnlib (run on the notebook itself)."""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb07
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_covariate_shift.ipynb"

GAMED = {
    "Exercise 1: noisy BN's backward pass, by hand": (
        "layer = bnlib.NoisyBatchNorm1d(x.shape[1], np.random.default_rng(0), dtype=np.float64)\n"
        "layer.gamma[...] = gamma\n"
        "layer.noise, layer.hold_noise = (scale, np.zeros_like(scale)), True\n"
        "layer.forward(x)\n"
        "dx = layer.backward(dout)\n"
        "return dx, layer.dgamma.copy(), layer.dbeta.copy()"),
    "Exercise 2: predict how far the noise alone moves an input":
        "predicted_noise_shift = nb07.measured_noise_shift()",
    "Exercise 3: predict BN's gain in the first layer": (
        "from bnlib.experiments.landscape import bn_gains\n"
        "net = bnlib.MLP((784, 100, 100, 100, 10), use_bn=True, init_std=0.05,\n"
        "                rng=np.random.default_rng(0))\n"
        "predicted_gain = bn_gains(net, bnlib.load_mnist()[0][:60])[0]"),
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


def _backward(dout, x, gamma, scale, eps=1e-5, scale_first=True, scale_params=True):
    """A hand-written noisy BN backward, right by default, with two typical mistakes."""
    n = len(x)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    da = dout * scale if scale_first else dout
    dx_hat = da * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    if not scale_first:
        dx = dx * scale
    source = da if scale_params else dout
    return dx, np.sum(source * x_hat, axis=0), source.sum(axis=0)


def test_noisy_backward_passes_a_right_answer(capsys):
    nb07.check_noisy_backward(_backward)
    assert capsys.readouterr().out.count("✓") == 3


def test_noisy_backward_explains_the_usual_mistakes():
    with pytest.raises(AssertionError, match="three arrays"):
        nb07.check_noisy_backward(lambda dout, x, gamma, scale: dout)
    with pytest.raises(AssertionError, match="dbeta.*its own s"):
        nb07.check_noisy_backward(lambda *a: _backward(*a, scale_params=False))
    forgot = lambda *a: (_backward(*a, scale_first=False)[0] / a[3], *_backward(*a)[1:])
    with pytest.raises(AssertionError, match="dx.*noise scale s is missing"):
        nb07.check_noisy_backward(forgot)
    with pytest.raises(AssertionError, match="dx.*after BN's backward"):
        nb07.check_noisy_backward(lambda *a: (_backward(*a, scale_first=False)[0],
                                              *_backward(*a)[1:]))
    with pytest.raises(AssertionError, match="dx.*eps"):
        nb07.check_noisy_backward(lambda *a: (2 * _backward(*a)[0], *_backward(*a)[1:]))


def test_noisy_backward_refuses_bnlibs_batchnorm_backward():
    from bnlib import batchnorm_backward, batchnorm_forward

    def borrowed(dout, x, gamma, scale):
        _, cache = batchnorm_forward(x, gamma, np.zeros_like(gamma))
        return batchnorm_backward(dout * scale, cache)

    with pytest.raises(LibraryCallError, match="batchnorm_forward"):
        nb07.check_noisy_backward(borrowed)


def test_noise_shift_is_about_a_third_and_reasoned_predictions_pass(capsys):
    measured = nb07.measured_noise_shift()
    assert 0.30 < measured < 0.40 and measured == nb07.measured_noise_shift()   # fixed seeds
    for reasoned in (1 / 3, 0.35, 0.4):
        nb07.check_noise_shift(reasoned)
    assert "✓" in capsys.readouterr().out
    for wrong in (0.0, 0.02, 0.5, 1.0):             # "BN holds it still", "the largest jump"
        with pytest.raises(AssertionError, match="off by"):
            nb07.check_noise_shift(wrong)
    with pytest.raises(AssertionError, match="one number"):
        nb07.check_noise_shift("0.35")
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        nb07.check_noise_shift(measured)


def test_first_layer_gain_matches_the_pixel_variance_reasoning(capsys):
    from bnlib import load_mnist
    measured = nb07.measured_first_layer_gain()
    x = load_mnist()[0][:60].astype(np.float64)
    reasoned = 1 / (0.05 * np.sqrt(x.var(axis=0).sum()))        # about 2.87
    assert abs(measured - reasoned) < 0.3
    nb07.check_first_layer_gain(reasoned)
    assert "✓" in capsys.readouterr().out
    for wrong in (1.0, 1 / 0.05, 0.05):             # "BN normalises: 1", "1 / std of W"
        with pytest.raises(AssertionError, match="off by"):
            nb07.check_first_layer_gain(wrong)
    with pytest.raises(LibraryCallError):
        nb07.check_first_layer_gain(measured)
