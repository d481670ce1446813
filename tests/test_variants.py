"""Tests for bnlib/variants.py: frozen BN (checked against central differences) and
Santurkar et al.'s noisy BN."""
import numpy as np
import pytest

from bnlib import (MLP, SGD, BatchNorm1d, bn_statistics, FrozenBatchNorm1d, NoisyBatchNorm1d,
                   batchnorm_eval_forward, batchnorm_forward, freeze_batchnorm, frozen_batchnorm_backward,
                   frozen_batchnorm_forward, noisy_norm_layer, numerical_gradient, rel_error)
from helpers import assert_layer_gradients, assert_model_gradients, trained_mlp


def frozen_inputs(rng, n=5, d=4):
    """x (n, d), gamma, beta, running mean and variance (d,), all float64."""
    return (rng.standard_normal((n, d)) * 2 + 1, rng.standard_normal(d) + 1,
            rng.standard_normal(d), rng.standard_normal(d), rng.random(d) + 0.5)


def test_frozen_forward_equals_evaluation_mode(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    out, cache = frozen_batchnorm_forward(x, gamma, beta, mean, var)
    np.testing.assert_allclose(out, batchnorm_eval_forward(x, gamma, beta, mean, var),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(out, gamma * cache.x_hat + beta, rtol=1e-13, atol=1e-13)


def test_frozen_backward_matches_central_differences(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    dout = rng.standard_normal(x.shape)
    assert_layer_gradients(lambda: frozen_batchnorm_forward(x, gamma, beta, mean, var),
                           frozen_batchnorm_backward, dout, (x, gamma, beta))


def test_frozen_backward_errors(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    _, cache = frozen_batchnorm_forward(x, gamma, beta, mean, var)
    with pytest.raises(ValueError, match="dout must have shape"):
        frozen_batchnorm_backward(np.zeros((2, 4)), cache)
    with pytest.raises(RuntimeError, match="before forward"):
        frozen_batchnorm_backward(np.zeros((5, 4)), None)
    with pytest.raises(RuntimeError, match="before forward"):
        FrozenBatchNorm1d(4).backward(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="running_var"):
        frozen_batchnorm_forward(x, gamma, beta, mean, -var)


def test_frozen_mlp_gradients_match_central_differences(rng):
    model = freeze_batchnorm(trained_mlp(rng))
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    assert_model_gradients(model, x, y, names=("W1", "gamma1", "beta2", "W3"))


def test_frozen_statistics_stay_put_while_gamma_learns(rng):
    model = trained_mlp(rng)
    statistics = bn_statistics(model)
    freeze_batchnorm(model)
    gamma_before = model.bns[0].gamma.copy()
    optimizer = SGD(model.flat_params, model.flat_grads, lr=0.5)
    for _ in range(3):
        model.loss(rng.standard_normal((8, 6)), rng.integers(0, 3, 8))
        optimizer.step()
    for (mean, var), (saved_mean, saved_var) in zip(bn_statistics(model), statistics):
        np.testing.assert_array_equal(mean, saved_mean)
        np.testing.assert_array_equal(var, saved_var)
    assert model.bns[0].gamma is model.params["gamma1"]
    assert not np.allclose(model.bns[0].gamma, gamma_before)
    with pytest.raises(ValueError, match="no BN"):
        freeze_batchnorm(MLP((4, 3, 2)))


def test_eval_mode_is_plain_batch_norm(rng):
    x = rng.normal(3.0, 2.0, (8, 5))
    noisy, plain = NoisyBatchNorm1d(5, rng=np.random.default_rng(0)), BatchNorm1d(5)
    noisy.forward(x), plain.forward(x)               # one training step: same running statistics
    np.testing.assert_array_equal(noisy.running_mean, plain.running_mean)
    np.testing.assert_array_equal(noisy.running_var, plain.running_var)
    noisy.eval(), plain.eval()
    np.testing.assert_array_equal(noisy.forward(x), plain.forward(x))


def test_training_output_is_scaled_and_shifted_batch_norm(rng):
    x = rng.normal(size=(6, 3))
    layer = NoisyBatchNorm1d(3, rng=np.random.default_rng(1))
    out = layer.forward(x)
    scale, shift = layer.noise
    bn_out, _ = batchnorm_forward(x, layer.gamma, layer.beta, layer.eps)
    np.testing.assert_allclose(out, scale * bn_out + shift, rtol=1e-15, atol=1e-15)


def test_noise_follows_the_recipe():
    """Per step one (mu, sigma); per entry m ~ U(mu - 0.1, mu + 0.1), s ~ N(sigma, 0.1^2)."""
    layer = NoisyBatchNorm1d(100, rng=np.random.default_rng(2))
    for _ in range(20):
        scale, shift = layer.draw_noise((500, 100), np.float64)   # 50,000 entries per step
        centre = shift.mean()                                     # estimates mu to ~3e-4
        assert -0.5 - 1e-3 < centre < 0.5 + 1e-3
        assert shift.max() - shift.min() <= 0.2                   # all within mu +- 0.1
        assert np.all(np.abs(shift - centre) <= 0.1 + 1e-3)
        assert 1.0 - 1e-3 < scale.mean() < 1.25 + 1e-3            # sigma, to ~5e-4
        # std of 50,000 normal draws: 0.1 with a standard error of 3e-4; 0.003 is 10 of those
        assert abs(scale.std() - 0.1) < 3e-3


def test_noise_changes_every_step_unless_held(rng):
    x = rng.normal(size=(10, 4))
    layer = NoisyBatchNorm1d(4, rng=np.random.default_rng(3))
    first = layer.forward(x)
    second = layer.forward(x)
    assert not np.allclose(first, second)
    layer.hold_noise = True
    np.testing.assert_array_equal(layer.forward(x), second)


def test_noise_is_reproducible_from_the_seed(rng):
    x = rng.normal(size=(10, 4))
    a = NoisyBatchNorm1d(4, rng=np.random.default_rng(7)).forward(x)
    b = NoisyBatchNorm1d(4, rng=np.random.default_rng(7)).forward(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, (7, 5))
    layer = NoisyBatchNorm1d(5, rng=rng)
    layer.gamma[...] = rng.normal(1.0, 0.3, 5)
    layer.beta[...] = rng.normal(0.0, 0.3, 5)
    dout = rng.standard_normal((7, 5))
    layer.forward(x)
    layer.hold_noise = True                       # the noise is part of the function now
    dx = layer.backward(dout)
    dgamma, dbeta = layer.dgamma.copy(), layer.dbeta.copy()
    forward = lambda: layer.forward(x)
    # float64 central differences with h = 1e-5: about 1e-10 absolute error (bnlib.gradcheck),
    # so the relative error of an entry near 1e-4 says nothing about the formula (seed 2 has
    # one: 3e-4, relative error 1.3e-7). These seeds have no entry below 1e-3.
    assert min(np.abs(dx).min(), np.abs(dgamma).min(), np.abs(dbeta).min()) > 1e-3
    assert rel_error(dx, numerical_gradient(forward, x, dout)) <= 1e-7
    assert rel_error(dgamma, numerical_gradient(forward, layer.gamma, dout)) <= 1e-7
    assert rel_error(dbeta, numerical_gradient(forward, layer.beta, dout)) <= 1e-7


def test_mlp_with_noisy_bn_passes_a_gradient_check(rng):
    """The whole network, noise held fixed, against central differences (float64)."""
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64,
                norm_layer=noisy_norm_layer(np.random.default_rng(4), dtype=np.float64))
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    model.loss(x, y)
    for bn in model.bns:
        bn.hold_noise = True
    model.loss(x, y)
    analytic = {name: g.copy() for name, g in model.grads.items()}   # loss() overwrites grads
    for name, p in model.params.items():
        numeric = numerical_gradient(lambda: model.loss(x, y), p)
        assert rel_error(analytic[name], numeric) <= 1e-7, name


def test_mlp_trains_its_views_of_gamma_and_beta():
    """The MLP replaces gamma/beta by views into its flat parameters; the layer must use them."""
    model = MLP((6, 4, 3), use_bn=True, rng=np.random.default_rng(0),
                norm_layer=noisy_norm_layer(np.random.default_rng(1)))
    model.params["gamma1"][...] = 2.0
    assert np.shares_memory(model.bns[0].gamma, model.flat_params)
    assert np.all(model.bns[0].gamma == 2.0)


def test_holding_noise_of_another_shape_is_an_error(rng):
    layer = NoisyBatchNorm1d(3, rng=np.random.default_rng(0))
    layer.forward(rng.normal(size=(5, 3)))
    layer.hold_noise = True
    with pytest.raises(ValueError, match="held noise has shape"):
        layer.forward(rng.normal(size=(4, 3)))


def test_bad_construction_and_use_give_clear_errors(rng):
    with pytest.raises(TypeError, match="np.random.Generator"):
        NoisyBatchNorm1d(3, rng=0)
    with pytest.raises(ValueError, match="noise ranges"):
        NoisyBatchNorm1d(3, rng=np.random.default_rng(0), scale_range=(1.25, 1.0))
    with pytest.raises(ValueError, match="noise ranges"):
        NoisyBatchNorm1d(3, rng=np.random.default_rng(0), shift_jitter=-0.1)
    with pytest.raises(RuntimeError, match="training-mode forward"):
        NoisyBatchNorm1d(3, rng=np.random.default_rng(0)).backward(np.ones((4, 3)))
    layer = NoisyBatchNorm1d(3, rng=np.random.default_rng(0)).eval()
    layer.forward(rng.normal(size=(4, 3)))
    with pytest.raises(RuntimeError, match="training-mode forward"):
        layer.backward(np.ones((4, 3)))


def test_float32_layer_keeps_float32():
    layer = NoisyBatchNorm1d(3, rng=np.random.default_rng(0), dtype=np.float32)
    out = layer.forward(np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32))
    assert out.dtype == np.float32 and layer.noise[0].dtype == np.float32
