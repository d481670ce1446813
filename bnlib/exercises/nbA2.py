"""Checks of appendix A2's exercise (a fast backward pass).

check_in_place: the learner's closed-form backward must give bnlib's values, leave its inputs
alone, and hold at most one (N, D) array at its peak (its result), measured with tracemalloc.
"""
import tracemalloc

import numpy as np

from ..batchnorm import batchnorm_backward, batchnorm_forward
from . import run_learner
from .mistakes import check_explained

PEAK_LIMIT = 1.25     # the result dx is one array; a second (N, D) temporary would make it 2


def check_in_place(closed_form_in_place):
    """Exercise 1: closed_form_in_place(dout, x_hat, gamma, inv_std) -> (dx, dgamma, dbeta)
    with a single (N, D) allocation."""
    rng = np.random.default_rng(51)
    n, d = 256, 256
    x = rng.normal(2.0, 3.0, size=(n, d))                              # (N, D)
    gamma = rng.normal(1.0, 0.3, size=d)
    _, cache = batchnorm_forward(x, gamma, np.zeros(d))
    dout = rng.normal(size=(n, d))
    args = (dout.copy(), cache.x_hat.copy(), gamma.copy(), cache.inv_std.copy())
    tracemalloc.start()
    try:
        got = run_learner(closed_form_in_place, *args, task="Exercise 1")
        peak = tracemalloc.get_traced_memory()[1] / dout.nbytes
    finally:
        tracemalloc.stop()
    for name, before, after in zip(("dout", "x_hat", "gamma", "inv_std"),
                                   (dout, cache.x_hat, gamma, cache.inv_std), args):
        if not np.array_equal(before, after):
            raise AssertionError(f"your function changed its input {name} in place: write "
                                 "into the one new array (the result dx), never into the "
                                 "inputs, which the caller still needs.")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AssertionError("closed_form_in_place: return three arrays, (dx, dgamma, dbeta).")
    for name, value, expected in zip(("dx", "dgamma", "dbeta"), got,
                                     batchnorm_backward(dout, cache)):
        check_explained(name, value, expected, rtol=1e-9, atol=1e-12,
                        hint="The values are those of the closed form of notebook 03.")
    if peak > PEAK_LIMIT:
        raise AssertionError(f"right values, but at its peak your function held {peak:.1f} "
                             "arrays of shape (N, D); the result dx alone is 1. Compute "
                             "dgamma without a product array (np.einsum), create dx once, "
                             "and change it with +=, -=, *=.")
    print(f"✓ one (N, D) array at the peak ({peak:.1f} of them, the result included)")
