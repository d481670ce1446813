"""Tests for bnlib/layers.py: each backward against central differences, plus edge cases."""
import numpy as np
import pytest

from bnlib import (affine_backward, affine_forward, dropout_backward, dropout_forward,
                   numerical_gradient, rel_error, relu_backward, relu_forward, sigmoid,
                   sigmoid_backward, sigmoid_forward, softmax_cross_entropy)
from helpers import GRAD_TOL



def test_affine_gradients(rng):
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((5, 3))
    _, cache = affine_forward(x, W, b)
    dx, dW, db = affine_backward(dout, cache)
    f = lambda: affine_forward(x, W, b)[0]
    for got, var in ((dx, x), (dW, W), (db, b)):
        assert rel_error(got, numerical_gradient(f, var, dout)) < GRAD_TOL
    assert affine_backward(dout, cache, need_dx=False)[0] is None
    skipped = affine_backward(dout, cache, need_db=False)
    assert skipped[2] is None
    np.testing.assert_array_equal(skipped[1], dW)       # the other gradients are unchanged


def test_affine_without_bias_and_shape_errors(rng):
    x, W = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(affine_forward(x, W)[0], x @ W)
    with pytest.raises(ValueError, match="rows"):
        affine_forward(x, rng.standard_normal((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="b must have shape"):
        affine_forward(x, W, np.zeros(4))


@pytest.mark.parametrize("forward, backward", [(sigmoid_forward, sigmoid_backward),
                                               (relu_forward, relu_backward)])
def test_activation_gradients(rng, forward, backward):
    # keep z away from relu's kink at 0, where the derivative does not exist
    z = rng.standard_normal((6, 5))
    z[np.abs(z) < 1e-3] = 0.5
    dout = rng.standard_normal(z.shape)
    _, cache = forward(z)
    assert rel_error(backward(dout, cache), numerical_gradient(lambda: forward(z)[0], z, dout)) < GRAD_TOL


def test_sigmoid_is_stable_for_large_inputs():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is fine
        s = sigmoid(z)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(40.0)), 0.5, 1 / (1 + np.exp(-40.0)), 1.0])
    assert sigmoid(z.astype(np.float32)).dtype == np.float32


def test_softmax_cross_entropy_value_and_gradient(rng):
    logits, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, dlogits = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-12)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, y)[0], logits)
    assert rel_error(dlogits, numeric) < GRAD_TOL


def test_softmax_cross_entropy_is_stable_and_checks_labels():
    loss, _ = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 1]))
    assert loss == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="integer labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="integer labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_out_buffers_give_the_same_results(rng):
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((5, 3))
    buffer = np.empty((5, 3))
    out, cache = affine_forward(x, W, b, out=buffer)
    assert out is buffer
    np.testing.assert_array_equal(out, affine_forward(x, W, b)[0])
    grads_out = (np.empty((5, 4)), np.empty((4, 3)), np.empty(3))
    for got, expected, buf in zip(affine_backward(dout, cache, out=grads_out),
                                  affine_backward(dout, cache), grads_out):
        assert got is buf
        np.testing.assert_array_equal(got, expected)
    z = rng.standard_normal((5, 3))
    s, _ = sigmoid_forward(z, out=np.empty((5, 3)))
    np.testing.assert_array_equal(s, sigmoid(z))
    np.testing.assert_array_equal(sigmoid_backward(dout, s, out=np.empty((5, 3))),
                                  sigmoid_backward(dout, s))
    np.testing.assert_array_equal(relu_backward(dout, z, out=np.empty((5, 3))), relu_backward(dout, z))


def test_sigmoid_float32_saturates_without_warnings():
    z = np.array([-200.0, -89.0, 0.0, 89.0, 200.0], np.float32)    # exp(89) overflows float32
    with np.errstate(all="raise"):
        s = sigmoid(z)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, np.array([0.0, 0.0, 0.5, 1.0, 1.0], np.float32))


def test_softmax_cross_entropy_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 2]))


@pytest.mark.parametrize("z", [0.3, np.float32(0.3), np.array(0.3), [0.3]])
def test_sigmoid_accepts_scalars_and_lists(z):
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-0.3)), rtol=1e-6)


def test_dropout_gradient_and_mask(rng):
    h, dout = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))   # small: see helpers
    out, mask = dropout_forward(h, 0.3, np.random.default_rng(5))
    assert set(np.unique(mask)) <= {0.0, 1 / 0.7}
    np.testing.assert_array_equal(out, h * mask)
    # the mask held fixed, out is linear in h: central differences are exact up to rounding
    forward = lambda: dropout_forward(h, 0.3, np.random.default_rng(5))[0]   # same mask
    numeric = numerical_gradient(forward, h, dout)
    assert rel_error(dropout_backward(dout, mask), numeric) < GRAD_TOL


def test_dropout_keeps_the_expected_value_and_checks_p(rng):
    h = np.ones((400, 500))
    out, mask = dropout_forward(h, 0.5, rng)
    dropped = np.mean(mask == 0)              # 200,000 draws: std of the share 0.0011
    assert abs(dropped - 0.5) < 0.006 and abs(out.mean() - 1.0) < 0.012
    np.testing.assert_array_equal(dropout_forward(h, 0.0, rng)[0], h)   # p = 0: nothing dropped
    assert dropout_forward(h.astype(np.float32), 0.5, rng)[1].dtype == np.float32
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="drop probability"):
            dropout_forward(h, bad, rng)
