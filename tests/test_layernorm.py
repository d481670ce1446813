"""Tests for bnlib/layernorm.py: gradients, the definition, invariants (hypothesis), errors."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bnlib import (batchnorm_forward, layernorm_backward, layernorm_forward, numerical_gradient,
                   rel_error)
from helpers import GRAD_TOL, assert_layer_gradients, assert_model_gradients

# Central differences in float64 with h = 1e-5: the rounding error of sum(out * dout) grows
# like sqrt(number of outputs) * 1e-16 / h, about 1e-11 absolute for these small problems, far
# below the smallest gradient entries, so the relative error of 1e-7 is a safe bar.


def random_problem(rng, n=4, d=5):
    x = 3 * rng.standard_normal((n, d)) + 2
    gamma, beta = rng.standard_normal(d) + 1, rng.standard_normal(d)
    return x, gamma, beta, rng.standard_normal((n, d))


def test_gradients_match_central_differences(rng):
    x, gamma, beta, dout = random_problem(rng)
    assert_layer_gradients(lambda: layernorm_forward(x, gamma, beta), layernorm_backward, dout,
                           (x, gamma, beta))


def test_forward_normalises_each_row_with_its_biased_variance(rng):
    x, gamma, beta, _ = random_problem(rng)
    out, _ = layernorm_forward(x, gamma, beta, eps=1e-5)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta,
                               rtol=1e-12, atol=1e-12)


def test_layernorm_is_batchnorm_of_the_transpose(rng):
    x, _, _, _ = random_problem(rng)
    out, _ = layernorm_forward(x, np.ones(5), np.zeros(5))
    out_t, _ = batchnorm_forward(x.T, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(out, out_t.T, rtol=1e-14, atol=1e-14)


def test_a_single_sample_is_fine_and_independent_of_the_batch(rng):
    x, gamma, beta, _ = random_problem(rng)
    out_batch, _ = layernorm_forward(x, gamma, beta)
    out_one, _ = layernorm_forward(x[2:3], gamma, beta)
    np.testing.assert_allclose(out_one, out_batch[2:3], rtol=1e-14, atol=1e-14)


def test_float32_stays_float32_and_survives_an_offset(rng):
    x = (1e4 + rng.standard_normal((8, 512))).astype(np.float32)
    out, _ = layernorm_forward(x, np.ones(512, np.float32), np.zeros(512, np.float32))
    assert out.dtype == np.float32
    # x itself is rounded to ~1e-3 at 1e4 in float32, so 1e-2 is what can be asked for
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-2)
    np.testing.assert_allclose(out.std(axis=1), 1, atol=1e-2)


# ---- invariants (hypothesis) ----

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
batches = st.tuples(st.integers(1, 6), st.integers(2, 12)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=finite))


@settings(deadline=None)
@given(batches)
def test_each_row_comes_out_with_mean_0_variance_1(x):
    x = x[x.std(axis=1) > 1e-2]                    # rows spread well above eps
    assume(len(x) > 0)
    d = x.shape[1]
    out, _ = layernorm_forward(x, np.ones(d), np.zeros(d))
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-9)
    var = x.var(axis=1)
    np.testing.assert_allclose(out.var(axis=1), var / (var + 1e-5), rtol=1e-9)


@settings(deadline=None)
@given(batches, st.data())
def test_dx_of_each_row_sums_to_zero(x, data):
    # shifting a whole row leaves its output unchanged, so the gradient has no such component
    d = x.shape[1]
    dout = data.draw(arrays(np.float64, x.shape, elements=st.floats(-10, 10)))
    _, cache = layernorm_forward(x, np.ones(d), np.zeros(d))
    dx, _, _ = layernorm_backward(dout, cache)
    scale = (np.abs(dout).sum() + 1) / np.sqrt(x.var(axis=1).min() + 1e-5)
    np.testing.assert_allclose(dx.sum(axis=1), 0, atol=1e-10 * scale)


# ---- bad input: clear errors ----

@pytest.mark.parametrize("x, gamma, beta, error, words", [
    (np.ones(4), np.ones(4), np.zeros(4), ValueError, "dimension"),
    (np.ones((2, 3, 4)), np.ones(4), np.zeros(4), ValueError, "dimension"),
    (np.ones((4, 3)), np.ones(4), np.zeros(3), ValueError, "gamma must have shape"),
    (np.ones((4, 3)), np.ones(3), np.zeros(2), ValueError, "beta must have shape"),
    (np.ones((4, 1)), np.ones(1), np.zeros(1), ValueError, "at least 2 values"),
    (np.array([["a", "b"]]), np.ones(2), np.zeros(2), TypeError, "real numbers"),
    (np.array([[np.nan, 1.0]]), np.ones(2), np.zeros(2), ValueError, "not finite"),
])
def test_bad_input_raises_a_clear_error(x, gamma, beta, error, words):
    with pytest.raises(error, match=words):
        layernorm_forward(x, gamma, beta)


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan")])
def test_eps_must_be_positive(eps):
    with pytest.raises(ValueError, match="eps"):
        layernorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), eps=eps)


def test_backward_needs_its_own_forward_and_a_matching_dout(rng):
    x, gamma, beta, dout = random_problem(rng)
    with pytest.raises(RuntimeError, match="before forward"):
        layernorm_backward(dout, None)
    _, bn_cache = batchnorm_forward(x, gamma, beta)
    with pytest.raises(RuntimeError, match="layernorm_forward"):
        layernorm_backward(dout, bn_cache)
    _, cache = layernorm_forward(x, gamma, beta)
    with pytest.raises(ValueError, match="dout must have shape"):
        layernorm_backward(dout[:, :3], cache)


# ---- LayerNorm1d: the layer for MLP(norm_layer=...) ----

def test_layernorm1d_is_the_function_and_stores_its_gradients(rng):
    from bnlib.layernorm import LayerNorm1d
    x, gamma, beta, dout = random_problem(rng)
    layer = LayerNorm1d(5)
    layer.gamma[...], layer.beta[...] = gamma, beta
    out = layer.forward(x)
    expected, cache = layernorm_forward(x, gamma, beta)
    np.testing.assert_array_equal(out, expected)
    dx = layer.backward(dout)
    for ours, theirs in zip((dx, layer.dgamma, layer.dbeta), layernorm_backward(dout, cache)):
        np.testing.assert_array_equal(ours, theirs)
    assert rel_error(dx, numerical_gradient(lambda: layer.forward(x), x, dout)) < GRAD_TOL


def test_layernorm1d_has_one_mode_reads_gamma_at_call_time_and_takes_one_sample(rng):
    from bnlib.layernorm import LayerNorm1d
    x = rng.standard_normal((4, 5))
    layer = LayerNorm1d(5)
    training = layer.train().forward(x)
    np.testing.assert_array_equal(layer.eval().forward(x), training)   # no batch statistics
    np.testing.assert_array_equal(layer.forward(x[1:2]), training[1:2])
    storage = np.full(5, 2.0)
    layer.gamma = storage[:]                 # as MLP does: a view into its own array
    storage[...] = 3.0
    np.testing.assert_allclose(layer.forward(x), 3.0 * training)


def test_layernorm1d_errors():
    from bnlib.layernorm import LayerNorm1d
    with pytest.raises(ValueError, match="at least|>= 2"):
        LayerNorm1d(1)
    with pytest.raises(ValueError, match="eps"):
        LayerNorm1d(4, eps=0.0)
    with pytest.raises(RuntimeError, match="before forward"):
        LayerNorm1d(4).backward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="gamma must have shape"):
        LayerNorm1d(4).forward(np.ones((2, 3)))


def test_mlp_with_layernorm1d_passes_a_gradient_check(rng):
    # the whole network in float64: every parameter, including LN's gamma and beta
    from bnlib import MLP
    from bnlib.layernorm import LayerNorm1d
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64,
                norm_layer=lambda d: LayerNorm1d(d))
    x, y = rng.standard_normal((4, 6)), np.array([0, 2, 1, 2])
    grads = assert_model_gradients(model, x, y)
    assert set(grads) == {"W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"}
