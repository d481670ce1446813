"""Checks of notebook 01's exercises (the chain rule).

Each check calls the learner's function on inputs of its own, through run_learner (which
refuses answers taken from bnlib), and compares with the exact derivative written here.
"""
import numpy as np

from ..layers import sigmoid
from . import run_learner
from .mistakes import check_explained

# Exact to rounding: the chain rule's answer computed in any order agrees to about 1e-16, while a
# finite-difference estimate is off by 1e-11 or more (then explained as such).
EXACT = dict(rtol=1e-12, atol=1e-13, exact=True)


def check_silu_grad(silu_grad):
    """Exercise 1: silu_grad(x) is the derivative of x * sigmoid(x), elementwise."""
    x = np.linspace(-4.0, 4.0, 9) + 0.25                      # (9,) avoids x = 0 exactly
    s = sigmoid(x)
    through_factor, through_sigmoid = s, x * s * (1 - s)      # the two paths from x to y
    got = run_learner(silu_grad, x.copy(), allowed=[sigmoid], task="Exercise 1")
    check_explained("silu_grad", got, through_factor + through_sigmoid, mistakes=[
        (through_factor, "you have the path through the factor x (local derivative 1, times "
                         "sigma(x)) but not the path through sigma(x). Add it."),
        (through_sigmoid, "you have the path through sigma(x) but not the path through the "
                          "factor x, whose local derivative is 1. Add it."),
        (s * (1 - s), "that is the derivative of sigma(x) alone: y = x * sigma(x) has two "
                      "factors, and x reaches y through both."),
        (s + x * s, "the local derivative of the sigmoid is sigma(x) * (1 - sigma(x)), "
                    "not sigma(x)."),
    ], **EXACT, hint="x reaches y along two paths, as the factor x and inside sigma(x): multiply the "
            "local derivatives along each path, then add the two paths.")


def check_centre_backward(centre_backward):
    """Exercise 2: centre_backward(dd) is dx for d = x - mean(x), given dd = dy/dd."""
    dd = np.array([0.5, -1.2, 2.0, 0.3, -0.4, 1.1])           # (6,) an upstream gradient
    m = dd.shape[0]
    got = run_learner(centre_backward, dd.copy(), task="Exercise 2")
    check_explained("centre_backward", got, dd - dd.mean(), mistakes=[
        (dd, "you passed the gradient along the direct path only (d_j = x_j - mu). Every x_j "
             "also reaches every d_i through the mean mu: add that path."),
        (dd - dd.sum(), "the path through the mean is there but too large: mu = (x_1 + ... + "
                        "x_m) / m, so its local derivative with respect to each x_j is 1/m."),
        (dd + dd.mean(), "check the sign of the path through the mean: d_i = x_i - mu, so the "
                         "local derivative of d_i with respect to mu is -1."),
        (dd * (1 - 1 / m), "you kept only the i = j term of the path through the mean. mu "
                           "feeds every d_i, so dmu collects dd from all of them (a sum)."),
    ], **EXACT, hint="First find dmu (mu feeds every d_i with local derivative -1), then hand each x_j "
            "its share of dmu, and add the direct path.")


def check_variance_backward(variance_backward):
    """Exercise 3: variance_backward(x, dv) is dx for v = mean((x - mean(x))**2)."""
    x = np.array([2.5, 0.4, 3.1, 1.0, 2.2])                   # (5,) mean 1.84, not centred
    dv = 0.7
    m, d = x.shape[0], x - x.mean()
    got = run_learner(variance_backward, x.copy(), dv, task="Exercise 3")
    check_explained("variance_backward", got, dv * 2 * d / m, mistakes=[
        (dv * 2 * d / (m - 1), "you divided by m - 1. Batch norm's variance is the biased one: "
                               "divide by m, the number of values (Alg. 1)."),
        (dv * d / m, "the local derivative of d_i**2 is 2 * d_i: a factor 2 is missing."),
        (2 * d / m, "multiply by the upstream gradient dv: dx is dv times the derivative."),
        (dv * 2 * x / m, "you used x_i where the centred value d_i = x_i - mean belongs: v is "
                         "the mean of d_i**2, so the local derivative is 2 * d_i / m."),
    ], **EXACT, hint="Go node by node: dd from v = mean(d**2), then the two paths from x to d "
            "(direct, and through the mean), as in Exercise 2.")
