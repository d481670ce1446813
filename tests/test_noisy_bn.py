"""Tests for bnlib/noisy_bn.py: Santurkar et al.'s noisy BN and the input-shift measurements."""
import argparse
import json

import numpy as np
import pytest

import bnlib
from bnlib import BatchNorm1d, MLP, NoisyBatchNorm1d, numerical_gradient, rel_error
from bnlib.noisy_bn import (distribution_shift, make_network, noisy_bn_experiment,
                            noisy_norm_layer, noisy_table, run_noisy_comparison,
                            sigmoid_input_moments)
from bnlib.reproduce import Fig1Config


@pytest.fixture(scope="module")
def small_data():
    """A slice of MNIST: 600 training and 200 test images (enough for a few steps)."""
    x_train, y_train, x_test, y_test = bnlib.load_mnist()
    return x_train[:600], y_train[:600], x_test[:200], y_test[:200]


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
    bn_out, _ = bnlib.batchnorm_forward(x, layer.gamma, layer.beta, layer.eps)
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


def test_moments_match_the_pre_activations_and_leave_the_model_alone(rng):
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng)
    x = rng.normal(size=(20, 6)).astype(np.float32)
    model.eval()
    saved = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.bns]
    mean, std = sigmoid_input_moments(model, x, layer=2)
    assert not model.training                                    # mode restored
    for bn, (running_mean, running_var) in zip(model.bns, saved):
        np.testing.assert_array_equal(bn.running_mean, running_mean)
        np.testing.assert_array_equal(bn.running_var, running_var)
    model.train().forward(x)
    z = model.pre_activations[1].astype(np.float64)              # (20, 4)
    np.testing.assert_allclose(mean, z.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(std, z.std(axis=0), atol=1e-12)
    # with BN in training mode each unit's input has mean beta = 0 and std about gamma = 1
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std, 1.0, atol=1e-3)


def test_moments_reject_a_layer_that_does_not_exist(rng):
    model = MLP((6, 5, 3), rng=rng)
    with pytest.raises(ValueError, match="layer must lie in 1..1"):
        sigmoid_input_moments(model, rng.normal(size=(4, 6)), layer=2)


def test_distribution_shift_is_the_gaussian_wasserstein_distance():
    means = np.array([[0.0, 1.0], [3.0, 1.0], [3.0, 1.0]])       # (3 records, 2 units)
    stds = np.array([[1.0, 1.0], [1.0, 5.0], [1.0, 2.0]])
    # unit 0 moves 3 in its mean, then nothing; unit 1 moves 4 in its std, then 3
    np.testing.assert_allclose(distribution_shift(means, stds), [3.5, 1.5])
    assert distribution_shift(np.zeros((2, 3)), np.ones((2, 3))).tolist() == [0.0]
    np.testing.assert_allclose(distribution_shift([[0.0], [3.0]], [[1.0], [5.0]]), [5.0])


def test_distribution_shift_rejects_bad_shapes():
    with pytest.raises(ValueError, match="records >= 2"):
        distribution_shift(np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="records >= 2"):
        distribution_shift(np.zeros((3, 3)), np.zeros((3, 2)))


def test_make_network_rejects_unknown_names():
    with pytest.raises(ValueError, match="network must be one of"):
        make_network("dropout", Fig1Config(), np.random.default_rng(0), np.random.default_rng(1))


def test_comparison_runs_and_is_reproducible(small_data):
    config = Fig1Config(steps=20, eval_every=10, sizes=(784, 20, 20, 10))
    first = run_noisy_comparison(config, small_data, probe_size=60, progress=False)
    second = run_noisy_comparison(config, small_data, probe_size=60, progress=False)
    assert first["layer"] == 2 and set(first["runs"]) == {"plain", "bn", "noisy"}
    for name, run in first["runs"].items():
        assert run["step"] == [0, 10, 20]
        assert np.array(run["mean"]).shape == (3, 20) and len(run["shift"]) == 2
        assert run["test_acc"] == second["runs"][name]["test_acc"]
        assert run["shift"] == second["runs"][name]["shift"]
    # BN holds each unit's input at mean beta ~ 0 in training mode; the noise moves it
    bn, noisy = first["runs"]["bn"], first["runs"]["noisy"]
    assert np.max(np.abs(bn["mean"])) < 0.1
    assert np.mean(noisy["shift"]) > 3 * np.mean(bn["shift"])
    table = noisy_table(first)
    assert "noisy BN" in table and "median shift" in table and len(table.splitlines()) == 4


def test_the_three_networks_start_from_the_same_weights(small_data):
    config = Fig1Config(steps=0, eval_every=10, sizes=(784, 20, 10))
    init_seed, _, noise_seed = np.random.SeedSequence(config.seed).spawn(3)
    nets = [make_network(name, config, np.random.default_rng(init_seed),
                         np.random.default_rng(noise_seed)) for name in ("plain", "bn", "noisy")]
    for net in nets[1:]:
        np.testing.assert_array_equal(net.params["W1"], nets[0].params["W1"])


def test_experiment_writes_its_results(tmp_path, monkeypatch, small_data, capsys):
    monkeypatch.setattr("bnlib.noisy_bn.load_mnist", lambda: small_data)
    monkeypatch.setenv("BNLIB_PROGRESS", "0")
    args = argparse.Namespace(steps=10, seed=0, out=str(tmp_path))
    assert noisy_bn_experiment(args) == 0
    saved = json.loads((tmp_path / "noisy_bn.json").read_text())
    assert set(saved) == {"0.05", "0.5"}
    assert saved["0.05"]["runs"]["noisy"]["step"] == [0, 10]
    assert (tmp_path / "noisy_bn_std0.05.png").stat().st_size > 0
    assert (tmp_path / "noisy_bn_std0.5.png").stat().st_size > 0
    assert "noisy BN" in capsys.readouterr().out
