"""Tests for bnlib/batchnorm.py: gradients, invariants (hypothesis), running stats, errors."""
import numpy as np
import pytest
from hypothesis import assume, example, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import bnlib.columns
from bnlib import (BatchNorm1d, batch_statistics, batchnorm_backward, batchnorm_backward_staged,
                   batchnorm_eval_forward, batchnorm_forward)
from helpers import assert_layer_gradients

BACKWARDS = [batchnorm_backward, batchnorm_backward_staged]


def random_problem(rng, n=6, d=4):
    x = 3 * rng.standard_normal((n, d)) + 2
    gamma = rng.standard_normal(d) + 1
    beta = rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    return x, gamma, beta, dout


@pytest.mark.parametrize("backward", BACKWARDS)
def test_gradients_match_central_differences(rng, backward):
    x, gamma, beta, dout = random_problem(rng)
    assert_layer_gradients(lambda: batchnorm_forward(x, gamma, beta), backward, dout,
                           (x, gamma, beta))


def test_forward_is_algorithm_1_with_biased_variance(rng):
    x, gamma, beta, _ = random_problem(rng)
    out, cache = batchnorm_forward(x, gamma, beta, eps=1e-5)
    mean, var = x.mean(axis=0), x.var(axis=0, ddof=0)
    expected = gamma * (x - mean) / np.sqrt(var + 1e-5) + beta
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache.var, var, rtol=1e-12)


def test_gamma_and_beta_can_undo_the_normalisation(rng):
    x, _, _, _ = random_problem(rng)
    eps = 1e-5
    gamma = np.sqrt(x.var(axis=0) + eps)
    out, _ = batchnorm_forward(x, gamma, x.mean(axis=0), eps)
    np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("gemv_max_size", [0, 10**9], ids=["numpy-sums", "blas-gemv"])
def test_float32_offset_still_normalises(rng, monkeypatch, gemv_max_size):
    # Both ways of summing columns (BLAS gemv for small batches, numpy for large) are tried.
    monkeypatch.setattr(bnlib.columns, "GEMV_MAX_SIZE", gemv_max_size)
    # A large offset relative to the spread is where E[x^2] - E[x]^2 loses everything in float32.
    x = (1e4 + rng.standard_normal((1024, 64))).astype(np.float32)
    out, _ = batchnorm_forward(x, np.ones(64, np.float32), np.zeros(64, np.float32))
    assert out.dtype == np.float32
    # float32 has 24 bits: x itself is rounded to ~1e-3 at 1e4, so 1e-2 is what remains.
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-2)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-2)


def test_integer_input_is_promoted_to_float(rng):
    x = rng.integers(0, 10, size=(8, 3))
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)


# ---- the fast implementation: in-place steps must never touch the caller's arrays ----

def test_forward_and_backward_leave_their_inputs_unchanged(rng):
    x, gamma, beta, dout = random_problem(rng)
    originals = [a.copy() for a in (x, gamma, beta, dout)]
    out, cache = batchnorm_forward(x, gamma, beta)
    cached = [a.copy() for a in cache if isinstance(a, np.ndarray)]
    first = batchnorm_backward(dout, cache)
    second = batchnorm_backward(dout, cache)       # a cache can be used twice
    for before, after in zip(originals, (x, gamma, beta, dout)):
        np.testing.assert_array_equal(after, before)
    for before, after in zip(cached, [a for a in cache if isinstance(a, np.ndarray)]):
        np.testing.assert_array_equal(after, before)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.shares_memory(out, x) and not np.shares_memory(cache.x_hat, x)


def test_blas_and_numpy_column_sums_give_the_same_results(rng, monkeypatch):
    x, gamma, beta, dout = random_problem(rng, n=9, d=4)
    results = []
    for gemv_max_size in (0, 10**9):               # numpy's sums, then BLAS gemv
        monkeypatch.setattr(bnlib.columns, "GEMV_MAX_SIZE", gemv_max_size)
        out, cache = batchnorm_forward(x, gamma, beta)
        results.append([out, cache.mean, cache.var, *batchnorm_backward(dout, cache)])
    for numpy_way, blas_way in zip(*results):
        # float64, only the order of the additions differs: agreement far below 1e-12
        np.testing.assert_allclose(blas_way, numpy_way, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_dtype_in_gives_the_same_dtype_everywhere(rng, dtype):
    # No silent upcast to float64 (slow) and no silent downcast (inexact).
    x, gamma, beta, dout = (a.astype(dtype) for a in random_problem(rng))
    out, cache = batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    arrays = [out, dx, dgamma, dbeta] + [a for a in cache if isinstance(a, np.ndarray)]
    assert {a.dtype for a in arrays} == {np.dtype(dtype)}


def test_mixed_dtypes_promote_like_numpy(rng):
    x, gamma, beta, dout = random_problem(rng)
    out, cache = batchnorm_forward(x.astype(np.float32), gamma, beta.astype(np.float32))
    assert out.dtype == np.float64                 # float32 data, float64 gamma
    dx, _, _ = batchnorm_backward(dout.astype(np.float32), cache)
    assert dx.dtype == np.float64                  # gamma * inv_std is float64


def test_non_contiguous_input_gives_the_same_result(rng):
    # layernorm calls batchnorm_forward on a transpose, spatial BN on reshaped views.
    x, gamma, beta, dout = random_problem(rng, n=7, d=5)
    x_f, dout_f = np.asfortranarray(x), np.asfortranarray(dout)
    out, cache = batchnorm_forward(x, gamma, beta)
    out_f, cache_f = batchnorm_forward(x_f, gamma, beta)
    # Only the summation order may differ: float64 rounding, far below 1e-12.
    np.testing.assert_allclose(out_f, out, rtol=1e-12, atol=1e-12)
    for got, want in zip(batchnorm_backward(dout_f, cache_f), batchnorm_backward(dout, cache)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_float16_column_sums_beyond_its_range_still_normalise(rng):
    # 1024 values near 100 sum to ~1e5 > 65504, the largest float16: the mean must not overflow.
    x = (100 + rng.standard_normal((1024, 3))).astype(np.float16)
    out, _ = batchnorm_forward(x, np.ones(3, np.float16), np.zeros(3, np.float16))
    assert out.dtype == np.float16
    # float16 keeps ~3 digits and rounds x to 1/16 near 100, so 2e-2 is what remains.
    np.testing.assert_allclose(out.astype(np.float64).mean(axis=0), 0, atol=2e-2)
    np.testing.assert_allclose(out.astype(np.float64).std(axis=0), 1, atol=2e-2)


def test_constant_columns_never_give_a_negative_variance(rng):
    """The corrected two-pass variance subtracts the squared rounding error of the mean; on a
    constant float32 column that once left -1e-16 (9,745 of 20,000 trials), and a layer with
    momentum 1 then stored a negative running variance that evaluation mode refused."""
    values = rng.uniform(-1e3, 1e3, 2000).astype(np.float32)
    for value in values:
        _, var, _ = batch_statistics(np.full((60, 10), value, np.float32))
        assert np.all(var >= 0), value


def test_a_momentum_1_layer_on_a_constant_batch_evaluates():
    bn = BatchNorm1d(3, momentum=1.0, dtype=np.float32)
    bn.forward(np.full((60, 3), 0.1, np.float32))
    assert np.all(bn.running_var >= 0)
    out = bn.eval().forward(np.full((2, 3), 0.1, np.float32))
    assert np.all(np.isfinite(out))


# ---- invariants, for many random batches (hypothesis) ----

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
batches = st.tuples(st.integers(2, 12), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=finite))


def spread_out(x):
    """Keep only the columns whose spread is well above eps, so the output variance is ~1."""
    x = x[:, x.std(axis=0) > 1e-2]
    assume(x.shape[1] > 0)
    return x


@settings(deadline=None)
@given(batches)
def test_unit_gamma_gives_mean_0_variance_1(x):
    x = spread_out(x)
    d = x.shape[1]
    out, _ = batchnorm_forward(x, np.ones(d), np.zeros(d))
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-9)
    # var(out) = var / (var + eps) with var >= 1e-4 and eps = 1e-5: within 0.1 of 1
    expected = x.var(axis=0) / (x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(out.var(axis=0), expected, rtol=1e-9)


@settings(deadline=None)
@given(batches, st.data())
def test_dx_sums_to_zero_and_is_orthogonal_to_x_hat(x, data):
    # sum_n x_hat^2 = N var / (var + eps), so the orthogonality holds exactly only as eps -> 0;
    # with eps the closed form gives sum_n dx * x_hat = gamma * dgamma * eps / (var + eps)^1.5,
    # which is what we assert (it is 0 up to rounding when var >> eps).
    x = spread_out(x)
    d = x.shape[1]
    gamma = data.draw(arrays(np.float64, d, elements=st.floats(-3, 3)))
    dout = data.draw(arrays(np.float64, x.shape, elements=st.floats(-10, 10)))
    _, cache = batchnorm_forward(x, gamma, np.zeros(d))
    dx, dgamma, _ = batchnorm_backward(dout, cache)
    scale = np.abs(dout).sum() * cache.inv_std.max() * (np.abs(gamma).max() + 1) + 1
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-9 * scale)
    residual = gamma * dgamma * cache.eps * cache.inv_std**3
    np.testing.assert_allclose((dx * cache.x_hat).sum(axis=0), residual, atol=1e-9 * scale)


@settings(deadline=None)
@given(batches, st.floats(0.1, 100), st.floats(-100, 100))
@example(x=np.array([[0.0]] * 11 + [[0.037]]), a=0.1, b=0.0)   # found by hypothesis: see below
def test_invariant_to_positive_scale_and_shift(x, a, b):
    # In exact arithmetic BN(a x + b; eps) = BN(x; eps / a^2): eps is compared with the variance
    # of its input. (Comparing with BN(x; eps) instead misses by |x_hat| eps / (2 a^2 var): 1.6e-6
    # for the example above, eps 1e-12, a 0.1 and a column with one outlier.) What remains is the
    # rounding of a x + b, about 2^-52 (|b| + a max|x|) per entry, magnified by 1 / (a std(x))
    # when normalised; 16 times that, plus a floor of 1e-12, is the tolerance.
    x = spread_out(x)
    d = x.shape[1]
    gamma, beta = np.ones(d), np.zeros(d)
    out1, _ = batchnorm_forward(x, gamma, beta, eps=1e-12 / a**2)
    out2, _ = batchnorm_forward(a * x + b, gamma, beta, eps=1e-12)
    rounding = 16 * 2.0**-52 * (abs(b) + a * np.abs(x).max()) / (a * x.std(axis=0).min())
    np.testing.assert_allclose(out2, out1, atol=rounding + 1e-12)


@settings(deadline=None)
@given(batches, st.data())
def test_staged_and_closed_form_backwards_agree(x, data):
    d = x.shape[1]
    gamma = data.draw(arrays(np.float64, d, elements=st.floats(-3, 3)))
    dout = data.draw(arrays(np.float64, x.shape, elements=st.floats(-10, 10)))
    assert_backwards_agree(x, gamma, dout)


def assert_backwards_agree(x, gamma, dout):
    """The closed-form and the staged backward give the same gradients, to rounding.

    Tolerance: 1e-10 of the size of the problem (sum |dout| times the largest gain), and a
    floor of 1e-300 for subnormal gradients, which have no relative precision left (hypothesis
    found dout = [0, 5e-324], where the scaled tolerance itself underflows to 0).
    """
    _, cache = batchnorm_forward(x, gamma, np.zeros(x.shape[1]))
    scale = np.abs(dout).sum() * (cache.inv_std.max() + 1) * (np.abs(gamma).max() + 1)
    for fast, staged in zip(batchnorm_backward(dout, cache), batchnorm_backward_staged(dout, cache)):
        np.testing.assert_allclose(fast, staged, atol=1e-10 * scale + 1e-300)


def test_backwards_agree_on_a_subnormal_gradient():
    """The example hypothesis found (pinned here, since it draws dout inside the test)."""
    assert_backwards_agree(np.zeros((2, 1)), np.ones(1), np.array([[0.0], [5e-324]]))


# ---- the layer: running statistics, modes ----

def test_running_statistics_follow_torch_conventions(rng):
    bn = BatchNorm1d(3, momentum=0.1)
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    x = rng.standard_normal((5, 3))
    bn.forward(x)
    # momentum weights the new value; the stored variance is the unbiased one (ddof=1)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)


def test_eval_uses_running_statistics_and_accepts_a_batch_of_one(rng):
    bn = BatchNorm1d(3)
    for _ in range(5):
        bn.forward(rng.standard_normal((10, 3)) * 2 + 1)
    bn.gamma[:] = [1.0, 2.0, 0.5]
    bn.beta[:] = [0.0, -1.0, 3.0]
    x = rng.standard_normal((1, 3))
    out = bn.eval().forward(x)
    expected = bn.gamma * (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + bn.beta
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(
        batchnorm_eval_forward(x, bn.gamma, bn.beta, bn.running_mean, bn.running_var), expected)


def test_eval_does_not_change_running_statistics(rng):
    bn = BatchNorm1d(2)
    bn.forward(rng.standard_normal((4, 2)))
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval().forward(rng.standard_normal((4, 2)))
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)


def test_layer_backward_stores_parameter_gradients(rng):
    x, gamma, beta, dout = random_problem(rng)
    bn = BatchNorm1d(x.shape[1])
    bn.gamma[:], bn.beta[:] = gamma, beta
    dx = bn.forward(x) is not None and bn.backward(dout)
    _, cache = batchnorm_forward(x, gamma, beta)
    expected = batchnorm_backward(dout, cache)
    for got, want in zip((dx, bn.dgamma, bn.dbeta), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


# ---- bad input: clear errors, never a silent NaN ----

@pytest.mark.parametrize("x, gamma, beta, error, words", [
    (np.ones(4), np.ones(4), np.zeros(4), ValueError, "dimension"),
    (np.ones((2, 3, 4)), np.ones(3), np.zeros(3), ValueError, "dimension"),
    (np.ones((4, 3)), np.ones(2), np.zeros(3), ValueError, "gamma must have shape"),
    (np.ones((4, 3)), np.ones(3), np.zeros((3, 1)), ValueError, "beta"),
    (np.ones((1, 3)), np.ones(3), np.zeros(3), ValueError, "batch of 1"),
    (np.array([["a", "b"], ["c", "d"]]), np.ones(2), np.zeros(2), TypeError, "real numbers"),
    (np.array([[1, None], [2, 3]], dtype=object), np.ones(2), np.zeros(2), TypeError, "dtype"),
    (np.array([[np.nan, 1.0], [2.0, 3.0]]), np.ones(2), np.zeros(2), ValueError, "not finite"),
    (np.array([[np.inf, 1.0], [2.0, 3.0]]), np.ones(2), np.zeros(2), ValueError, "not finite"),
])
def test_bad_input_raises_a_clear_error(x, gamma, beta, error, words):
    with pytest.raises(error, match=words):
        batchnorm_forward(x, gamma, beta)


@pytest.mark.parametrize("running_mean, running_var, words", [
    (np.zeros(2), np.ones(3), "running_mean must have shape"),
    (np.zeros(3), np.ones(1), "running_var must have shape"),
    (np.zeros(3), np.array([1.0, -0.5, 1.0]), "running_var must hold variances >= 0"),
    (np.zeros(3), np.array([1.0, np.nan, 1.0]), "running_var is not finite"),
    (np.array([0.0, np.inf, 0.0]), np.ones(3), "running_mean is not finite"),
])
def test_eval_forward_rejects_bad_running_statistics(running_mean, running_var, words):
    with pytest.raises(ValueError, match=words):
        batchnorm_eval_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), running_mean, running_var)


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan")])
def test_eps_must_be_positive(eps):
    with pytest.raises(ValueError, match="eps"):
        batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), eps=eps)
    with pytest.raises(ValueError, match="eps"):
        BatchNorm1d(2, eps=eps)


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_momentum_must_lie_in_0_1(momentum):
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(2, momentum=momentum)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before"):
        BatchNorm1d(2).backward(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        batchnorm_backward(np.ones((3, 2)), None)
    bn = BatchNorm1d(2).eval()
    bn.forward(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="training-mode forward"):
        bn.backward(np.ones((3, 2)))


def test_dout_of_the_wrong_shape_is_an_error(rng):
    _, cache = batchnorm_forward(rng.standard_normal((4, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="dout must have shape"):
        batchnorm_backward(np.ones((4, 2)), cache)


def test_batch_of_one_in_the_layer_trains_no_but_evals_yes():
    bn = BatchNorm1d(2)
    with pytest.raises(ValueError, match="more than 1 value"):
        bn.forward(np.ones((1, 2)))
    assert bn.eval().forward(np.ones((1, 2))).shape == (1, 2)
