"""Tests for bnlib/spatial.py: spatial batch norm (gradients, definition, invariants, errors)
and the demonstration convolution."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bnlib import (batchnorm_forward, conv2d_forward, groupnorm_forward,
                   spatial_batchnorm_backward, spatial_batchnorm_forward)
from helpers import assert_layer_gradients, random_nchw_problem

SHAPE = (2, 3, 3, 2)   # N, C, H, W; H != W so that a swapped axis cannot go unnoticed


def random_problem(rng, shape=SHAPE):
    return random_nchw_problem(rng, shape)


def test_gradients_match_central_differences(rng):
    x, gamma, beta, dout = random_problem(rng)
    assert_layer_gradients(lambda: spatial_batchnorm_forward(x, gamma, beta),
                           spatial_batchnorm_backward, dout, (x, gamma, beta))


def test_statistics_are_per_channel_over_n_h_w(rng):
    x, gamma, beta, _ = random_problem(rng, (4, 3, 5, 2))
    out, cache = spatial_batchnorm_forward(x, gamma, beta, eps=1e-5)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)            # biased, over N * H * W values
    expected = gamma[None, :, None, None] * (x - mean) / np.sqrt(var + 1e-5) \
        + beta[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache.bn_cache.var, var.ravel(), rtol=1e-12)
    assert out.flags.c_contiguous


def test_with_1x1_maps_it_is_ordinary_batchnorm(rng):
    x, gamma, beta, _ = random_problem(rng, (5, 3, 1, 1))
    out, _ = spatial_batchnorm_forward(x, gamma, beta)
    flat, _ = batchnorm_forward(x.reshape(5, 3), gamma, beta)
    np.testing.assert_allclose(out.reshape(5, 3), flat, rtol=1e-14, atol=1e-14)


def test_a_single_sample_with_several_positions_is_instance_norm(rng):
    x, _, _, _ = random_problem(rng, (1, 4, 3, 2))
    out, _ = spatial_batchnorm_forward(x, np.ones(4), np.zeros(4))
    expected, _ = groupnorm_forward(x, np.ones(4), np.zeros(4), num_groups=4)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
maps = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                 st.integers(2, 3)).flatmap(lambda s: arrays(np.float64, s, elements=finite))


@settings(deadline=None)
@given(maps)
def test_each_channel_comes_out_with_mean_0_variance_1(x):
    c = x.shape[1]
    out, _ = spatial_batchnorm_forward(x, np.ones(c), np.zeros(c))
    var = x.var(axis=(0, 2, 3))
    spread = var > 1e-4                              # channels spread well above eps
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3))[spread], (var / (var + 1e-5))[spread],
                               rtol=1e-9)


def test_translation_of_the_whole_batch_commutes_with_spatial_batchnorm(rng):
    # per-channel statistics ignore where a value sits, so moving every map by the same
    # (circular) shift moves the output by that shift: the convolutional property
    x, gamma, beta, _ = random_problem(rng, (3, 2, 5, 4))
    out, _ = spatial_batchnorm_forward(x, gamma, beta)
    shifted, _ = spatial_batchnorm_forward(np.roll(x, (2, 1), axis=(2, 3)), gamma, beta)
    np.testing.assert_allclose(shifted, np.roll(out, (2, 1), axis=(2, 3)), rtol=1e-12, atol=1e-12)


# ---- bad input: clear errors ----

@pytest.mark.parametrize("x, gamma, error, words", [
    (np.ones((4, 3)), np.ones(3), ValueError, "dimension"),
    (np.ones((2, 3, 2, 2)), np.ones(2), ValueError, "gamma must have shape"),
    (np.ones((1, 3, 1, 1)), np.ones(3), ValueError, "more than 1 value per channel"),
    (np.full((2, 3, 2, 2), "a"), np.ones(3), TypeError, "real numbers"),
    (np.full((2, 3, 2, 2), np.nan), np.ones(3), ValueError, "not finite"),
])
def test_bad_input_raises_a_clear_error(x, gamma, error, words):
    with pytest.raises(error, match=words):
        spatial_batchnorm_forward(x, gamma, np.zeros(3))


def test_eps_must_be_positive():
    with pytest.raises(ValueError, match="eps"):
        spatial_batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(3), np.zeros(3), eps=-1.0)


def test_backward_needs_its_own_forward_and_a_matching_dout(rng):
    x, gamma, beta, dout = random_problem(rng)
    with pytest.raises(RuntimeError, match="before forward"):
        spatial_batchnorm_backward(dout, None)
    _, other = groupnorm_forward(x, gamma, beta, 1)
    with pytest.raises(RuntimeError, match="spatial_batchnorm_forward"):
        spatial_batchnorm_backward(dout, other)
    _, cache = spatial_batchnorm_forward(x, gamma, beta)
    with pytest.raises(ValueError, match="dout must have shape"):
        spatial_batchnorm_backward(dout[:, :, :2], cache)


# ---- the demonstration convolution ----

def test_conv2d_is_the_definition(rng):
    x, filters = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 3, 3))
    out = conv2d_forward(x, filters)
    assert out.shape == (2, 2, 3, 2)
    for i in range(3):
        for j in range(2):
            patch = x[:, :, i:i + 3, j:j + 3]                       # (N, C_in, K, K)
            np.testing.assert_allclose(out[:, :, i, j],
                                       np.einsum("ncuv,ocuv->no", patch, filters), rtol=1e-12)


def test_conv2d_rejects_filters_that_do_not_fit(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    with pytest.raises(ValueError, match="do not fit"):
        conv2d_forward(x, np.ones((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        conv2d_forward(x, np.ones((2, 3, 5, 5)))


# ---- the layer ----

def test_spatial_batchnorm_layer_gradients_match_central_differences(rng):
    from bnlib import SpatialBatchNorm2d
    x, gamma, beta, dout = random_problem(rng)
    layer = SpatialBatchNorm2d(3, dtype=np.float64)
    layer.gamma[...], layer.beta[...] = gamma, beta
    layer.forward(x)
    dx = layer.backward(dout)
    assert_layer_gradients(lambda: spatial_batchnorm_forward(x, layer.gamma, layer.beta),
                           lambda dout, cache: (dx, layer.dgamma, layer.dbeta), dout,
                           (x, layer.gamma, layer.beta))


def test_spatial_batchnorm_layer_is_the_function_plus_running_statistics_per_channel(rng):
    from bnlib import SpatialBatchNorm2d
    x, gamma, beta, _ = random_problem(rng, (4, 3, 5, 2))
    layer = SpatialBatchNorm2d(3, momentum=0.1, dtype=np.float64)
    layer.gamma[...], layer.beta[...] = gamma, beta
    out = layer.forward(x)
    np.testing.assert_allclose(out, spatial_batchnorm_forward(x, gamma, beta)[0], rtol=1e-13,
                               atol=1e-13)
    m = 4 * 5 * 2                                    # the effective mini-batch N * H * W
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-13)
    np.testing.assert_allclose(layer.running_var,    # unbiased over N*H*W, as torch's BatchNorm2d
                               0.9 + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1), rtol=1e-13)
    layer.eval()
    single = layer.forward(x[:1, :, :1, :1])         # evaluation mode: any batch, even 1 x 1
    expected = gamma * (x[0, :, 0, 0] - layer.running_mean) / np.sqrt(layer.running_var + 1e-5) \
        + beta
    np.testing.assert_allclose(single.ravel(), expected, rtol=1e-12)
    assert repr(layer).startswith("SpatialBatchNorm2d(3, eps=1e-05, momentum=0.1")
    with pytest.raises(ValueError, match="dimension"):
        layer.forward(x[:, :, 0])
