"""Checks of notebook 02's exercises (the forward pass: Algorithms 1 and 2, running averages).

Each check builds its own batch, computes the reference with bnlib, calls the learner's
function through run_learner (refusing bnlib's batch norm), and names the typical mistakes:
the unbiased variance, eps outside the square root or missing, the wrong axis, gamma and beta
forgotten or swapped, the Keras momentum convention.
"""
import numpy as np

from ..batchnorm import batchnorm_eval_forward, batchnorm_forward
from . import check_prediction, run_learner
from .mistakes import check_explained

RTOL, ATOL = 1e-9, 1e-12      # the same formula in another order differs by rounding only


def _affine(x_hat, gamma, beta):
    return gamma * x_hat + beta


def _forward_mistakes(x, gamma, beta, eps):
    """(wrong output, explanation) of the typical mistakes in Algorithm 1, on these inputs."""
    var, centred = x.var(axis=0), x - x.mean(axis=0)
    rows_mu, rows_var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    x_hat = centred / np.sqrt(var + eps)
    return [
        (_affine(centred / np.sqrt(x.var(axis=0, ddof=1) + eps), gamma, beta),
         "you used the unbiased variance (dividing by N - 1). Algorithm 1 divides by N, the "
         "number of examples in the batch: np.var's default, ddof=0."),
        (_affine(centred / (np.sqrt(var) + eps), gamma, beta),
         "eps belongs inside the square root: divide by sqrt(var + eps)."),
        (_affine(centred / np.sqrt(var), gamma, beta),
         "eps is missing: divide by sqrt(var + eps), so that a constant feature gives 0, "
         "not 0 / 0."),
        (_affine(centred / (var + eps), gamma, beta),
         "divide by the standard deviation sqrt(var + eps), not by the variance."),
        (_affine((x - x.mean()) / np.sqrt(x.var() + eps), gamma, beta),
         "you normalised the whole batch with one mean and one variance. Algorithm 1 "
         "normalises each feature (column) on its own: reduce over the rows, axis=0."),
        (_affine((x - rows_mu) / np.sqrt(rows_var + eps), gamma, beta),
         "you normalised each example (row) over its features, axis=1: that is layer "
         "normalization, another method. Batch norm reduces over the batch, axis=0."),
        (x_hat, "you returned x_hat: step 4 still has to scale by gamma and shift by beta."),
        (_affine(x_hat, beta, gamma), "gamma scales and beta shifts: y = gamma * x_hat + beta."),
    ]


def _explain_broadcasting(error, task):
    """An AssertionError for a learner's broadcasting error, pointing at the likely axis."""
    return AssertionError(f"{task}: numpy could not combine the shapes ({error}). A statistic "
                          "taken over axis=1 has one value per example (row), which does not "
                          "line up with the columns; Algorithm 1 reduces over the rows, "
                          "axis=0, one value per feature.")


def check_bn_forward(bn_forward):
    """Exercise 1: bn_forward(x, gamma, beta, eps) is Algorithm 1's output, y (N, D)."""
    rng = np.random.default_rng(20)
    x = rng.normal(loc=[10.0, 0.0, -3.0, 0.5], scale=[2.0, 0.1, 5.0, 0.003], size=(8, 4))
    gamma, beta = np.array([2.0, 0.5, -1.0, 1.5]), np.array([0.1, -1.0, 3.0, 0.0])
    for eps in (1e-5, 1e-3):                  # the last column's variance is close to eps
        try:
            got = run_learner(bn_forward, x.copy(), gamma.copy(), beta.copy(), eps,
                              task="Exercise 1")
        except ValueError as error:
            if "broadcast" in str(error):
                raise _explain_broadcasting(error, "Exercise 1") from error
            raise
        expected = batchnorm_forward(x, gamma, beta, eps)[0]
        mistakes = _forward_mistakes(x, gamma, beta, eps)
        if eps != 1e-5:
            mistakes.append((batchnorm_forward(x, gamma, beta, 1e-5)[0],
                             "your result does not change with eps: use the eps argument."))
        check_explained(f"bn_forward (eps={eps:g})", got, expected, mistakes, RTOL, ATOL,
                        hint="Per column: the mean, the biased variance, normalise with eps "
                             "inside the square root, then gamma * x_hat + beta.")


def outlier_x_hat():
    """What Exercise 2 measures: x_hat of one value at 40 in a batch of 10 (nine near 0)."""
    others = np.random.default_rng(22).normal(0.0, 1.0, size=9)       # (9,)
    batch = np.append(others, 40.0)[:, None]                           # (10, 1)
    out, _ = batchnorm_forward(batch, np.ones(1), np.zeros(1))
    return float(out[-1, 0])


def check_outlier_prediction(predicted):
    """Exercise 2: the learner's prediction of the outlier's x_hat, against the measurement."""
    check_prediction("the outlier's x_hat", predicted, outlier_x_hat(), within=0.3, low=0.0)


def check_bn_eval(bn_eval):
    """Exercise 3: bn_eval(x, gamma, beta, pop_mean, pop_var, eps) is Algorithm 2's output."""
    rng = np.random.default_rng(23)
    x = rng.normal(loc=[1.0, -2.0, 0.5], scale=[1.5, 0.7, 0.01], size=(7, 3))        # (7, 3)
    gamma, beta = np.array([1.5, -0.5, 2.0]), np.array([0.2, 0.0, -1.0])
    pop_mean, pop_var = np.array([0.8, -2.1, 0.45]), np.array([2.0, 0.5, 4e-5])
    for eps, batch in ((1e-5, x), (1e-5, x[:1]), (1e-3, x)):
        args = (batch.copy(), gamma.copy(), beta.copy(), pop_mean.copy(), pop_var.copy(), eps)
        got = run_learner(bn_eval, *args, task="Exercise 3")
        expected = batchnorm_eval_forward(batch, gamma, beta, pop_mean, pop_var, eps)
        centred = batch - pop_mean
        mistakes = [
            (_affine(centred / (np.sqrt(pop_var) + eps), gamma, beta),
             "eps belongs inside the square root: sqrt(pop_var + eps)."),
            (_affine(centred / np.sqrt(pop_var), gamma, beta),
             "eps is missing: divide by sqrt(pop_var + eps), as in training."),
            (_affine(centred / (pop_var + eps), gamma, beta),
             "divide by the standard deviation sqrt(pop_var + eps), not by the variance."),
            (centred / np.sqrt(pop_var + eps),
             "you forgot gamma and beta: y = gamma * x_hat + beta at inference too."),
        ]
        if len(batch) > 1:
            mistakes.append((batchnorm_forward(batch, gamma, beta, eps)[0],
                             "you normalised with the batch's own mean and variance, as in "
                             "training. At inference use pop_mean and pop_var, so that each "
                             "example's output depends on that example alone."))
        if eps != 1e-5:
            mistakes.append((batchnorm_eval_forward(batch, gamma, beta, pop_mean, pop_var),
                             "your result does not change with eps: use the eps argument."))
        name = f"bn_eval on a batch of {len(batch)} (eps={eps:g})"
        check_explained(name, got, expected, mistakes, RTOL, ATOL,
                        hint="Use the pop_mean and pop_var passed in, not the batch's own; "
                             "eps inside the square root; then gamma and beta.")


def check_update_running(update_running):
    """Exercise 4: update_running(running_mean, running_var, batch, momentum) is one
    PyTorch-style update of the running statistics; returns (new_mean, new_var)."""
    rng = np.random.default_rng(24)
    running_mean, running_var = np.array([0.5, -1.0, 2.0]), np.array([1.2, 0.8, 3.0])
    batch = rng.normal(loc=[1.0, 0.0, -2.0], scale=[1.0, 2.0, 0.5], size=(5, 3))   # m = 5
    momentum, m = 0.2, batch.shape[0]
    got = run_learner(update_running, running_mean.copy(), running_var.copy(), batch.copy(),
                      momentum, task="Exercise 4")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise AssertionError("update_running: return two arrays, (new_mean, new_var).")
    mu, biased = batch.mean(axis=0), batch.var(axis=0)
    unbiased = biased * m / (m - 1)

    def blend(old, new, weight_of_new):
        return (1 - weight_of_new) * old + weight_of_new * new

    keras = ("momentum weights the new batch value here (PyTorch's convention): running = "
             "(1 - momentum) * running + momentum * batch value. Yours weights the old value, "
             "as Keras does.")
    fixed = "use the momentum argument; your update seems to use 0.1 whatever it is."
    check_explained("new running mean", got[0], blend(running_mean, mu, momentum), [
        (blend(running_mean, mu, 1 - momentum), keras),
        (blend(running_mean, mu, 0.1), fixed),
    ], RTOL, ATOL, hint="Blend the old running mean with this batch's mean.")
    check_explained("new running var", got[1], blend(running_var, unbiased, momentum), [
        (blend(running_var, biased, momentum),
         "store the unbiased batch variance, var * m / (m - 1) (Algorithm 2's correction), "
         "as PyTorch does; only the normalisation itself uses the biased one."),
        (blend(running_var, unbiased, 1 - momentum), keras),
        (blend(running_var, biased, 1 - momentum), keras + " Also, store the unbiased "
                                                           "variance, var * m / (m - 1)."),
        (blend(running_var, np.sqrt(unbiased), momentum),
         "the running average is of the variance, not of the standard deviation."),
        (blend(running_var, unbiased, 0.1), fixed),
    ], RTOL, ATOL, hint="Blend the old running variance with this batch's unbiased variance.")
