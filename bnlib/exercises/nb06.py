"""Checks of notebook 06 (the training comparison).

- Exercise 1, `check_gradient_ratio`: predict |dL/dW1| / |dL/dW3| at the start of training,
  without and with BN, before measuring it;
- Exercise 2, `check_bn_gains`: compute BN's gain gamma / sigma_B per hidden layer yourself;
- Exercise 3, `check_frozen_affine_step`: an SGD step that leaves gamma and beta alone.
Each check builds its own network and data (fixed seeds) and computes the reference with bnlib.
"""
import math
import numbers

import numpy as np

from ..data import load_mnist
from ..model import MLP, SGD
from . import LibraryCallError, check_close, run_learner

SIZES, INIT_STD = (784, 100, 100, 100, 10), 0.05     # the network of Fig. 1 (Fig1Config)
RATIO_FACTOR = 3.0       # a reasoned order of magnitude lands within a factor of 3


def measured_gradient_ratio(use_bn, seeds=(0, 1, 2), batches=10):
    """|dL/dW1| / |dL/dW3| of the Fig. 1 network at initialisation (init std 0.05), averaged
    over `batches` minibatches of 60 training images and the initial weights of `seeds`."""
    x_train, y_train = load_mnist()[:2]
    ratios = []
    for seed in seeds:
        model = MLP(SIZES, use_bn=use_bn, init_std=INIT_STD, rng=np.random.default_rng(seed))
        for b in range(batches):
            model.loss(x_train[60 * b:60 * (b + 1)], y_train[60 * b:60 * (b + 1)])
            ratios.append(np.linalg.norm(model.grads["W1"]) / np.linalg.norm(model.grads["W3"]))
    return float(np.mean(ratios))


def _judge_ratio(name, predicted, measured, factor, hint):
    """Accept a predicted ratio within `factor` of the measurement; refuse a computed one."""
    if isinstance(predicted, bool) or not isinstance(predicted, numbers.Real):
        raise AssertionError(f"{name}: write your prediction as one number, got {predicted!r}")
    if not predicted > 0 or not math.isfinite(predicted):
        raise AssertionError(f"{name}: {predicted!r} is impossible: a ratio of two norms is a "
                             "positive number")
    if abs(predicted - measured) <= 1e-9 * abs(measured):
        raise LibraryCallError(f"{name}: your prediction equals the measurement to 9 digits: it "
                               "was computed, not predicted. Reason it out and write a round "
                               "number.")
    off = max(predicted / measured, measured / predicted)
    if off > factor:
        raise AssertionError(f"{name}: you predicted {predicted:g}, the measurement is "
                             f"{measured:.3g}, {off:.1f} times {'more' if predicted < measured else 'less'}"
                             f" (more than {factor:g} times off). {hint}")
    print(f"✓ {name}: you predicted {predicted:g}, the measurement is {measured:.3g} "
          f"({off:.1f} times off)")


def check_gradient_ratio(ratio_without_bn, ratio_with_bn):
    """Exercise 1: the learner's predicted |dL/dW1| / |dL/dW3| at initialisation, without and
    with BN, against the measurement (mean over 3 initialisations x 10 minibatches)."""
    _judge_ratio("without BN", ratio_without_bn, measured_gradient_ratio(False), RATIO_FACTOR,
                 "Going down one layer, how much does the sigmoid's slope shrink the gradient, "
                 "and how much does a 100 x 100 matrix with entries of std 0.05 shrink it?")
    _judge_ratio("with BN", ratio_with_bn, measured_gradient_ratio(True), RATIO_FACTOR,
                 "BN's backward multiplies the gradient by gamma / sigma_B in every layer: how "
                 "large is sigma_B of a layer's input here, and what does that undo?")


def reference_gains(model, x):
    """BN's gain per hidden layer, median over units of gamma / sqrt(sigma_B^2 + eps), for the
    batch x in training mode (bnlib's own forward pass). Returns a list of floats."""
    was_training = model.training
    model.train()
    model.forward(x)
    gains = [float(np.median(bn.gamma * bn._cache.inv_std)) for bn in model.bns]
    model.train() if was_training else model.eval()
    return gains


def _gains_network():
    """A float64 Fig. 1 network with BN after 30 SGD steps at lr 1 (so that gamma and beta
    are no longer 1 and 0), the batch to measure on (60 test images), and the model's state."""
    x_train, y_train, x_test, _ = load_mnist()
    model = MLP(SIZES, use_bn=True, init_std=INIT_STD, rng=np.random.default_rng(6),
                dtype=np.float64)
    optimizer = SGD(model.flat_params, model.flat_grads, lr=1.0)
    for step in range(30):
        model.loss(x_train[60 * step:60 * (step + 1)], y_train[60 * step:60 * (step + 1)])
        optimizer.step()
    return model, x_test[:60].astype(np.float64)


def _gain_mistakes(model, x):
    """The gains that typical mistakes give: {explanation: gains per layer}."""
    mistakes, h, eps = {}, x, model.bns[0].eps
    wrong = {"no gamma": [], "no eps": [], "mean": [], "no sigmoid": [], "running": []}
    h_lin = x
    for k, bn in enumerate(model.bns, start=1):
        z = h @ model.params[f"W{k}"]                                   # (N, width)
        gamma, var = model.params[f"gamma{k}"], z.var(axis=0)
        wrong["no gamma"].append(np.median(1 / np.sqrt(var + eps)))
        wrong["no eps"].append(np.median(gamma / np.sqrt(var)))
        wrong["mean"].append(np.mean(gamma / np.sqrt(var + eps)))
        wrong["running"].append(np.median(gamma / np.sqrt(bn.running_var + eps)))
        z_lin = h_lin @ model.params[f"W{k}"]
        wrong["no sigmoid"].append(np.median(gamma / np.sqrt(z_lin.var(axis=0) + eps)))
        x_hat = (z - z.mean(axis=0)) / np.sqrt(var + eps)
        h = 1 / (1 + np.exp(-(gamma * x_hat + model.params[f"beta{k}"])))
        h_lin = gamma * (z_lin - z_lin.mean(axis=0)) / np.sqrt(z_lin.var(axis=0) + eps) \
            + model.params[f"beta{k}"]
    explain = {"no gamma": "Your gains look like 1 / sigma_B alone: multiply by each unit's gamma.",
               "no eps": "Put eps (model.bns[k].eps) inside the square root, as BN does.",
               "mean": "Take the median over the units (np.median), not the mean.",
               "running": "Use the batch's own variance (training mode), not the running "
                          "averages bn.running_var.",
               "no sigmoid": "The next layer's input is the sigmoid of BN's output, "
                             "sigmoid(gamma * x_hat + beta)."}
    for key, gains in wrong.items():
        mistakes[explain[key]] = gains
    return mistakes


def check_bn_gains(bn_gains):
    """Exercise 2: the learner's bn_gains(model, x) -> [gain of hidden layer 1, 2, 3], without
    calling bnlib (the model's arrays may be read)."""
    model, x = _gains_network()
    expected = reference_gains(model, x)
    got = run_learner(bn_gains, model, x.copy(), task="Exercise 2")
    if got is None:
        raise AssertionError("bn_gains returned None. Did you forget to `return` the list?")
    got = np.asarray(got, dtype=float).ravel()
    if got.shape != (len(expected),):
        raise AssertionError(f"bn_gains should return one gain per hidden layer ({len(expected)} "
                             f"numbers), got {got.shape[0]}.")
    if not np.allclose(got, expected, rtol=1e-6):
        hint = next((text for text, gains in _gain_mistakes(model, x).items()
                     if np.allclose(got, gains, rtol=1e-6)),
                    "Follow the forward pass: z = h @ W_k (no bias), sigma_B^2 = the variance "
                    "of each column of z over the batch, gain = gamma_k / sqrt(sigma_B^2 + eps), "
                    "then h = sigmoid(gamma_k * x_hat + beta_k) for the next layer.")
        check_close("BN's gains", got, np.array(expected), rtol=1e-6, hint=hint)
    print(f"✓ BN's gains are correct: {', '.join(f'{g:.2f}' for g in expected)} "
          "(layers 1, 2, 3)")


def check_frozen_affine_step(frozen_affine_step):
    """Exercise 3: the learner's frozen_affine_step(model, lr) updates every parameter but
    gamma and beta by -lr * gradient, in place, without calling bnlib."""
    x_train, y_train = load_mnist()[:2]
    model = MLP(SIZES, use_bn=True, init_std=INIT_STD, rng=np.random.default_rng(3),
                dtype=np.float64)
    model.loss(x_train[:60], y_train[:60])
    before = {name: p.copy() for name, p in model.params.items()}
    grads = {name: g.copy() for name, g in model.grads.items()}
    flat = model.flat_params
    run_learner(frozen_affine_step, model, 0.5, task="Exercise 3")
    if model.flat_params is not flat:
        raise AssertionError("model.flat_params was replaced by a new array: update the "
                             "parameters in place (-=), so that the network still uses them.")
    for name in model.params:
        if not np.shares_memory(model.params[name], model.flat_params):
            raise AssertionError(f"model.params[{name!r}] was replaced by a new array: update it "
                                 "in place (-=), so that the network still uses it.")
        frozen = name.startswith(("gamma", "beta"))
        expected = before[name] if frozen else before[name] - 0.5 * grads[name]
        if not np.allclose(model.params[name], expected, rtol=1e-12, atol=1e-15):
            if frozen:
                raise AssertionError(f"{name} changed: gamma and beta must stay where they are.")
            moved = not np.allclose(model.params[name], before[name])
            raise AssertionError(f"{name} is wrong: " + (
                "it moved, but not by -lr * gradient (check the sign and the factor)." if moved
                else "it did not move: every parameter other than gamma and beta takes a step."))
    print("✓ the step moves every weight and bias by -lr * gradient and leaves gamma and beta "
          "alone")
