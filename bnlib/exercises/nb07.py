"""Checks of notebook 07's exercises (internal covariate shift, noisy BN, BN's gain).

- Exercise 1, `check_noisy_backward(noisy_bn_backward)`: the backward pass of noisy BN, in numpy;
- Exercise 2, `check_noise_shift(predicted)`: how far the noise alone moves a unit's input;
- Exercise 3, `check_first_layer_gain(predicted)`: BN's gain gamma / sigma_B in the first layer.
Each builds its own inputs with a fixed seed and compares with bnlib's reference.
"""
import functools

import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from ..data import load_mnist
from ..model import MLP
from ..variants import NoisyBatchNorm1d
from . import check_close, check_prediction, run_learner

NOISE_RECORDS = 250          # records of the noise-only layer in `measured_noise_shift`
GAIN_INIT_STD = 0.05         # the initial weight std of Exercise 3


def _noisy_problem():
    """A small float64 problem for Exercise 1: x (8, 5), gamma (5,), scale s (8, 5), dout."""
    rng = np.random.default_rng(2018)
    x = rng.normal(1.5, 2.0, size=(8, 5))                     # (N, D) BN's input
    gamma = rng.uniform(0.5, 2.0, size=5)                      # (D,)
    scale = rng.normal(1.1, 0.1, size=(8, 5))                  # (N, D) the noise's s
    shift = rng.normal(0.2, 0.1, size=(8, 5))                  # (N, D) the noise's m
    return x, gamma, scale, shift, rng.standard_normal((8, 5))


def _noisy_reference(x, gamma, scale, shift, dout):
    """dx, dgamma, dbeta of bnlib's NoisyBatchNorm1d with the noise (scale, shift) held."""
    layer = NoisyBatchNorm1d(x.shape[1], np.random.default_rng(0), dtype=np.float64)
    layer.gamma[...] = gamma
    layer.noise, layer.hold_noise = (scale, shift), True
    layer.forward(x)
    return layer.backward(dout), layer.dgamma.copy(), layer.dbeta.copy()


def check_noisy_backward(noisy_bn_backward):
    """Exercise 1: `noisy_bn_backward(dout, x, gamma, scale)` -> (dx, dgamma, dbeta).

    The learner's function gets the upstream gradient dout (N, D) of the noisy output
    s * (gamma * x_hat + beta) + m, BN's input x (N, D), gamma (D,) and the noise scale s
    (N, D), and must return the three gradients, written with numpy (eps = 1e-5 as in bnlib).
    Compared with NoisyBatchNorm1d's backward (noise held) to 1e-10 relative: the same float64
    sums in another order differ by about 1e-15.
    """
    x, gamma, scale, shift, dout = _noisy_problem()
    got = run_learner(noisy_bn_backward, dout.copy(), x.copy(), gamma.copy(), scale.copy(),
                      task="Exercise 1")
    if not isinstance(got, tuple) or len(got) != 3:
        raise AssertionError("noisy_bn_backward must return three arrays: (dx, dgamma, dbeta)")
    dx, dgamma, dbeta = (np.asarray(g, np.float64) for g in got)
    ref_dx, ref_dgamma, ref_dbeta = _noisy_reference(x, gamma, scale, shift, dout)
    _, cache = batchnorm_forward(x, gamma, np.zeros_like(gamma))
    check_close("dbeta", dbeta, ref_dbeta, rtol=1e-10, hint=_dbeta_hint(dbeta, dout))
    check_close("dgamma", dgamma, ref_dgamma, rtol=1e-10,
                hint=_dgamma_hint(dgamma, dout, cache.x_hat))
    check_close("dx", dx, ref_dx, rtol=1e-10, hint=_dx_hint(dx, dout, scale, cache))


def _matches(got, candidate):
    """True if `got` has the candidate's shape and values (to 1e-10)."""
    return got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-10, atol=1e-12)


def _dbeta_hint(dbeta, dout):
    if _matches(dbeta, dout.sum(axis=0)):
        return ("You summed dout itself. beta sits inside the noise: the output is "
                "s * (gamma * x_hat + beta) + m, so each sample's gradient reaches beta "
                "multiplied by its own s.")
    return "beta is added to every sample before the noise scales it: sum over the batch axis."


def _dgamma_hint(dgamma, dout, x_hat):
    if _matches(dgamma, np.sum(dout * x_hat, axis=0)):
        return ("You used dout * x_hat, as for plain BN. Here gamma * x_hat is multiplied by "
                "the noise scale s before it reaches the output: where does s go?")
    return "Chain rule through two products: the output depends on gamma through s * gamma * x_hat."


def _dx_hint(dx, dout, scale, cache):
    if _matches(dx, batchnorm_backward(dout, cache)[0]):
        return ("This is plain BN's backward of dout: the noise scale s is missing. The noise "
                "acts after BN, so the gradient arriving at BN's output is not dout.")
    if _matches(dx, batchnorm_backward(dout, cache)[0] * scale):
        return ("You multiplied by s after BN's backward. The noise acts after BN, so s "
                "changes the gradient before it enters BN's backward; since s differs from "
                "sample to sample, the order matters (BN's backward mixes the samples).")
    return ("First the gradient at BN's output a (the noise is an elementwise product and a "
            "sum), then BN's closed-form backward from notebook 03 with that gradient: check "
            "the three terms, the 1/N, and that sigma includes eps = 1e-5.")


@functools.lru_cache(maxsize=None)
def measured_noise_shift(records=NOISE_RECORDS):
    """The mean `distribution_shift` that noisy BN's noise alone causes between two records.

    A NoisyBatchNorm1d (100 units, gamma = 1, beta = 0, the default noise) in training mode on
    a fixed probe of 200 standard normal rows, a fresh draw of noise per record; per unit the
    mean and std over the probe; the move between consecutive records averaged over units,
    then over the records - 1 moves. Fixed seeds: the same number at every call (computed
    once). All units share a record's mu and sigma, so the average has a standard deviation
    of about 0.015: ample for judging a prediction to within 0.1.
    """
    probe = np.random.default_rng(7).standard_normal((200, 100))      # (P, D)
    layer = NoisyBatchNorm1d(100, np.random.default_rng(8), dtype=np.float64)
    outputs = [layer.forward(probe) for _ in range(records)]           # records x (P, D)
    means = np.array([out.mean(axis=0) for out in outputs])            # (R, D)
    stds = np.array([out.std(axis=0) for out in outputs])              # (R, D)
    moves = np.hypot(np.diff(means, axis=0), np.diff(stds, axis=0))    # (R - 1, D)
    return float(moves.mean())


def check_noise_shift(predicted):
    """Exercise 2: the learner's predicted mean shift between two records caused by the noise
    alone (`measured_noise_shift`, about 0.35). A reasoned prediction lands within 0.1."""
    check_prediction("shift caused by the noise", predicted, measured_noise_shift(),
                     within=0.1, low=0, high=10)


def measured_first_layer_gain(init_std=GAIN_INIT_STD):
    """gamma / sigma_B averaged over the first layer's units: the MNIST network of notebook 06
    with BN, initial weight std `init_std` (seed 0), on the first 60 training images, in
    training mode (computed as bnlib.experiments.landscape.bn_gains does)."""
    model = MLP((784, 100, 100, 100, 10), use_bn=True, init_std=init_std,
                rng=np.random.default_rng(0))
    model.train().forward(load_mnist()[0][:60])                        # (60, 784)
    bn = model.bns[0]                  # its cache keeps 1 / sqrt(var_B + eps) of this batch
    return float(np.mean(np.abs(bn.gamma) * bn._cache.inv_std))


def check_first_layer_gain(predicted):
    """Exercise 3: the learner's predicted gain gamma / sigma_B of the first BN layer at
    initial weight std 0.05 (`measured_first_layer_gain`, about 3). Within 0.6: the prediction
    from the pixels' total variance is about 2.8."""
    check_prediction("BN's gain in the first layer", predicted, measured_first_layer_gain(),
                     within=0.6, low=0, high=1000)
