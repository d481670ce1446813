"""Checks of notebook 03's exercises (the backward pass).

- check_staged_backward: the learner's node-by-node backward, one node at a time in backward
  order (the first wrong node is named, with the local derivative to look at: every node
  above it is right, so the mistake is in that node's own step), then the whole against
  central differences;
- check_xhat_jacobian: the Jacobian of one normalised column, d x_hat_i / d x_k;
- check_closed_form: the closed-form backward;
- check_batch_of_two: a prediction of what is left of the gradient for a batch of two.
The references come from bnlib and from a node-by-node computation written here.
"""
import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from ..gradcheck import numerical_gradient, rel_error
from . import check_prediction, run_learner
from .mistakes import as_array, check_explained, refuse_earlier_exercises

# Exact to rounding: the same formula in another order agrees to about 1e-15 relative, while a
# numerical estimate (finite differences) is off by 1e-11 or more and is explained as such.
RTOL = 1e-12
GRAD_TOL = 1e-7               # the course's bar for gradient checks (appendix A1)

# The nodes of the staged backward, in the order the backward pass meets them.
STAGED_NODES = ("dbeta", "dgamma", "dx_hat", "dinv_std", "dstd", "dvar", "dsq", "dxc", "dmean",
                "dx")

# For each node: which local derivative produces it (named when it is the first wrong one).
STAGED_HINTS = {
    "dbeta": "out = gamma * x_hat + beta: beta was broadcast over the rows, so sum dout over them.",
    "dgamma": "out = gamma * x_hat + beta: the local derivative for gamma is x_hat; sum over rows.",
    "dx_hat": "out = gamma * x_hat + beta: the local derivative for x_hat is gamma.",
    "dinv_std": "x_hat = xc * inv_std: the local derivative for inv_std is the other factor, "
                "and inv_std (D,) was broadcast over the rows, so sum over them.",
    "dstd": "inv_std = 1 / std: the derivative of 1/s is -1/s**2.",
    "dvar": "std = sqrt(var + eps): the derivative is 1 / (2 sqrt(var + eps)) = 0.5 / std.",
    "dsq": "var = sum(sq) / N: every entry of sq has local derivative 1/N, so each row gets "
           "dvar / N.",
    "dxc": "xc feeds two nodes, x_hat (local derivative inv_std) and sq (local derivative "
           "2 * xc): add both paths.",
    "dmean": "xc = x - mean: the local derivative for mean is -1, and mean (D,) was broadcast "
             "over the rows, so sum over them.",
    "dx": "x feeds two nodes, xc (local derivative 1) and mean = sum(x) / N (local derivative "
          "1/N for every row): add both paths.",
}


def forward_nodes(x, gamma, beta, eps):
    """The forward graph of notebook 03, node by node; returns (out, cache of every node)."""
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    xc = x - mean
    sq = xc ** 2
    var = sq.sum(axis=0) / n
    std = np.sqrt(var + eps)
    inv_std = 1 / std
    x_hat = xc * inv_std
    out = gamma * x_hat + beta
    cache = dict(x=x, mean=mean, xc=xc, sq=sq, var=var, std=std, inv_std=inv_std,
                 x_hat=x_hat, gamma=gamma, eps=eps)
    return out, cache


def reference_staged(dout, cache):
    """Every node's gradient, plus the two paths into xc: (grads, dxc via x_hat, dxc via sq)."""
    c, n = cache, dout.shape[0]
    g = {"dbeta": dout.sum(axis=0), "dgamma": (dout * c["x_hat"]).sum(axis=0),
         "dx_hat": dout * c["gamma"]}
    g["dinv_std"] = (g["dx_hat"] * c["xc"]).sum(axis=0)
    g["dstd"] = -g["dinv_std"] / c["std"] ** 2
    g["dvar"] = 0.5 * g["dstd"] / c["std"]
    g["dsq"] = np.ones_like(c["xc"]) * g["dvar"] / n
    via_x_hat, via_sq = g["dx_hat"] * c["inv_std"], 2 * c["xc"] * g["dsq"]
    g["dxc"] = via_x_hat + via_sq
    g["dmean"] = -g["dxc"].sum(axis=0)
    g["dx"] = g["dxc"] + g["dmean"] / n
    return g, via_x_hat, via_sq


def _staged_mistakes(node, g, via_x_hat, via_sq, c, n):
    """(wrong value, explanation) of the typical mistakes at `node`, all else being right."""
    broadcast = " has shape (D,) and was broadcast over the N rows: sum its gradient over them."
    return {
        "dinv_std": [(g["dx_hat"] * c["xc"], "inv_std" + broadcast),
                     ((g["dx_hat"] * c["x_hat"]).sum(axis=0),
                      "the local derivative for inv_std is xc, the other factor, not x_hat."),
                     (g["dx_hat"].sum(axis=0), "multiply by the local derivative, xc.")],
        "dstd": [(-g["dstd"], "check the sign: the derivative of 1/s is -1/s**2."),
                 (-g["dinv_std"] / c["std"], "the derivative of 1/s is -1/s**2: square s.")],
        "dvar": [(g["dstd"] / c["std"], "the factor 1/2 of the square root's derivative is "
                                        "missing."),
                 (0.5 * g["dstd"] * c["std"], "the square root's derivative is 0.5 / std: "
                                              "divide by std.")],
        "dsq": [(np.ones_like(c["xc"]) * g["dvar"], "var = sum(sq) / N: each entry of sq has "
                                                    "local derivative 1/N."),
                (g["dvar"] / n * c["xc"], "the sum over rows hands the same dvar / N to every "
                                          "row; it is not multiplied by anything of the row.")],
        "dxc": [(via_x_hat, "you have the path through x_hat but not the one through sq. xc "
                            "feeds both: add the second path (+=)."),
                (via_sq, "you have the path through sq but not the one through x_hat: did "
                         "you write = where += belongs?"),
                (via_x_hat + via_sq / 2, "the local derivative of sq = xc**2 is 2 * xc."),
                (via_x_hat - via_sq, "add the path through sq; do not subtract it.")],
        "dmean": [(-g["dmean"], "check the sign: in xc = x - mean, the local derivative for "
                                "mean is -1."),
                  (-g["dxc"], "mean" + broadcast),
                  (g["dmean"] / n, "the 1/N belongs to the next node, mean = sum(x) / N; "
                                   "dmean is the plain sum.")],
        "dx": [(g["dxc"], "you forgot the path through mean: x feeds xc directly and also "
                          "mean."),
               (g["dxc"] + g["dmean"], "mean = sum(x) / N: its local derivative for every "
                                       "row of x is 1/N."),
               (g["dxc"] - g["dmean"] / n, "add the path through mean as it is: the minus "
                                           "sign is already inside dmean."),
               (np.ones_like(c["xc"]) * g["dmean"] / n, "you forgot the direct path from x "
                                                        "to xc (local derivative 1).")],
    }.get(node, [])


def _exact(expected):
    """The tolerances for an exact answer of the size of `expected`."""
    return dict(rtol=RTOL, atol=1e-12 * max(float(np.max(np.abs(expected))), 1.0), exact=True)


def _gradient_check(grads, x, gamma, beta, eps, dout):
    """The learner's dx, dgamma, dbeta against central differences of bnlib's forward."""
    x, gamma, beta = x.copy(), gamma.copy(), beta.copy()

    def out():
        return batchnorm_forward(x, gamma, beta, eps)[0]

    errors = {name: rel_error(grads[name], numerical_gradient(out, wrt, dout))
              for name, wrt in (("dx", x), ("dgamma", gamma), ("dbeta", beta))}
    worst = max(errors, key=errors.get)
    if errors[worst] > GRAD_TOL:
        raise AssertionError(f"{worst} disagrees with central differences: relative error "
                             f"{errors[worst]:.1e} (the bar is {GRAD_TOL:.0e}).")
    print(f"✓ dx, dgamma and dbeta agree with central differences (largest relative error "
          f"{errors[worst]:.0e}, the bar is {GRAD_TOL:.0e})")


def check_staged_backward(staged_backward):
    """Exercise 1: staged_backward(dout, cache) returns every node's gradient, as a dict."""
    rng = np.random.default_rng(31)
    n, d, eps = 5, 3, 1e-5
    x = rng.normal(loc=[2.0, -1.0, 0.5], scale=[3.0, 0.5, 1.0], size=(n, d))   # (N, D)
    gamma, beta = np.array([1.5, -0.7, 0.9]), np.array([0.3, 0.0, -0.2])
    dout = rng.normal(size=(n, d))
    _, cache = forward_nodes(x, gamma, beta, eps)
    got = run_learner(staged_backward, dout.copy(), {k: np.copy(v) for k, v in cache.items()},
                      task="Exercise 1")
    if not isinstance(got, dict):
        raise AssertionError("staged_backward: return the dict of gradients, as the last line "
                             f"of the function does (got a {type(got).__name__}).")
    g, via_x_hat, via_sq = reference_staged(dout, cache)
    for node in STAGED_NODES:
        if node not in got:
            raise AssertionError(f"staged_backward: the returned dict has no {node!r}.")
        value = as_array(node, got[node])
        if node == "dsq" and value.shape in ((d,), (1, d)):
            value = np.broadcast_to(value, (n, d))    # the copy over the rows, by broadcasting
        above = ", ".join(STAGED_NODES[:STAGED_NODES.index(node)])
        where = f" Every node before it ({above}) is right, so look at this step: " if above \
            else " "
        check_explained(node, value, g[node],
                        _staged_mistakes(node, g, via_x_hat, via_sq, cache, n),
                        hint=where + STAGED_HINTS[node], **_exact(g[node]))
    _gradient_check(got, x, gamma, beta, eps, dout)


def check_xhat_jacobian(xhat_jacobian):
    """Exercise 2: xhat_jacobian(x, eps) is the (N, N) matrix d x_hat_i / d x_k of one column."""
    columns = ((np.array([2.5, 0.4, 3.1, 1.0, 2.2]), 1e-5), (np.array([0.3, -0.2, 0.1]), 0.1))
    for x, eps in columns:
        n = x.shape[0]
        sigma = np.sqrt(x.var() + eps)
        x_hat = (x - x.mean()) / sigma
        delta, outer = np.eye(n), np.outer(x_hat, x_hat)
        got = run_learner(xhat_jacobian, x.copy(), eps, task="Exercise 2")
        refuse_earlier_exercises(xhat_jacobian, (x.copy(), eps), {"staged_backward"},
                                 "Exercise 2", "Work the entries out with the quotient rule.")
        unbiased = np.sqrt(x.var(ddof=1) + eps)
        x_hat_unbiased = (x - x.mean()) / unbiased
        expected = (delta - 1 / n - outer / n) / sigma
        check_explained(f"xhat_jacobian (N={n}, eps={eps:g})", got, expected, [
            ((delta - outer / n) / sigma, "the path through the mean is missing: x_k moves the "
                                          "mean, and the mean moves every x_hat_i (the "
                                          "-1/N term)."),
            ((delta - 1 / n) / sigma, "the path through sigma is missing: x_k also moves the "
                                      "spread, and sigma divides every x_hat_i."),
            (delta - 1 / n - outer / n, "every term is divided by sigma = sqrt(var + eps)."),
            ((delta - 1 / n - outer) / sigma, "d sigma / d x_k = x_hat_k / N: the last term "
                                              "misses its 1/N."),
            ((delta - 1 / n + outer / n) / sigma, "check the sign of the path through sigma: "
                                                  "a larger sigma makes x_hat_i smaller."),
            ((delta - 1 / n - np.outer(x_hat_unbiased, x_hat_unbiased) / n) / unbiased,
             "use the biased variance (divide by N), as the forward pass does."),
        ], **_exact(expected), hint="Quotient rule on x_hat_i = (x_i - mean) / sigma, with "
                            "d(x_i - mean)/dx_k = delta_ik - 1/N and d sigma/dx_k = x_hat_k / N.")


def check_closed_form(closed_form_backward):
    """Exercise 3: closed_form_backward(dout, x_hat, gamma, inv_std) -> (dx, dgamma, dbeta)."""
    rng = np.random.default_rng(33)
    n, d = 6, 4
    x = rng.normal(loc=2.0, scale=[3.0, 1.0, 0.2, 5.0], size=(n, d))       # (N, D)
    gamma = np.array([1.5, -0.8, 0.3, 2.0])
    _, cache = batchnorm_forward(x, gamma, np.zeros(d))
    dout = rng.normal(size=(n, d))
    x_hat, inv_std = cache.x_hat, cache.inv_std
    got = run_learner(closed_form_backward, dout.copy(), x_hat.copy(), gamma.copy(),
                      inv_std.copy(), task="Exercise 3")
    refuse_earlier_exercises(closed_form_backward,
                             (dout.copy(), x_hat.copy(), gamma.copy(), inv_std.copy()),
                             {"staged_backward", "xhat_jacobian"}, "Exercise 3",
                             "This exercise asks for the closed form itself: two sums over the "
                             "batch and one expression, without the node-by-node steps.")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AssertionError("closed_form_backward: return three arrays, (dx, dgamma, dbeta).")
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    check_explained("dbeta", got[2], dbeta, [
        (dout.sum(axis=1), "sum over the batch, axis=0: one value per feature."),
        (dout.mean(axis=0), "dbeta is the sum over the batch, not the mean.")],
        hint="beta was broadcast over the rows: sum dout over them.", **_exact(dbeta))
    check_explained("dgamma", got[1], dgamma, [
        (dout * x_hat, "gamma (D,) was broadcast over the rows: sum over them, axis=0."),
        ((dout * x_hat).sum(axis=1), "sum over the batch, axis=0: one value per feature.")],
        hint="The local derivative for gamma is x_hat; sum over the rows.", **_exact(dgamma))
    scale = gamma * inv_std
    direct, through_mean, through_sigma = n * dout, dbeta, x_hat * dgamma
    check_explained("dx", got[0], dx, [
        (scale / n * (dout - through_mean - through_sigma),
         "the term from the direct path (dy_k) is N times too small next to the two sums: "
         "the 1/N belongs to the sums only."),
        (scale / n * (direct - through_sigma), "the term with dbeta (the path through the "
                                              "mean) is missing."),
        (scale / n * (direct - through_mean), "the term with x_hat * dgamma (the path "
                                             "through sigma) is missing."),
        (scale / n * (direct + through_mean - through_sigma), "check the sign of the dbeta "
                                                              "term."),
        (scale / n * (direct - through_mean + through_sigma), "check the sign of the "
                                                              "x_hat * dgamma term."),
        (gamma / inv_std / n * (direct - through_mean - through_sigma),
         "divide by sigma, that is multiply by inv_std = 1/sigma."),
        (inv_std / n * (direct - through_mean - through_sigma),
         "gamma is missing: the upstream gradient of x_hat is gamma * dout."),
        (scale * (direct - through_mean - through_sigma), "every term is N times too "
                                                          "large: a factor 1/N is missing."),
        (scale * dout, "that is only the direct path: what dx would be if the mean and the "
                       "variance were constants, as at inference."),
    ], hint="Sum gamma * dout_i * (d x_hat_i / d x_k) over i: the three terms of the "
            "Jacobian give three terms, two of them with a sum over the batch.", **_exact(dx))


def batch_of_two_ratio():
    """What Exercise 4 measures: |dx| / |gamma * inv_std * dout| for a batch of two."""
    rng = np.random.default_rng(34)
    x = rng.normal(loc=1.0, scale=2.0, size=(2, 5))               # (2, 5) a batch of two
    gamma, dout = rng.normal(1.0, 0.3, size=5), rng.normal(size=(2, 5))
    _, cache = batchnorm_forward(x, gamma, np.zeros(5))
    dx, _, _ = batchnorm_backward(dout, cache)
    return float(np.linalg.norm(dx) / np.linalg.norm(gamma * cache.inv_std * dout))


def check_batch_of_two(predicted):
    """Exercise 4: the learner's prediction of that ratio, against the measurement."""
    check_prediction("the share of the gradient left for a batch of two", predicted,
                     batch_of_two_ratio(), within=0.1, low=0.0, high=1.0)
