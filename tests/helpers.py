"""What several test files share: the gradient tolerance, the checks against central
differences, and random (N, C, H, W) problems.

Central differences in float64 with h = 1e-5 (bnlib.numerical_gradient) are accurate to about
1e-10 absolute on the tests' small problems, whose gradients are O(1): a relative error of
1e-7 (the course's bar) leaves a wide margin, while a wrong term gives O(1).
"""
from bnlib import numerical_gradient, rel_error

GRAD_TOL = 1e-7


def assert_layer_gradients(forward, backward, dout, inputs):
    """Assert that a layer's backward agrees with central differences of its forward.

    forward(): (out, cache), computed from the arrays `inputs` (x, gamma, beta, ... changed in
    place by the differences); backward(dout, cache): the gradients of `inputs`, in order.
    """
    _, cache = forward()
    analytic = backward(dout, cache)
    assert len(analytic) == len(inputs)
    for got, wrt in zip(analytic, inputs):
        assert rel_error(got, numerical_gradient(lambda: forward()[0], wrt, dout)) < GRAD_TOL


def assert_model_gradients(model, x, y, names=None):
    """Assert that `model.loss(x, y)`'s gradients (all, or those `names`) agree with central
    differences; return them {name: array}."""
    model.loss(x, y)
    analytic = {name: g.copy() for name, g in model.grads.items()}   # loss() overwrites grads
    for name in model.params if names is None else names:
        numeric = numerical_gradient(lambda: model.loss(x, y), model.params[name])
        assert rel_error(analytic[name], numeric) < GRAD_TOL, name
    return analytic


def random_nchw_problem(rng, shape):
    """x (N, C, H, W) with mean 2 and std 3, gamma (C,) near 1, beta (C,), dout like x."""
    x = 3 * rng.standard_normal(shape) + 2
    c = shape[1]
    gamma, beta = rng.standard_normal(c) + 1, rng.standard_normal(c)
    return x, gamma, beta, rng.standard_normal(shape)
