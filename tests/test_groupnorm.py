"""Tests for bnlib/groupnorm.py: gradients, special cases, invariants (hypothesis), errors."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bnlib import (groupnorm_backward, groupnorm_forward, layernorm_forward, numerical_gradient,
                   rel_error, spatial_batchnorm_forward)
from helpers import GRAD_TOL, assert_layer_gradients, assert_model_gradients, random_nchw_problem

SHAPE = (2, 4, 3, 2)   # N, C, H, W; H != W so that a swapped axis cannot go unnoticed


def random_problem(rng, shape=SHAPE):
    return random_nchw_problem(rng, shape)


@pytest.mark.parametrize("num_groups", [1, 2, 4])
def test_gradients_match_central_differences(rng, num_groups):
    x, gamma, beta, dout = random_problem(rng)
    assert_layer_gradients(lambda: groupnorm_forward(x, gamma, beta, num_groups),
                           groupnorm_backward, dout, (x, gamma, beta))


def test_forward_is_the_definition(rng):
    x, gamma, beta, _ = random_problem(rng, (3, 6, 4, 5))
    out, _ = groupnorm_forward(x, gamma, beta, num_groups=3)
    groups = x.reshape(3, 3, 2, 4, 5)                      # (N, G, C/G, H, W)
    mean = groups.mean(axis=(2, 3, 4), keepdims=True)
    var = groups.var(axis=(2, 3, 4), keepdims=True)        # biased
    x_hat = ((groups - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)
    expected = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_one_group_is_layernorm_over_c_h_w(rng):
    x, _, _, _ = random_problem(rng)
    out, _ = groupnorm_forward(x, np.ones(4), np.zeros(4), num_groups=1)
    flat = x.reshape(2, -1)
    expected, _ = layernorm_forward(flat, np.ones(flat.shape[1]), np.zeros(flat.shape[1]))
    np.testing.assert_allclose(out, expected.reshape(x.shape), rtol=1e-13, atol=1e-13)


def test_one_channel_per_group_is_instance_norm(rng):
    x, _, _, _ = random_problem(rng)
    out, _ = groupnorm_forward(x, np.ones(4), np.zeros(4), num_groups=4)
    for n in range(2):
        for c in range(4):
            one, _ = spatial_batchnorm_forward(x[n:n + 1, c:c + 1], np.ones(1), np.zeros(1))
            np.testing.assert_allclose(out[n, c], one[0, 0], rtol=1e-13, atol=1e-13)


def test_samples_are_independent_so_a_batch_of_one_works(rng):
    x, gamma, beta, _ = random_problem(rng)
    out, _ = groupnorm_forward(x, gamma, beta, 2)
    out_one, _ = groupnorm_forward(x[1:], gamma, beta, 2)
    np.testing.assert_allclose(out_one, out[1:], rtol=1e-14, atol=1e-14)


# ---- invariants (hypothesis) ----

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
maps = st.tuples(st.integers(1, 3), st.sampled_from([2, 4, 6]), st.integers(1, 3),
                 st.integers(1, 3)).flatmap(lambda s: arrays(np.float64, s, elements=finite))


@settings(deadline=None)
@given(maps, st.sampled_from([1, 2]))
def test_each_group_comes_out_with_mean_0_variance_1(x, num_groups):
    n, c = x.shape[:2]
    groups = x.reshape(n, num_groups, -1)
    assume(groups.shape[2] >= 2)
    out, _ = groupnorm_forward(x, np.ones(c), np.zeros(c), num_groups)
    out_groups = out.reshape(n, num_groups, -1)
    var = groups.var(axis=2)
    spread = var > 1e-4                              # groups spread well above eps
    np.testing.assert_allclose(out_groups.mean(axis=2), 0, atol=1e-9)
    np.testing.assert_allclose(out_groups.var(axis=2)[spread], (var / (var + 1e-5))[spread],
                               rtol=1e-9)


@settings(deadline=None)
@given(maps, st.floats(0.1, 100), st.floats(-100, 100))
def test_invariant_to_positive_scale_and_shift_of_a_sample(x, a, b):
    n, c = x.shape[:2]
    assume(x.shape[2] * x.shape[3] * c // 2 >= 2)
    assume(np.all(x.reshape(n, 2, -1).std(axis=2) > 1e-2))
    gamma, beta = np.ones(c), np.zeros(c)
    # eps breaks exact invariance slightly (var vs a^2 var); eps=1e-12 makes it negligible
    out1, _ = groupnorm_forward(x, gamma, beta, 2, eps=1e-12)
    out2, _ = groupnorm_forward(a * x + b, gamma, beta, 2, eps=1e-12)
    np.testing.assert_allclose(out2, out1, atol=1e-6)


# ---- bad input: clear errors ----

@pytest.mark.parametrize("x, num_groups, error, words", [
    (np.ones((2, 4, 3)), 2, ValueError, "dimension"),
    (np.ones((2, 4, 3, 3)), 3, ValueError, "not divisible by num_groups=3"),
    (np.ones((2, 4, 3, 3)), 0, ValueError, "positive integer"),
    (np.ones((2, 4, 3, 3)), 1.5, TypeError, "integer"),
    (np.ones((2, 4, 3, 3)), True, TypeError, "integer"),
    (np.ones((2, 4, 1, 1)), 4, ValueError, "single value"),
    (np.full((2, 4, 3, 3), "a"), 2, TypeError, "real numbers"),
    (np.full((2, 4, 3, 3), np.inf), 2, ValueError, "not finite"),
])
def test_bad_input_raises_a_clear_error(x, num_groups, error, words):
    with pytest.raises(error, match=words):
        groupnorm_forward(x, np.ones(4), np.zeros(4), num_groups)


def test_gamma_beta_and_eps_are_checked():
    x = np.ones((2, 4, 3, 3))
    with pytest.raises(ValueError, match="gamma must have shape"):
        groupnorm_forward(x, np.ones(2), np.zeros(4), 2)
    with pytest.raises(ValueError, match="beta must have shape"):
        groupnorm_forward(x, np.ones(4), np.zeros(3), 2)
    with pytest.raises(ValueError, match="beta must have 1 dimension"):
        groupnorm_forward(x, np.ones(4), np.zeros((4, 1)), 2)
    with pytest.raises(ValueError, match="eps"):
        groupnorm_forward(x, np.ones(4), np.zeros(4), 2, eps=0.0)


def test_backward_needs_its_own_forward_and_a_matching_dout(rng):
    x, gamma, beta, dout = random_problem(rng)
    with pytest.raises(RuntimeError, match="before forward"):
        groupnorm_backward(dout, None)
    _, other = layernorm_forward(x.reshape(2, -1), np.ones(24), np.zeros(24))
    with pytest.raises(RuntimeError, match="groupnorm_forward"):
        groupnorm_backward(dout, other)
    _, cache = groupnorm_forward(x, gamma, beta, 2)
    with pytest.raises(ValueError, match="dout must have shape"):
        groupnorm_backward(dout[:, :2], cache)


# ---- GroupNorm1d: the layer for MLP(norm_layer=...) ----

def test_groupnorm1d_is_groupnorm_of_1x1_maps(rng):
    from bnlib.groupnorm import GroupNorm1d
    x, gamma, beta = rng.standard_normal((3, 6)), rng.standard_normal(6), rng.standard_normal(6)
    dout = rng.standard_normal((3, 6))
    layer = GroupNorm1d(6, num_groups=2)                          # groups of 3 features
    layer.gamma[...], layer.beta[...] = gamma, beta
    out = layer.forward(x)
    expected, cache = groupnorm_forward(x[:, :, None, None], gamma, beta, 2)
    np.testing.assert_array_equal(out, expected.reshape(3, 6))
    groups = x.reshape(3, 2, 3)                                   # (N, G, D/G)
    by_hand = (groups - groups.mean(axis=2, keepdims=True)) / np.sqrt(
        groups.var(axis=2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, by_hand.reshape(3, 6) * gamma + beta, rtol=1e-12, atol=1e-12)
    dx = layer.backward(dout)
    for ours, theirs in zip((dx, layer.dgamma, layer.dbeta),
                            groupnorm_backward(dout[:, :, None, None], cache)):
        np.testing.assert_array_equal(ours, theirs.reshape(ours.shape))
    assert rel_error(dx, numerical_gradient(lambda: layer.forward(x), x, dout)) < GRAD_TOL


def test_groupnorm1d_with_one_group_is_layernorm1d_and_has_one_mode(rng):
    from bnlib.groupnorm import GroupNorm1d
    from bnlib.layernorm import LayerNorm1d
    x = rng.standard_normal((4, 6))
    one_group = GroupNorm1d(6, num_groups=1).forward(x)
    np.testing.assert_allclose(one_group, LayerNorm1d(6).forward(x), rtol=1e-13, atol=1e-13)
    layer = GroupNorm1d(6, num_groups=2)
    training = layer.train().forward(x)
    np.testing.assert_array_equal(layer.eval().forward(x), training)
    np.testing.assert_array_equal(layer.forward(x[2:3]), training[2:3])   # a batch of one


def test_groupnorm1d_errors():
    from bnlib.groupnorm import GroupNorm1d
    with pytest.raises(ValueError, match="not divisible by num_groups=4"):
        GroupNorm1d(6, num_groups=4)
    with pytest.raises(ValueError, match="single value"):
        GroupNorm1d(6, num_groups=6)                              # one feature per group
    with pytest.raises(TypeError, match="integer"):
        GroupNorm1d(6, num_groups=2.0)
    with pytest.raises(RuntimeError, match="before forward"):
        GroupNorm1d(6, 2).backward(np.ones((2, 6)))
    with pytest.raises(ValueError, match="x must have shape"):
        GroupNorm1d(6, 2).forward(np.ones((2, 4)))


def test_mlp_with_groupnorm1d_passes_a_gradient_check(rng):
    from bnlib import MLP
    from bnlib.groupnorm import GroupNorm1d
    # groups of 3 features: with 2 per group x_hat would be +-1 and dx almost 0 (see notebook 09)
    model = MLP((6, 6, 6, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64,
                norm_layer=lambda d: GroupNorm1d(d, num_groups=2))
    x, y = rng.standard_normal((3, 6)), np.array([0, 2, 1])
    assert_model_gradients(model, x, y)
