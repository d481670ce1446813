"""Checks of notebook 10's exercises (train versus eval).

- Exercise 1, `check_forgetting_steps(predicted)`: a prediction of how many steps running
  averages with momentum 0.01 need to forget 99 % of their starting values. Measured on a
  BatchNorm1d(100, momentum=0.01) of the check's own, fed batches of 60 from a fixed
  distribution: the step at which its running mean has come 99 % of the way from its start
  (0) to the true means, averaged over the units and interpolated between two steps.
- Exercise 2, `check_one_class_accuracy(predicted)`: a prediction of the test accuracy of the
  trained network run in training mode on batches that each hold one digit only. Measured on a
  network the check trains itself: the notebook's network and settings, 300 steps, seed 10.
- Exercise 3, `check_fold_layer(fold_layer)`: folding an evaluation-mode BN into the affine
  layer before it (bias included), on problems of the check's own, against
  bnlib.fold_batchnorm; refuses a solution that calls bnlib.
"""
import functools

import numpy as np

from ..batchnorm import BatchNorm1d
from ..data import load_mnist
from ..inference import batch_mode_predictions, class_batches, fold_batchnorm
from ..model import MLP, SGD
from ..train import minibatches, train_step
from . import check_prediction, run_learner
from .mistakes import explain_prediction, recognise

FORGET_MOMENTUM, FORGET_SHARE = 0.01, 0.99   # exercise 1
FORGET_WITHIN = 60                           # ln(100) / 0.01 and "5 time constants" pass
ONE_CLASS_STEPS, ONE_CLASS_SEED = 300, 10    # exercise 2: the check's own network
ONE_CLASS_WITHIN = 0.16                      # "about chance" passes, "a bit lower" does not
FOLD_RTOL = 1e-10                            # float64, the same few operations in any order


# ---- Exercise 1: how long momentum 0.01 remembers its start ---------------------------------

@functools.lru_cache(maxsize=None)
def measured_forgetting_steps(momentum=FORGET_MOMENTUM, share=FORGET_SHARE, units=100,
                              batch_size=60, seed=10):
    """The step (interpolated) at which a BatchNorm1d's running mean, started at 0, has come
    `share` of the way to the true means of its inputs, averaged over `units` units.

    The inputs: batches of `batch_size` rows, true mean per unit drawn from U(1, 3), noise N(0, 1).
    """
    rng = np.random.default_rng(seed)
    true_mean = rng.uniform(1.0, 3.0, units)                       # (units,)
    bn = BatchNorm1d(units, momentum=momentum)
    progress = [0.0]                       # mean over units of running_mean / true_mean
    while progress[-1] < share and len(progress) < 100_000:
        bn.forward(true_mean + rng.standard_normal((batch_size, units)))
        progress.append(float(np.mean(bn.running_mean / true_mean)))
    k = len(progress) - 1                  # the first step at or beyond `share`
    return k - 1 + (share - progress[k - 1]) / (progress[k] - progress[k - 1])


def check_forgetting_steps(predicted):
    """Exercise 1: the predicted number of steps against the measurement."""
    measured = measured_forgetting_steps()
    reasons = [(0, 150, "After 1 / momentum = 100 steps the starting value still weighs "
                        "(1 - 0.01)^100, about 37 %: how does that weight shrink with every "
                        "further step?"),
               (150, 260, "About 200 is how many recent batches the average spans "
                          "((2 - momentum) / momentum, notebook 02), not how long its start "
                          "lingers: write the start's weight after k steps and solve for 1 %."),
               (260, 400, "Closer, but at that step the start still weighs more than 1 %: "
                          "write its weight after k steps and solve for 1 % with a logarithm."),
               (520, np.inf, "Too many: write the start's weight after k steps and solve for 1 %.")]
    explain_prediction(
        lambda: check_prediction("the steps to forget 99 % of the start", predicted, measured,
                                 within=FORGET_WITHIN, low=1),
        reasons, predicted)


# ---- Exercise 2: a batch of one class in training mode --------------------------------------

@functools.lru_cache(maxsize=None)
def measured_one_class_accuracy(steps=ONE_CLASS_STEPS, seed=ONE_CLASS_SEED):
    """The test accuracy, in training mode on batches of 60 that each hold one digit, of the
    notebook's network (784-100-100-100-10, BN, lr 0.1, init std 0.05, batches of 60) trained
    `steps` steps from `seed`. Also returns its accuracy in evaluation mode: (one_class, eval)."""
    x_train, y_train, x_test, y_test = load_mnist()
    init_seed, batch_seed = np.random.SeedSequence(seed).spawn(2)
    model = MLP((784, 100, 100, 100, 10), use_bn=True, init_std=0.05,
                rng=np.random.default_rng(init_seed))
    optimizer = SGD(model.flat_params, model.flat_grads, 0.1)
    batches = minibatches(len(x_train), 60, np.random.default_rng(batch_seed))
    for step in range(1, steps + 1):
        idx = next(batches)                                          # (60,)
        train_step(model, optimizer, x_train[idx], y_train[idx], step)
    one_class = batch_mode_predictions(model, x_test, class_batches(y_test, 60))
    return (float(np.mean(one_class == y_test)),
            float(np.mean(model.predict(x_test) == y_test)))


def check_one_class_accuracy(predicted):
    """Exercise 2: the predicted accuracy on one-class batches in training mode."""
    measured, in_eval = measured_one_class_accuracy()
    reasons = [(0.32, 1.0, "Far lower: in a batch of sevens, BN subtracts the sevens' own mean. "
                           "What do all the sevens have in common, and what is left of each seven "
                           "once it is removed?")]
    explain_prediction(
        lambda: check_prediction("the accuracy on one-class batches", predicted, measured,
                                 within=ONE_CLASS_WITHIN, low=0, high=1),
        reasons, predicted)
    print(f"  (measured on the check's own network, trained {ONE_CLASS_STEPS} steps: "
          f"{in_eval:.3f} in evaluation mode)")


# ---- Exercise 3: fold a layer ---------------------------------------------------------------

def fold_problems():
    """The check's problems: [(description, W (D_in, D), b (D,), gamma, beta, mean, var, eps)].

    gamma has a negative entry and one unit a variance far below eps's scale, so that a
    forgotten sign, square root or eps shows; the first W is square, so that scaling its rows
    instead of its columns is explained rather than failing on shapes.
    """
    rng = np.random.default_rng(1010)
    problems = []
    for description, (d_in, d) in (("a 5 x 5 layer", (5, 5)), ("a 7 x 5 layer", (7, 5))):
        gamma = rng.uniform(0.5, 2.0, d) * np.where(np.arange(d) == 1, -1.0, 1.0)
        var = rng.uniform(0.3, 3.0, d)
        var[-1] = 2e-6                                       # eps matters for this unit
        problems.append((description, rng.standard_normal((d_in, d)), rng.standard_normal(d),
                         gamma, rng.standard_normal(d), rng.standard_normal(d), var, 1e-5))
    return problems


def _reference_fold(W, b, gamma, beta, mean, var, eps):
    """bnlib.fold_batchnorm of these numbers (a float64 BatchNorm1d in evaluation mode)."""
    bn = BatchNorm1d(len(gamma), eps=eps)
    bn.gamma[...], bn.beta[...] = gamma, beta
    bn.running_mean[...], bn.running_var[...] = mean, var
    return fold_batchnorm(W, b, bn.eval())


def _fold_mistakes(W, b, gamma, beta, mean, var, eps):
    """[(W', b', explanation)] that the usual mistakes give."""
    s = gamma / np.sqrt(var + eps)
    good_b = (b - mean) * s + beta
    return [
        (W * s[:, None] if W.shape[0] == W.shape[1] else None, good_b,
         "you scaled the rows of W; unit j's weights are column j, so column j gets s_j"),
        (W * s, beta - mean * s, "the layer's bias b is missing from b': it goes through BN "
                                 "with the rest of z = x W + b"),
        (W * s, b * s + beta - mean, "the running mean is subtracted before BN scales: it is "
                                     "multiplied by s too"),
        (W * s, b + beta - mean * s, "the bias b passes through BN's scale like every part of z"),
        (W * (gamma / (np.sqrt(var) + eps)), None, "eps goes inside the square root: "
                                                   "s = gamma / sqrt(var + eps)"),
        (W * (gamma / np.sqrt(var)), None, "eps is missing: s = gamma / sqrt(var + eps)"),
        (W * (gamma / (var + eps)), None, "BN divides by the standard deviation, the square "
                                          "root of var + eps"),
        (W / np.sqrt(var + eps), None, "gamma is missing from the scale"),
        (W * np.abs(s), None, "gamma may be negative: keep its sign"),
        (W * s, (b - mean) * s, "beta is missing from b'"),
    ]


def check_fold_layer(fold_layer):
    """Exercise 3: `fold_layer(W, b, gamma, beta, running_mean, running_var, eps)` returns
    (W_folded (D_in, D), b_folded (D,)) with x @ W_folded + b_folded = BN(x @ W + b) in
    evaluation mode, as bnlib.fold_batchnorm. Checked on the check's own float64 problems."""
    for description, *numbers_ in fold_problems():
        inputs = [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in numbers_]
        got = run_learner(fold_layer, *inputs, task="Exercise 3")
        for before, after in zip(numbers_, inputs):
            if isinstance(before, np.ndarray) and not np.array_equal(before, after):
                raise AssertionError("Exercise 3: your fold_layer changed one of its inputs in "
                                     "place; build new arrays for W' and b'")
        if not isinstance(got, tuple) or len(got) != 2:
            raise AssertionError("Exercise 3: fold_layer must return two arrays, (W_folded, "
                                 f"b_folded); got {type(got).__name__}")
        W_expected, b_expected = _reference_fold(*numbers_)
        mistakes = _fold_mistakes(*numbers_)
        for name, value, expected, index in (("W_folded", got[0], W_expected, 0),
                                             ("b_folded", got[1], b_expected, 1)):
            value = np.asarray(value, dtype=float)
            if value.shape != expected.shape:
                raise AssertionError(f"Exercise 3 ({description}): {name} has shape "
                                     f"{value.shape}, expected {expected.shape}")
            if not np.allclose(value, expected, rtol=FOLD_RTOL, atol=1e-12):
                why = recognise(value, [(m[index], m[2]) for m in mistakes]) or (
                    "compare your formula with BN(z) = s (z - mean) + beta, "
                    "s = gamma / sqrt(var + eps), written out for z = x W + b")
                worst = float(np.max(np.abs(value - expected)))
                raise AssertionError(f"Exercise 3 ({description}): {name} is off by up to "
                                     f"{worst:.3g}: {why}.")
    print("✓ fold_layer: W' and b' agree with bnlib.fold_batchnorm on two layers of the "
          "check's own")
