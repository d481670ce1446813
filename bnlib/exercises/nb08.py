"""Checks of notebook 08's exercises (scale invariance, the effective learning rate, dropout).

- Exercise 1, `check_doubled_weights(predicted)`: how much smaller a step becomes, relative to
  the weights, when the weights of a layer followed by BN are doubled;
- Exercise 2, `check_dropout(dropout_forward)`: inverted dropout's forward pass, in numpy.
Each builds its own inputs with a fixed seed and compares with bnlib's reference.
"""
import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from ..data import load_mnist
from ..layers import affine_backward, affine_forward
from . import check_prediction, run_learner

DROP = 0.3                  # the drop probability the dropout check uses


def _bn_layer_gradient(W, u, target):
    """dL/dW of L = 0.5 * sum((BN(u @ W) - target)^2) / N, gamma = 1, beta = 0 (float64)."""
    z, affine_cache = affine_forward(u, W)                              # (N, D)
    ones, zeros = np.ones(W.shape[1]), np.zeros(W.shape[1])
    out, bn_cache = batchnorm_forward(z, ones, zeros)                   # (N, D)
    dz, _, _ = batchnorm_backward((out - target) / len(u), bn_cache)
    return affine_backward(dz, affine_cache)[1]                         # (D_in, D)


def measured_step_ratio(lr=0.5, a=2.0):
    """One gradient step at learning rate `lr` from W and from a * W (a BN layer on 60 MNIST
    images, W (784, 100) with std 0.05, seed 8): the ratio of the relative step sizes
    (||lr * g(aW)|| / ||aW||) / (||lr * g(W)|| / ||W||). Theory: 1 / a^2, up to eps."""
    rng = np.random.default_rng(8)
    u = load_mnist()[0][:60].astype(np.float64)                        # (60, 784)
    W = 0.05 * rng.standard_normal((784, 100))                          # (784, 100)
    target = rng.standard_normal((60, 100))                             # (60, 100)
    relative = lambda V: np.linalg.norm(lr * _bn_layer_gradient(V, u, target)) / np.linalg.norm(V)
    return float(relative(a * W) / relative(W))


def check_doubled_weights(predicted):
    """Exercise 1: the learner's prediction of `measured_step_ratio()` (weights doubled, the
    same learning rate). Within 0.05: 1/2 (only the gradient's 1/a) is refused."""
    check_prediction("step relative to the weights, after doubling them", predicted,
                     measured_step_ratio(), within=0.05, low=0, high=100)


def check_dropout(dropout_forward):
    """Exercise 2: `dropout_forward(h, p, rng)` -> (out, mask), inverted dropout in numpy.

    Checked on h (400, 500) with p = DROP: every output is 0 or h / (1 - p) and equals h * mask;
    the share dropped is p to within 0.01 (200,000 draws: its standard deviation is 0.001);
    the same seed gives the same mask, another seed another; p = 0 changes nothing.
    """
    h = np.random.default_rng(3).normal(1.0, 1.0, size=(400, 500))     # (N, D), no zeros
    forward = lambda seed, p=DROP: run_learner(dropout_forward, h.copy(), p,
                                               np.random.default_rng(seed), task="Exercise 2")
    got = forward(11)
    if not isinstance(got, tuple) or len(got) != 2:
        raise AssertionError("dropout_forward must return two arrays: (out, mask)")
    out, mask = (np.asarray(a, np.float64) for a in got)
    _check_forward(h, out, mask)
    again, other = forward(11)[1], forward(12)[1]
    if not np.array_equal(again, mask) or np.array_equal(other, mask):
        raise AssertionError("Draw the mask with the generator `rng` that is passed in (for "
                             "example rng.random(h.shape)), not with np.random: the same "
                             "generator must give the same mask, so runs can be repeated.")
    if not np.allclose(forward(11, 0.0)[0], h):
        raise AssertionError("With p = 0 nothing is dropped: the output must equal h.")
    print("✓ inverted dropout is correct")


def _check_forward(h, out, mask):
    """The forward's output and mask, each wrong form explained."""
    if out.shape != h.shape or mask.shape != h.shape:
        raise AssertionError(f"out and mask must have h's shape {h.shape}, got {out.shape} "
                             f"and {mask.shape}")
    dropped = float(np.mean(out == 0))
    if abs(dropped - (1 - DROP)) < 0.01:
        raise AssertionError(f"You dropped {dropped:.0%} of the entries with p = {DROP}: p is "
                             "the probability of dropping an entry, not of keeping it.")
    if abs(dropped - DROP) > 0.01:
        raise AssertionError(f"You dropped {dropped:.1%} of the entries; with p = {DROP} "
                             f"about {DROP:.0%} should be dropped.")
    kept = out != 0
    ratio = out[kept] / h[kept]
    if np.allclose(ratio, 1.0):
        raise AssertionError("The kept entries are unchanged. Inverted dropout divides them by "
                             "1 - p, so that the expected output equals h and evaluation can "
                             "use the layer's input as it is.")
    if not np.allclose(ratio, 1 / (1 - DROP)):
        raise AssertionError(f"Kept entries should be h / (1 - p) = h * {1 / (1 - DROP):.4g}; "
                             f"yours are h times {np.median(ratio):.4g}.")
    if not np.allclose(out, h * mask):
        raise AssertionError("out must equal h * mask: the mask holds 0 where an entry was "
                             "dropped and 1 / (1 - p) where it was kept.")
