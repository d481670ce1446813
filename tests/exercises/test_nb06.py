"""Tests for bnlib/exercises/nb06.py: right answers pass, typical wrong ones are explained, and
no exercise of notebook 06 passes with bnlib's own answer."""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb06
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_training_comparison.ipynb"

GAMED = {
    "Exercise 1: predict the gradient ratio":
        "ratio_without_bn = nb06.measured_gradient_ratio(False)\n"
        "ratio_with_bn = nb06.measured_gradient_ratio(True)",
    "Exercise 2: BN's gain, by hand":
        "model.forward(x)\n"
        "return [float(np.median(bn.gamma * bn._cache.inv_std)) for bn in model.bns]",
    "Exercise 3: a step that leaves γ and β alone":
        "from bnlib.experiments.affine_ablation import FrozenAffineSGD\n"
        "FrozenAffineSGD(model, lr).step()",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1 ---------------------------------------------------------------------------

def test_gradient_ratio_is_measured_small_without_bn_and_near_1_with_it():
    assert 0.01 < nb06.measured_gradient_ratio(False) < 0.1
    assert 0.5 < nb06.measured_gradient_ratio(True) < 2


def test_reasoned_predictions_pass_and_far_ones_are_explained(capsys):
    nb06.check_gradient_ratio(1 / 64, 1.0)
    assert "✓ without BN" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="sigmoid's slope"):
        nb06.check_gradient_ratio(1.0, 1.0)            # no shrinking without BN: too far
    with pytest.raises(AssertionError, match="gamma / sigma_B"):
        nb06.check_gradient_ratio(0.02, 0.02)          # BN's gain forgotten
    with pytest.raises(AssertionError, match="positive"):
        nb06.check_gradient_ratio(-0.02, 1.0)
    with pytest.raises(AssertionError, match="one number"):
        nb06.check_gradient_ratio("small", 1.0)


def test_a_computed_ratio_is_refused():
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        nb06.check_gradient_ratio(nb06.measured_gradient_ratio(False), 1.0)


# ---- Exercise 2 ---------------------------------------------------------------------------

def _gains(model, x, gamma=True, eps=True, sigmoid=True, statistic=np.median):
    """bn_gains with optional mistakes."""
    gains, h = [], x
    for k in range(1, model.n_hidden + 1):
        z = h @ model.params[f"W{k}"]
        mean, var = z.mean(axis=0), z.var(axis=0)
        e = model.bns[k - 1].eps if eps else 0.0
        g, b = model.params[f"gamma{k}"], model.params[f"beta{k}"]
        gains.append(float(statistic((g if gamma else 1.0) / np.sqrt(var + e))))
        a = g * (z - mean) / np.sqrt(var + model.bns[k - 1].eps) + b
        h = 1 / (1 + np.exp(-a)) if sigmoid else a
    return gains


def test_right_gains_pass(capsys):
    nb06.check_bn_gains(_gains)
    assert "✓ BN's gains are correct" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    (dict(gamma=False), "multiply by each unit's gamma"),
    (dict(eps=False), "eps"),
    (dict(statistic=np.mean), "median"),
    (dict(sigmoid=False), "sigmoid of BN's output"),
])
def test_typical_gain_mistakes_are_explained(mistake, message):
    with pytest.raises(AssertionError, match=message):
        nb06.check_bn_gains(lambda model, x: _gains(model, x, **mistake))


def test_gains_from_running_averages_or_of_the_wrong_length_are_explained():
    def running(model, x):
        return [float(np.median(model.params[f"gamma{k}"]
                                / np.sqrt(model.bns[k - 1].running_var + model.bns[k - 1].eps)))
                for k in range(1, 4)]
    with pytest.raises(AssertionError, match="running averages"):
        nb06.check_bn_gains(running)
    with pytest.raises(AssertionError, match="one gain per hidden layer"):
        nb06.check_bn_gains(lambda model, x: _gains(model, x)[:2])
    with pytest.raises(AssertionError, match="return"):
        nb06.check_bn_gains(lambda model, x: None)


def test_gains_from_bnlibs_forward_are_refused():
    def gamed(model, x):
        model.forward(x)
        return nb06.reference_gains(model, x)
    with pytest.raises(LibraryCallError, match="MLP.forward"):
        nb06.check_bn_gains(gamed)


# ---- Exercise 3 ---------------------------------------------------------------------------

def test_right_step_passes(capsys):
    def step(model, lr):
        for name, p in model.params.items():
            if not name.startswith(("gamma", "beta")):
                p -= lr * model.grads[name]
    nb06.check_frozen_affine_step(step)
    assert "leaves gamma and beta alone" in capsys.readouterr().out


def test_typical_step_mistakes_are_explained():
    def everything(model, lr):
        model.flat_params -= lr * model.flat_grads
    with pytest.raises(AssertionError, match="gamma1 changed"):
        nb06.check_frozen_affine_step(everything)

    def rebinding(model, lr):
        for name in list(model.params):
            if not name.startswith(("gamma", "beta")):
                model.params[name] = model.params[name] - lr * model.grads[name]
    with pytest.raises(AssertionError, match="in place"):
        nb06.check_frozen_affine_step(rebinding)

    def ascent(model, lr):
        for name, p in model.params.items():
            if not name.startswith(("gamma", "beta")):
                p += lr * model.grads[name]
    with pytest.raises(AssertionError, match="sign"):
        nb06.check_frozen_affine_step(ascent)

    def weights_only(model, lr):
        for name, p in model.params.items():
            if name.startswith("W"):
                p -= lr * model.grads[name]
    with pytest.raises(AssertionError, match="b4 is wrong: it did not move"):
        nb06.check_frozen_affine_step(weights_only)


def test_a_step_through_bnlibs_sgd_is_refused():
    from bnlib import SGD

    def gamed(model, lr):
        SGD(model.flat_params, model.flat_grads, lr).step()
    with pytest.raises(LibraryCallError, match="SGD"):
        nb06.check_frozen_affine_step(gamed)
