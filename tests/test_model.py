"""Tests for bnlib/model.py: the MLP's gradients (with and without BN) and SGD."""
import numpy as np
import pytest

from bnlib import MLP, SGD, numerical_gradient, rel_error

GRAD_TOL = 1e-7  # float64 central differences: see tests/test_batchnorm.py


@pytest.mark.parametrize("use_bn", [False, True])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_mlp_gradients_match_central_differences(rng, use_bn, activation):
    model = MLP((5, 4, 3, 3), use_bn=use_bn, activation=activation, init_std=0.8, rng=rng,
                dtype=np.float64)
    for name, p in model.params.items():       # move gamma/beta away from their 1/0 start
        if name.startswith(("gamma", "beta", "b")):
            p += 0.3 * rng.standard_normal(p.shape)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    model.loss(x, y)
    analytic = {name: g.copy() for name, g in model.grads.items()}  # loss() overwrites grads
    for name, p in model.params.items():
        numeric = numerical_gradient(lambda: model.loss(x, y), p)
        assert rel_error(analytic[name], numeric) < GRAD_TOL, name


def test_bn_network_has_gamma_beta_and_no_hidden_bias():
    model = MLP((4, 3, 3, 2), use_bn=True)
    assert list(model.params) == ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"]
    assert model.params["gamma1"] is model.bns[0].gamma   # SGD updates the layer's own arrays


def test_predict_uses_eval_mode_and_restores_training(rng):
    model = MLP((4, 3, 2), use_bn=True, rng=rng, dtype=np.float64)
    model.loss(rng.standard_normal((6, 4)), rng.integers(0, 2, 6))
    running = model.bns[0].running_mean.copy()
    labels = model.predict(rng.standard_normal((1, 4)))      # a batch of one works in eval
    assert labels.shape == (1,) and model.training
    np.testing.assert_array_equal(model.bns[0].running_mean, running)


def test_sgd_momentum_matches_the_torch_formula():
    p, g = {"w": np.array([1.0])}, {"w": np.array([0.5])}
    opt = SGD(p, g, lr=0.1, momentum=0.9)
    opt.step()                      # v = 0.5,            p = 1 - 0.05
    opt.step()                      # v = 0.9*0.5 + 0.5,  p -= 0.1 * 0.95
    np.testing.assert_allclose(p["w"], [1.0 - 0.05 - 0.095])


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": float("nan")}, {"lr": 0.1, "momentum": 1.0}])
def test_sgd_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        SGD({}, {}, **kwargs)


def test_mlp_rejects_bad_settings():
    with pytest.raises(ValueError, match="activation"):
        MLP((4, 2), activation="tanhh")
    with pytest.raises(ValueError, match="sizes"):
        MLP((4,))
