"""Checks of notebook 11's exercises (fine-tuning with frozen statistics).

- Exercise 1, `check_frozen_backward(frozen_backward)`: the backward pass of BN with frozen
  statistics, frozen_backward(dout, x, gamma, running_mean, running_var, eps) -> (dx, dgamma,
  dbeta), on float64 problems of the check's own (one a batch of a single image), against
  bnlib.frozen_batchnorm_backward. Recognises Algorithm 1's backward, a centred dx, a missing
  gamma or 1/sigma, dgamma from x instead of x_hat, unsummed or swapped dgamma and dbeta.
- Exercise 2, `check_unit_offsets(unit_offsets)`: unit_offsets(a, running_mean, running_var,
  eps) -> (D,), how far each unit's mean over the batch sits from its frozen mean, in frozen
  standard deviations, on problems of the check's own. Recognises a signed distance, the mean
  of the distances, the batch's std, a variance instead of a std, a forgotten eps, the wrong axis.
Both refuse a solution that calls bnlib.
"""
import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from ..variants import frozen_batchnorm_backward, frozen_batchnorm_forward
from . import run_learner
from .mistakes import recognise

RTOL = 1e-10     # float64, the same few operations in another order


def _as_array(value, name, task):
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{task}: {name} must be an array of numbers, got "
                             f"{type(value).__name__}") from None


# ---- Exercise 1: the frozen backward --------------------------------------------------------

def frozen_problems():
    """[(description, dout, x, gamma, running_mean, running_var, eps)], float64.

    The batch's own mean and variance are far from the frozen ones (so Algorithm 1's backward
    differs), gamma has a negative entry, one unit's variance is near eps, and one problem is
    a batch of a single image, which frozen statistics handle and batch statistics cannot.
    """
    rng = np.random.default_rng(1111)
    problems = []
    for description, n in (("a batch of 6", 6), ("a batch of one image", 1)):
        d = 4
        gamma = rng.uniform(0.5, 2.0, d) * np.array([1.0, -1.0, 1.0, 1.0])
        mean, var = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
        var[-1] = 3e-6
        x = 2.0 + 3.0 * rng.standard_normal((n, d))                   # (n, d)
        problems.append((description, rng.standard_normal((n, d)), x, gamma, mean, var, 1e-5))
    return problems


def _frozen_mistakes(dout, x, gamma, mean, var, eps):
    """[(dx, dgamma, dbeta, explanation)] that the usual mistakes give (None: not affected)."""
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dx = dout * gamma * inv_std
    out = [(dx - dx.mean(axis=0), None, None,
            "you subtracted the batch mean of dx. That centring comes from the path through the "
            "batch mean in training mode; with frozen statistics the mean is a constant and "
            "has no path"),
           (dout * inv_std, None, None, "gamma is missing: y = gamma * x_hat + beta"),
           (dout * gamma, None, None, "1 / sqrt(running_var + eps) is missing: x_hat = "
                                      "(x - running_mean) / sqrt(running_var + eps)"),
           (dout * gamma / (var + eps), None, None, "divide by the standard deviation, "
                                                    "sqrt(running_var + eps)"),
           (dout * gamma / np.sqrt(var), None, None, "eps is missing: sqrt(running_var + eps)"),
           (dx / len(x), None, None, "there is no 1/N: each image's dx depends on its own dout "
                                     "only"),
           (None, (dout * x).sum(axis=0), None, "dgamma sums dout times x_hat, the normalised "
                                                "input, not times x"),
           (None, dout.sum(axis=0), (dout * x_hat).sum(axis=0), "dgamma and dbeta are "
                                                                "swapped"),
           (None, dout * x_hat, dout, "gamma and beta are shared by the whole batch: sum their "
                                      "gradients over the batch (axis 0)")]
    if len(x) > 1:
        _, cache = batchnorm_forward(x, gamma, np.zeros_like(gamma), eps=eps)
        batch_dx, batch_dgamma, _ = batchnorm_backward(dout, cache)
        out.append((batch_dx, batch_dgamma, None,
                    "this is Algorithm 1's backward, with the batch's own mean and variance; "
                    "here the statistics are the frozen running_mean and running_var, "
                    "constants"))
    return out


def check_frozen_backward(frozen_backward):
    """Exercise 1: `frozen_backward(dout, x, gamma, running_mean, running_var, eps)` returns
    (dx, dgamma, dbeta) of BN with frozen statistics, as bnlib.frozen_batchnorm_backward."""
    for description, dout, x, gamma, mean, var, eps in frozen_problems():
        got = run_learner(frozen_backward, dout.copy(), x.copy(), gamma.copy(), mean.copy(),
                          var.copy(), eps, task="Exercise 1")
        if not isinstance(got, tuple) or len(got) != 3:
            raise AssertionError("Exercise 1: frozen_backward must return three arrays, (dx, "
                                 f"dgamma, dbeta); got {type(got).__name__}")
        _, cache = frozen_batchnorm_forward(x, gamma, np.zeros_like(gamma), mean, var, eps)
        expected = frozen_batchnorm_backward(dout, cache)
        mistakes = _frozen_mistakes(dout, x, gamma, mean, var, eps)
        for index, name in enumerate(("dx", "dgamma", "dbeta")):
            value = _as_array(got[index], name, "Exercise 1")
            if value.shape != expected[index].shape:
                why = recognise(value, [(m[index], m[3]) for m in mistakes])
                raise AssertionError(f"Exercise 1 ({description}): {name} has shape "
                                     f"{value.shape}, expected {expected[index].shape}. {why}")
            if not np.allclose(value, expected[index], rtol=RTOL, atol=1e-12):
                why = recognise(value, [(m[index], m[3]) for m in mistakes]) or (
                    "follow y = gamma * x_hat + beta with x_hat = (x - running_mean) / "
                    "sqrt(running_var + eps) backwards, the statistics held constant")
                worst = float(np.max(np.abs(value - expected[index])))
                raise AssertionError(f"Exercise 1 ({description}): {name} is off by up to "
                                     f"{worst:.3g}: {why}.")
    print("✓ frozen_backward: dx, dgamma and dbeta agree with bnlib's on two problems of the "
          "check's own (one a single image)")


# ---- Exercise 2: how far the units sit from their frozen means ------------------------------

def offset_problems():
    """[(description, a (N, D), running_mean, running_var, eps, reference (D,))], float64.

    Units sit on both sides of their frozen means, with spreads unlike the frozen ones; one
    unit's frozen variance is near eps.
    """
    rng = np.random.default_rng(1112)
    problems = []
    for description, n in (("a batch of 200", 200), ("a batch of 3", 3)):
        d = 6
        mean, var = rng.standard_normal(d), rng.uniform(0.3, 3.0, d)
        var[-1] = 4e-6
        std = np.sqrt(var + 1e-5)
        offset = np.array([2.0, -3.0, 0.5, -0.2, 4.0, -1.5])            # in frozen stds
        spread = np.array([0.5, 2.0, 1.0, 3.0, 0.3, 1.5])               # in frozen stds
        a = mean + std * (offset + spread * rng.standard_normal((n, d)))  # (n, d)
        reference = np.abs(a.mean(axis=0) - mean) / std
        problems.append((description, a, mean, var, 1e-5, reference))
    return problems


def _offset_mistakes(a, mean, var, eps):
    """[(offsets, explanation)] that the usual mistakes give."""
    std = np.sqrt(var + eps)
    return [((a.mean(axis=0) - mean) / std, "a distance has no sign: take the absolute value"),
            (np.abs(a - mean).mean(axis=0) / std,
             "you averaged each image's distance; average the images first, then take the "
             "distance of that mean (the mean of the distances also counts how far the images "
             "spread around their own mean)"),
            (np.abs(a.mean(axis=0) - mean) / a.std(axis=0),
             "in frozen standard deviations: divide by sqrt(running_var + eps), the std BN "
             "divides by, not by the batch's own std"),
            (np.abs(a.mean(axis=0) - mean) / (var + eps),
             "divide by the standard deviation, the square root of running_var + eps"),
            (np.abs(a.mean(axis=0) - mean) / np.sqrt(var),
             "eps is missing: BN divides by sqrt(running_var + eps)")]


def check_unit_offsets(unit_offsets):
    """Exercise 2: `unit_offsets(a, running_mean, running_var, eps)` returns (D,) with
    |mean over the batch of a - running_mean| / sqrt(running_var + eps) per unit."""
    for description, a, mean, var, eps, reference in offset_problems():
        got = run_learner(unit_offsets, a.copy(), mean.copy(), var.copy(), eps,
                          task="Exercise 2")
        if got is None:
            raise AssertionError("Exercise 2: unit_offsets returned None: return the array")
        value = _as_array(got, "the result", "Exercise 2")
        if value.shape != reference.shape:
            hint = (" You averaged over the units (axis 1): average over the batch, axis 0."
                    if value.shape == (len(a),) else "")
            raise AssertionError(f"Exercise 2 ({description}): shape {value.shape}, expected "
                                 f"{reference.shape}, one number per unit.{hint}")
        if not np.allclose(value, reference, rtol=RTOL, atol=1e-12):
            why = recognise(value, _offset_mistakes(a, mean, var, eps)) or (
                "per unit: the batch mean of a, minus running_mean, in units of "
                "sqrt(running_var + eps), as a distance")
            worst = float(np.max(np.abs(value - reference)))
            raise AssertionError(f"Exercise 2 ({description}): off by up to {worst:.3g}: "
                                 f"{why}.")
    print("✓ unit_offsets: right on two problems of the check's own")
