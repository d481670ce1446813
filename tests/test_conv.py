"""Tests for bnlib/conv.py: the convolution layer (definition, gradients, errors) and ConvNet
(gradients of the whole network with and without BN, training, modes).

Gradient checks are central differences in float64 with the course's bar, relative error
<= 1e-7 (tests/helpers.py). For the convolution layer alone the step is 1e-2, not the default
1e-5: the layer is linear in x, in w and in b (each taken alone), so a central difference has
no truncation error whatever the step, and its only error is rounding, about
eps_64 * sum |out * dout| / h. With h = 1e-5 that is ~1e-9 absolute, which on the few entries
of dx that nearly cancel (|dx| ~ 1e-2) reaches 1e-7 relative; with h = 1e-2 it is ~1e-12.
The whole network is not linear (ReLU, BN, softmax), so it is checked with the default step,
and each parameter array as a whole, |analytic - numeric| / (|analytic| + |numeric|) with
Frobenius norms: the rounding error of its differences is about 1e-11 absolute, so a single
gradient entry below ~1e-4 (measured: 2 seeds in 30 have one) would exceed 1e-7 relative
entry by entry without any error in the backward. Array-wise, 40 seeds gave at most 4e-10.
"""
import numpy as np
import pytest

from bnlib import (ConvNet, SGD, col2im, conv2d_forward, conv_backward, conv_forward, im2col,
                   load_mnist, numerical_gradient, rel_error, train_step)
from helpers import GRAD_TOL

LINEAR_STEP = 1e-2


def array_rel_error(analytic, numeric):
    """|a - n| / (|a| + |n|), Frobenius norms: the relative error of a gradient array as a whole."""
    return np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))


def reference_conv(x, w, b, stride, pad):
    """The definition, one output position at a time (slow, obviously right)."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    f, _, k, _ = w.shape
    h_out = (padded.shape[2] - k) // stride + 1
    w_out = (padded.shape[3] - k) // stride + 1
    out = np.empty((x.shape[0], f, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            patch = padded[:, :, stride * i:stride * i + k, stride * j:stride * j + k]
            out[:, :, i, j] = np.einsum("ncuv,fcuv->nf", patch, w) + b
    return out


SETTINGS = [(1, 0), (1, 1), (2, 1), (2, 0), (3, 1)]      # (stride, pad)


@pytest.mark.parametrize("stride, pad", SETTINGS)
def test_conv_forward_is_the_definition(rng, stride, pad):
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out, _ = conv_forward(x, w, b, stride, pad)
    np.testing.assert_allclose(out, reference_conv(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    # and bnlib's demonstration convolution (valid, stride 1) on the padded input, subsampled
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    valid = conv2d_forward(padded, w)[:, :, ::stride, ::stride] + b[None, :, None, None]
    np.testing.assert_allclose(out, valid, rtol=1e-12, atol=1e-12)


def test_im2col_rows_are_the_patches_in_c_u_v_order(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    cols = im2col(x, 3, stride=2, pad=1)                      # H' = 3, W' = 2
    assert cols.shape == (2 * 3 * 2, 3 * 9)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(cols[1 * 6 + 2 * 2 + 1], padded[1, :, 4:7, 2:5].ravel())


def test_col2im_is_the_adjoint_of_im2col(rng):
    # <im2col(x), c> = <x, col2im(c)> for all x and c: col2im is exactly im2col's backward
    for stride, pad in SETTINGS:
        x = rng.standard_normal((2, 3, 6, 5))
        c = rng.standard_normal(im2col(x, 3, stride, pad).shape)
        assert np.sum(im2col(x, 3, stride, pad) * c) == pytest.approx(
            np.sum(x * col2im(c, x.shape, 3, stride, pad)), rel=1e-12)


@pytest.mark.parametrize("stride, pad", SETTINGS)
def test_conv_gradients_match_central_differences(rng, stride, pad):
    x, w, b = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    out, cache = conv_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, cache)
    forward = lambda: conv_forward(x, w, b, stride, pad)[0]
    for analytic, variable in ((dx, x), (dw, w), (db, b)):
        numeric = numerical_gradient(forward, variable, dout, h=LINEAR_STEP)
        assert rel_error(analytic, numeric) < GRAD_TOL


def test_conv_backward_without_dx_and_without_bias(rng):
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((3, 1, 3, 3))
    out, cache = conv_forward(x, w, None, stride=2, pad=1)
    dx, dw, db = conv_backward(np.ones(out.shape), cache, need_dx=False)
    assert dx is None and dw.shape == w.shape
    np.testing.assert_allclose(db, np.full(3, out[0, 0].size * 2))   # sum over N, H', W'


@pytest.mark.parametrize("w, b, stride, pad, words", [
    (np.ones((2, 2, 3, 3)), None, 1, 0, "do not fit"),
    (np.ones((2, 3, 3, 2)), None, 1, 0, "do not fit"),
    (np.ones((2, 3, 9, 9)), None, 1, 0, "larger than"),
    (np.ones((2, 3, 3, 3)), np.ones(3), 1, 0, "b must have shape"),
    (np.ones((2, 3, 3, 3)), None, 0, 0, "stride"),
    (np.ones((2, 3, 3, 3)), None, 1, -1, "pad"),
])
def test_bad_filters_and_settings_raise_clear_errors(w, b, stride, pad, words):
    with pytest.raises(ValueError, match=words):
        conv_forward(np.ones((2, 3, 5, 5)), w, b, stride, pad)


# ---- the network ----

def tiny_net(use_bn, rng):
    """A float64 ConvNet on 8 x 8 images (8 -> 4 -> 2), biases, gamma and beta moved off their
    initial 0 and 1 so that every term of the backward matters."""
    net = ConvNet(use_bn, channels=(1, 2, 3), image_size=8, classes=5, rng=rng, dtype=np.float64)
    for name, p in net.params.items():
        if not name.startswith("W"):
            p += 0.3 * rng.standard_normal(p.shape)
    return net


def assert_away_from_kinks(net, x, margin=1e-4):
    """Central differences with h = 1e-5 are only valid if no ReLU input lies within reach of
    its kink at 0: checked on the ReLU inputs of the pass (a precondition, not a result)."""
    net.forward(x)
    for _, relu_input in net._caches[0]:
        assert np.abs(relu_input).min() > margin


@pytest.mark.parametrize("use_bn", [False, True])
def test_the_whole_network_gradients_match_central_differences(rng, use_bn):
    net = tiny_net(use_bn, rng)
    x, y = rng.standard_normal((4, 64)), rng.integers(0, 5, 4)
    assert_away_from_kinks(net, x)
    net.loss(x, y)
    analytic = {name: g.copy() for name, g in net.grads.items()}
    expected = {"W1", "W2", "W3", "b3"} | ({"gamma1", "beta1", "gamma2", "beta2"} if use_bn
                                           else {"b1", "b2"})
    assert set(analytic) == expected
    for name, p in net.params.items():
        numeric = numerical_gradient(lambda: net.loss(x, y), p)
        assert array_rel_error(analytic[name], numeric) < GRAD_TOL, name


def test_a_wrong_backward_fails_the_same_check(rng, monkeypatch):
    """The control: the check above can fail. A col2im that overwrites where patches overlap
    (= instead of +=, stride 2 < kernel 3) leaves the forward unchanged and breaks the
    gradient of W1, which flows back through conv 2's dx."""
    import bnlib.conv

    def overwriting_col2im(dcols, x_shape, kernel, stride=1, pad=0):
        n, c, h, w = x_shape
        h_out = bnlib.conv.output_size(h, kernel, stride, pad)
        w_out = bnlib.conv.output_size(w, kernel, stride, pad)
        patches = dcols.reshape(n, h_out, w_out, c, kernel, kernel)
        dpadded = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
        for u in range(kernel):
            for v in range(kernel):
                dpadded[:, :, u:u + stride * h_out:stride, v:v + stride * w_out:stride] = \
                    patches[:, :, :, :, u, v].transpose(0, 3, 1, 2)
        return dpadded[:, :, pad:pad + h, pad:pad + w]

    net = tiny_net(False, rng)
    x, y = rng.standard_normal((4, 64)), rng.integers(0, 5, 4)
    numeric = numerical_gradient(lambda: net.loss(x, y), net.params["W1"])
    monkeypatch.setattr(bnlib.conv, "col2im", overwriting_col2im)
    net.loss(x, y)
    assert array_rel_error(net.grads["W1"], numeric) > 1e-3


def test_bn_network_has_no_conv_bias_and_uses_spatial_statistics(rng):
    net = ConvNet(True, rng=rng, dtype=np.float64)
    assert [type(bn).__name__ for bn in net.bns] == ["SpatialBatchNorm2d"] * 2
    assert "b1" not in net.params and net.params["gamma2"] is net.bns[1].gamma
    x = rng.random((5, 784))
    net.forward(x)
    conv_out = net._caches[0][0][0]                  # conv 1's cache
    assert conv_out.x_shape == (5, 1, 28, 28)
    relu_input = net._caches[0][0][1]                # BN's output: per channel mean 0, var ~1
    np.testing.assert_allclose(relu_input.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert relu_input.shape == (5, 8, 14, 14)
    assert net.params["W3"].shape == (16 * 7 * 7, 10)


def test_predict_uses_running_averages_and_keeps_the_mode(rng):
    net = ConvNet(True, rng=rng, dtype=np.float64)
    x = rng.random((6, 784))
    before = net.predict(x)
    assert net.training
    net.eval()
    np.testing.assert_array_equal(net.forward(x).argmax(axis=1), before)
    assert not net.training and net.bns[0].training is False
    np.testing.assert_array_equal(net.bns[0].running_mean, 0)   # eval does not update them


@pytest.mark.parametrize("use_bn", [False, True])
def test_the_network_learns_a_slice_of_mnist(use_bn):
    x, y, x_test, y_test = load_mnist()
    net = ConvNet(use_bn, rng=np.random.default_rng(0))
    optimizer = SGD(net.params, net.grads, lr=0.1)
    order = np.random.default_rng(1)
    for step in range(1, 61):
        idx = order.integers(0, 6000, 60)
        train_step(net, optimizer, x[idx], y[idx], step)
    assert net.params["W1"].dtype == np.float32
    assert np.mean(net.predict(x_test[:500]) == y_test[:500]) > 0.6     # chance: 0.1
