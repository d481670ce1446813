"""Checks of notebook 09's exercises (batch size): x_hat at a batch of two, its derivative,
group norm by hand.

Each check builds its own inputs, computes the reference with bnlib, and calls the learner's
function through `run_learner`, which refuses a solution that calls bnlib. When an answer is
off, the check compares it with the usual mistakes and names the one it matches.
"""
import numpy as np

from . import check_close, check_prediction, run_learner
from ..batchnorm import batchnorm_backward, batchnorm_forward
from ..data import load_mnist
from ..groupnorm import GroupNorm1d

EPS = 1e-5


# ---- Exercise 1: how many x_hat end within 0.01 of +1 or -1 at a batch of two? ----

def pairs_x_hat(n_images=1000, units=100, seed=7):
    """x_hat of BN on batches of two: the first `n_images` MNIST training images through a
    random first layer N(0, 0.05^2) (`units` wide, seeded), paired in order. Returns
    (x_hat (n_images, units), delta (n_images // 2, units) = x_1 - x_2 of every pair)."""
    rng = np.random.default_rng(seed)
    w1 = 0.05 * rng.standard_normal((784, units))
    z = load_mnist()[0][:n_images].astype(np.float64) @ w1                  # (n, units)
    ones, zeros = np.ones(units), np.zeros(units)
    x_hat = np.concatenate([batchnorm_forward(z[i:i + 2], ones, zeros)[0]
                            for i in range(0, n_images, 2)])
    return x_hat, z[0::2] - z[1::2]


def measured_share():
    """The share of section 2's x_hat (`pairs_x_hat`) within 0.01 of +1 or -1."""
    x_hat, _ = pairs_x_hat()
    return float(np.mean(np.abs(np.abs(x_hat) - 1) < 0.01))


def check_share_prediction(predicted_share):
    """Exercise 1: the learner's predicted share (between 0 and 1) of the x_hat of section 2
    within 0.01 of +1 or -1, against the measurement (a reasoned guess is within 0.05)."""
    measured = measured_share()
    if isinstance(predicted_share, (int, float)) and 1 < predicted_share <= 100:
        raise AssertionError(f"Exercise 1: {predicted_share:g} looks like a percentage; write "
                             "the share as a number between 0 and 1 (e.g. 0.5 for 50 %).")
    check_prediction("Exercise 1: share of x_hat within 0.01 of ±1", predicted_share, measured,
                     within=0.05, low=0.0, high=1.0)


# ---- Exercise 2: the derivative of x_hat_1 with respect to x_1 at a batch of two ----

PAIRS = ((0.30, 0.10), (-1.5, 0.5), (0.2, 0.2 + 3e-3), (2.0, 2.0 - 1e-4))


def reference_derivative(x1, x2, eps=EPS):
    """d x_hat_1 / d x_1 for the batch (x1, x2) of one feature, from bnlib's backward."""
    _, cache = batchnorm_forward(np.array([[x1], [x2]]), np.ones(1), np.zeros(1), eps)
    dx, _, _ = batchnorm_backward(np.array([[1.0], [0.0]]), cache)          # d x_hat_1 / d x
    return float(dx[0, 0])


def _derivative_mistake(got, x1, x2, eps):
    """The usual mistake `got` matches, in words, or None."""
    delta = x1 - x2
    mistakes = [
        (2 / np.sqrt(delta**2 + 4 * eps),
         "that is 1 / sigma_B: it treats the batch mean and variance as constants, but with "
         "two samples both move with x_1. Write x_hat_1 as a function of delta alone first."),
        (eps / (delta**2 + eps) ** 1.5,
         "the variance of two values x_1, x_2 is delta^2 / 4, not delta^2: check the 4 in "
         "front of eps."),
        (-4 * eps / (delta**2 + 4 * eps) ** 1.5,
         "the sign is wrong: x_hat_1 grows when x_1 grows."),
        (0.0, "0 is the limit for eps -> 0; keep eps: it is what leaves any gradient at all."),
    ]
    for value, words in mistakes:
        if np.isclose(got, value, rtol=1e-6, atol=1e-12):
            return words
    return None


def check_xhat_derivative(dxhat1_dx1):
    """Exercise 2: the learner's dxhat1_dx1(x1, x2, eps) against bnlib's backward, on pairs of
    its own (far apart, close, nearly tied)."""
    for x1, x2 in PAIRS:
        got = run_learner(dxhat1_dx1, x1, x2, EPS, allowed=(), task="Exercise 2")
        expected = reference_derivative(x1, x2)
        if got is not None and np.isscalar(got) and not np.isclose(got, expected, rtol=1e-6):
            mistake = _derivative_mistake(float(got), x1, x2, EPS)
            if mistake:
                raise AssertionError(f"Exercise 2, pair x_1 = {x1}, x_2 = {x2}: got {got:.4g}; "
                                     + mistake)
        # both sides are float64 formulas of O(1) terms: they agree to ~1e-12; 1e-6 is generous
        check_close(f"d x_hat_1 / d x_1 at (x_1, x_2) = ({x1}, {x2})", got, expected, rtol=1e-6,
                    hint="Write x_hat_1 = delta / sqrt(delta^2 + 4 eps) and differentiate with "
                         "respect to delta (the quotient rule; d delta / d x_1 = 1).")


# ---- Exercise 3: group norm by hand ----

def _group_norm_mistakes(z, num_groups, eps):
    """[(wrong output, what went wrong)] for the usual mistakes of group norm on z (N, D)."""
    n, d = z.shape
    g = num_groups

    def normalise(values, axis, ddof=0, eps_inside=True):
        mean = values.mean(axis=axis, keepdims=True)
        var = values.var(axis=axis, keepdims=True, ddof=ddof)
        std = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
        return (values - mean) / std

    grouped = z.reshape(n, g, d // g)
    return [
        (normalise(z, 0), "you normalised each feature over the samples of the batch: that is "
                          "batch norm. Group norm takes its statistics inside each sample."),
        (normalise(z.reshape(n, d // g, g), 1).reshape(n, d),
         "your groups take every G-th feature. A group is D/G *consecutive* features: reshape "
         "to (N, G, D/G), so that the last axis runs inside a group."),
        (normalise(z, 1), "you normalised each sample over all its features, which is layer "
                          "norm: num_groups was ignored."),
        (normalise(grouped, 2, ddof=1).reshape(n, d),
         "you used the unbiased variance (ddof=1); BN and its relatives divide by the number of "
         "values (biased variance)."),
        (normalise(grouped, 2, eps_inside=False).reshape(n, d),
         "eps goes inside the square root: sqrt(var + eps)."),
    ]


def check_group_norm(group_norm):
    """Exercise 3: the learner's group_norm(z, num_groups, eps) against bnlib's GroupNorm1d
    (gamma 1, beta 0), for 1, 2 and 4 groups of a batch with features on very different
    scales."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((6, 12)) * np.geomspace(0.1, 10, 12) + np.linspace(-3, 3, 12)
    for num_groups in (4, 2, 1):
        got = run_learner(group_norm, z.copy(), num_groups, EPS, allowed=(), task="Exercise 3")
        expected = GroupNorm1d(12, num_groups, EPS, dtype=np.float64).forward(z)
        if got is not None and np.shape(got) == expected.shape and \
                not np.allclose(got, expected, rtol=1e-10, atol=1e-12):
            for wrong, words in _group_norm_mistakes(z, num_groups, EPS):
                if np.allclose(got, wrong, rtol=1e-10, atol=1e-12):
                    raise AssertionError(f"Exercise 3 with {num_groups} groups: {words}")
        # float64 on both sides, the same formula in another order: 1e-10 leaves ample room
        check_close(f"group norm of a (6, 12) batch, {num_groups} group(s)", got, expected,
                    rtol=1e-10, atol=1e-12,
                    hint="Return an array of z's shape (N, D): reshape back at the end.")
