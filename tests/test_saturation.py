"""Tests for bnlib/saturation.py: the maths behind notebook 04's sliders."""
import numpy as np
import pytest

from bnlib import (SATURATION_THRESHOLD, SliderParams, batchnorm_backward, deep_signal,
                   numerical_gradient, rel_error, saturation_demo_data, saturation_stats,
                   sigmoid, sigmoid_inputs, sigmoid_local_gradient)
from bnlib.saturation import _deep_backward, _deep_forward, readout_text
from helpers import GRAD_TOL


@pytest.fixture
def gaussian_data():
    """A small demo batch from Gaussian inputs (no MNIST load): 40 samples of 30 features."""
    x = np.random.default_rng(7).standard_normal((500, 30))
    return saturation_demo_data(x, batch_size=40, width=20, max_depth=6, seed=3)


def scales():
    return np.linspace(0.05, 1.5, 12)


def test_threshold_marks_where_the_slope_is_below_0018():
    assert SATURATION_THRESHOLD == 4.0
    slope = sigmoid_local_gradient(np.array([-4.0, 4.0, 3.99, 0.0]))
    assert np.all(slope[:2] < 0.018) and slope[2] > slope[0]     # |z| > 4 is flatter still
    assert slope[3] == 0.25                                      # the peak, at z = 0
    assert sigmoid_local_gradient(4.0) < 0.25 / 14               # also for a plain number


def test_local_gradient_is_the_derivative_of_the_sigmoid(rng):
    z = rng.uniform(-8, 8, size=(5, 4))
    expected = numerical_gradient(lambda: sigmoid(z), z, np.ones_like(z))
    assert rel_error(sigmoid_local_gradient(z), expected) < GRAD_TOL


def test_saturation_stats_counts_strictly_beyond_the_threshold():
    z = np.array([0.0, 4.0, -4.0, 4.001, -5.0, 3.9])
    stats = saturation_stats(z)
    assert stats["fraction_saturated"] == 2 / 6                 # 4.001 and -5 only
    s = 1 / (1 + np.exp(-z))
    assert stats["mean_local_gradient"] == pytest.approx(np.mean(s * (1 - s)), rel=1e-12)


def test_saturation_stats_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        saturation_stats(np.array([]))
    with pytest.raises(TypeError, match="real numbers"):
        saturation_stats(np.array(["a"]))


def test_sigmoid_inputs_without_bn_is_the_affine_layer(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    z = sigmoid_inputs(x, W, scale=0.3, shift=1.5)
    np.testing.assert_allclose(z, x @ (0.3 * W) + 1.5, rtol=1e-12, atol=1e-12)


def test_bn_output_is_controlled_by_gamma_and_beta_only(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    for scale, shift in [(0.05, 0.0), (0.5, 3.0), (1.5, -7.0)]:
        z = sigmoid_inputs(x, W, scale, shift, gamma=2.5, beta=-1.0, use_bn=True)
        np.testing.assert_allclose(z.mean(axis=0), -1.0, atol=1e-12)
        # std = gamma * sqrt(var / (var + eps)); var >= 1e-2 here, so within 1e-3 of gamma
        np.testing.assert_allclose(z.std(axis=0), 2.5, rtol=1e-3)


def test_shift_moves_the_plain_layer_but_not_the_bn_layer(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    plain = [sigmoid_inputs(x, W, 0.3, shift) for shift in (0.0, 2.0)]
    np.testing.assert_allclose(plain[1] - plain[0], 2.0, atol=1e-12)
    with_bn = [sigmoid_inputs(x, W, 0.3, shift, use_bn=True) for shift in (0.0, 2.0)]
    np.testing.assert_allclose(with_bn[1], with_bn[0], atol=1e-9)   # BN subtracts the mean


def test_saturation_rises_with_weight_scale_without_bn_only(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    plain = [saturation_stats(sigmoid_inputs(x, W, s)) for s in scales()]
    with_bn = [saturation_stats(sigmoid_inputs(x, W, s, use_bn=True)) for s in scales()]
    fractions = [p["fraction_saturated"] for p in plain]
    assert np.all(np.diff(fractions) >= 0) and fractions[0] == 0 and fractions[-1] > 0.5
    assert np.all(np.diff([p["mean_local_gradient"] for p in plain]) < 0)
    # With BN, z = x_hat * sqrt(var / (var + eps)): the scale only enters through eps.
    bn_fractions = [b["fraction_saturated"] for b in with_bn]
    bn_slopes = [b["mean_local_gradient"] for b in with_bn]
    assert max(bn_fractions) < 0.01
    assert np.ptp(bn_fractions) <= 1 / x.shape[0] / W.shape[1]   # at most one value flips
    assert np.ptp(bn_slopes) < 1e-4


def test_large_gamma_saturates_on_purpose(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    z = sigmoid_inputs(x, W, 0.3, gamma=6.0, use_bn=True)
    # A unit Gaussian times 6 exceeds 4 in absolute value with probability 2 (1 - Phi(2/3))
    # = 0.505; 800 values, correlated within a row, so allow +-0.08 of sampling noise.
    assert saturation_stats(z)["fraction_saturated"] == pytest.approx(0.505, abs=0.08)


def test_per_unit_gamma_and_beta_can_undo_bn(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    plain = sigmoid_inputs(x, W, 0.7, 1.0)
    z = sigmoid_inputs(x, W, 0.7, 1.0, gamma=np.sqrt(plain.var(axis=0) + 1e-5),
                       beta=plain.mean(axis=0), use_bn=True)
    np.testing.assert_allclose(z, plain, rtol=1e-10, atol=1e-10)


def test_bad_settings_raise_clear_errors(gaussian_data):
    x, W = gaussian_data.x, gaussian_data.weights[0]
    with pytest.raises(ValueError, match="scale is a standard deviation"):
        sigmoid_inputs(x, W, -0.1)
    with pytest.raises(ValueError, match="shift must be finite"):
        sigmoid_inputs(x, W, 0.1, shift=np.nan)
    with pytest.raises(ValueError, match="gamma must be finite"):
        sigmoid_inputs(x, W, 0.1, gamma=np.inf, use_bn=True)
    with pytest.raises(ValueError, match="depth must lie in"):
        deep_signal(gaussian_data, SliderParams(depth=7), use_bn=False)
    with pytest.raises(ValueError, match="batch_size"):
        saturation_demo_data(x, batch_size=1)


def test_deep_signal_shapes(gaussian_data):
    result = deep_signal(gaussian_data, SliderParams(depth=4), use_bn=True)
    for key in ("fraction_saturated", "mean_local_gradient", "z_mean", "z_std", "grad_median",
                "grad_rms"):
        assert result[key].shape == (4,), key
    assert result["z_first"].shape == (40, 20)


@pytest.mark.parametrize("use_bn", [False, True])
def test_deep_backward_matches_central_differences(use_bn):
    # L = sum(probe * h_last); check dL/dx, which is computed from the returned dL/dz_1.
    rng = np.random.default_rng(11)
    data = saturation_demo_data(rng.standard_normal((20, 5)), batch_size=6, width=4,
                                max_depth=3, seed=2)
    params = SliderParams(scale=0.8, shift=0.3, gamma=1.5, beta=-0.2, depth=3)
    zs, caches = _deep_forward(data, params, use_bn)
    dz_first = _deep_backward(data.probe, caches)[0]             # (N, width)
    da = batchnorm_backward(dz_first, caches[0][1])[0] if use_bn else dz_first
    dx = da @ (params.scale * data.weights[0]).T                 # (N, D_in)
    last_h = lambda: _deep_forward(data, params, use_bn)[1][-1][2]
    assert rel_error(dx, numerical_gradient(last_h, data.x, data.probe)) < GRAD_TOL


def test_with_bn_every_layer_has_mean_beta_and_std_gamma(gaussian_data):
    # std = gamma * sqrt(var / (var + eps)). With weight scale 0.05 the deep layers' variance
    # is only ~5e-3, so eps = 1e-5 lowers the std by ~0.2%; from scale 0.3 on, by < 0.01%.
    for scale, rtol in ((0.05, 3e-3), (0.3, 1e-4), (1.5, 1e-4)):
        result = deep_signal(gaussian_data, SliderParams(scale=scale, gamma=1.7, beta=0.4),
                             use_bn=True)
        np.testing.assert_allclose(result["z_mean"], 0.4, atol=1e-12)
        np.testing.assert_allclose(result["z_std"], 1.7, rtol=rtol)


def test_bn_gradients_do_not_depend_on_the_weight_scale(gaussian_data):
    # BN(a W u) = BN(W u), and so is its backward (Ioffe & Szegedy 2015, Sec. 3.3).
    small, large = (deep_signal(gaussian_data, SliderParams(scale=s), use_bn=True)
                    for s in (0.1, 1.5))
    np.testing.assert_allclose(small["grad_rms"], large["grad_rms"], rtol=1e-3)


def test_gradients_vanish_without_bn_and_not_with_it(gaussian_data):
    for scale in (0.05, 1.5):    # small weights: slope <= 1/4 each layer; large: saturation
        params = SliderParams(scale=scale, depth=6)
        plain = deep_signal(gaussian_data, params, use_bn=False)["grad_median"]
        with_bn = deep_signal(gaussian_data, params, use_bn=True)["grad_median"]
        assert plain[0] < 0.05 * with_bn[0], scale       # layer 1 without BN gets far less
        assert with_bn[0] > 0.3 * with_bn[-1], scale      # with BN it stays the same order


def test_demo_data_is_reproducible_and_uses_mnist_by_default():
    a, b = saturation_demo_data(), saturation_demo_data()
    assert a.x.shape == (60, 784) and a.x.dtype == np.float64
    assert 0.0 <= a.x.min() and a.x.max() <= 1.0
    assert [w.shape for w in a.weights[:2]] == [(784, 100), (100, 100)]
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.probe, b.probe)
    for left, right in zip(a.weights, b.weights):
        np.testing.assert_array_equal(left, right)


def test_readout_text_format():
    text = readout_text(dict(fraction_saturated=0.631, mean_local_gradient=0.0523),
                        dict(fraction_saturated=0.004, mean_local_gradient=0.2012))
    assert text == ("without BN: 63.1% saturated, mean σ'(z) = 0.052 | "
                    "with BN: 0.4% saturated, mean σ'(z) = 0.201")
