"""Tests for bnlib/exercises/nb09.py: notebook 09's checks pass right answers, name the typical
mistakes (1 / sigma_B, the 4 in front of eps, batch norm or interleaved groups instead of group
norm ...), and refuse answers taken from bnlib."""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb09
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "09_batch_size.ipynb"

# For each exercise, a solution that gets its answer from bnlib (or, for the prediction, the
# exact measurement).
GAMED = {
    "Exercise 1: predict how many x̂ end near ±1":
        "predicted_share = nb09.measured_share()",
    "Exercise 2: the derivative of x̂ at a batch of two":
        "_, cache = bnlib.batchnorm_forward(np.array([[x1], [x2]]), np.ones(1), np.zeros(1), eps)\n"
        "return bnlib.batchnorm_backward(np.array([[1.0], [0.0]]), cache)[0][0, 0]",
    "Exercise 3: group norm by hand":
        "return bnlib.GroupNorm1d(z.shape[1], num_groups, eps, dtype=z.dtype).forward(z)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1: a prediction of the share of x_hat near +-1 ----------------------------------

def test_share_prediction_accepts_a_reasoned_guess_and_explains_the_rest(capsys):
    measured = nb09.measured_share()
    assert 0.9 < measured < 0.96                     # most x_hat are +-1, but not all
    nb09.check_share_prediction(round(measured, 2))
    assert "✓" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="off by"):
        nb09.check_share_prediction(1.0)             # "all of them": the near-ties are missed
    with pytest.raises(AssertionError, match="percentage"):
        nb09.check_share_prediction(93)
    with pytest.raises(AssertionError, match="impossible"):
        nb09.check_share_prediction(-0.5)
    with pytest.raises(LibraryCallError, match="computed"):
        nb09.check_share_prediction(measured)


# ---- Exercise 2: d x_hat_1 / d x_1 ------------------------------------------------------------

def right_derivative(x1, x2, eps=1e-5):
    delta = x1 - x2
    return 4 * eps / (delta**2 + 4 * eps) ** 1.5


def test_derivative_check_accepts_the_derivative(capsys):
    nb09.check_xhat_derivative(right_derivative)
    assert capsys.readouterr().out.count("✓") == len(nb09.PAIRS)


@pytest.mark.parametrize("wrong, message", [
    (lambda x1, x2, eps=1e-5: 2 / np.sqrt((x1 - x2) ** 2 + 4 * eps), "1 / sigma_B"),
    (lambda x1, x2, eps=1e-5: eps / ((x1 - x2) ** 2 + eps) ** 1.5, "the 4 in"),
    (lambda x1, x2, eps=1e-5: -right_derivative(x1, x2, eps), "sign"),
    (lambda x1, x2, eps=1e-5: 0.0, "keep eps"),
    (lambda x1, x2, eps=1e-5: right_derivative(x1, x2, eps) * 1.1, "largest difference"),
    (lambda x1, x2, eps=1e-5: None, "forget to `return`"),
])
def test_derivative_check_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb09.check_xhat_derivative(wrong)


# ---- Exercise 3: group norm by hand -------------------------------------------------------------

def group_norm_with(shape=lambda n, g, d: (n, g, d // g), axis=2, ddof=0, eps_inside=True,
                    reshape_back=True):
    """A learner's group_norm with one step changed by the arguments."""
    def group_norm(z, num_groups, eps=1e-5):
        n, d = z.shape
        groups = z.reshape(shape(n, num_groups, d))
        mean = groups.mean(axis=axis, keepdims=True)
        var = groups.var(axis=axis, keepdims=True, ddof=ddof)
        std = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
        out = (groups - mean) / std
        return out.reshape(n, d) if reshape_back else out
    return group_norm


def test_group_norm_check_accepts_group_norm(capsys):
    nb09.check_group_norm(group_norm_with())
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize("wrong, message", [
    (group_norm_with(shape=lambda n, g, d: (n, d // g, g), axis=1), "consecutive"),
    (group_norm_with(shape=lambda n, g, d: (n, d), axis=0), "batch norm"),
    (group_norm_with(shape=lambda n, g, d: (n, d), axis=1), "layer norm"),
    (group_norm_with(ddof=1), "unbiased"),
    (group_norm_with(eps_inside=False), "inside the square root"),
    (group_norm_with(reshape_back=False), "shape"),
])
def test_group_norm_check_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb09.check_group_norm(wrong)


def test_group_norm_check_refuses_bnlibs_functions():
    import bnlib

    def through_groupnorm_forward(z, num_groups, eps=1e-5):
        maps = z[:, :, None, None]
        return bnlib.groupnorm_forward(maps, np.ones(z.shape[1]), np.zeros(z.shape[1]),
                                       num_groups, eps)[0][:, :, 0, 0]

    with pytest.raises(LibraryCallError, match="groupnorm_forward"):
        nb09.check_group_norm(through_groupnorm_forward)
