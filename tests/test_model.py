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


def test_params_and_grads_are_views_of_one_flat_array(rng):
    model = MLP((5, 4, 3), use_bn=True, rng=rng)
    sizes = [p.size for p in model.params.values()]
    assert sum(sizes) == model.flat_params.size == model.flat_grads.size
    for name, p in model.params.items():
        assert np.shares_memory(p, model.flat_params) and np.shares_memory(model.grads[name], model.flat_grads)
    model.flat_params[:] = 2.0                 # the BN layer works on the same gamma array
    assert np.all(model.bns[0].gamma == 2.0)


def test_sgd_on_the_flat_arrays_equals_sgd_on_the_dicts(rng):
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    models = [MLP((5, 4, 3), use_bn=True, rng=np.random.default_rng(7), dtype=np.float64)
              for _ in range(2)]
    flat = SGD(models[0].flat_params, models[0].flat_grads, lr=0.3, momentum=0.5)
    per_name = SGD(models[1].params, models[1].grads, lr=0.3, momentum=0.5)
    for _ in range(3):
        for model, opt in zip(models, (flat, per_name)):
            model.loss(x, y)
            opt.step()
    for name in models[0].params:
        np.testing.assert_allclose(models[0].params[name], models[1].params[name], rtol=1e-14)


def test_reused_buffers_do_not_leak_between_passes(rng):
    """Passes with other batch sizes in between leave a pass over the same data unchanged."""
    model = MLP((5, 4, 4, 3), use_bn=True, rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    logits = model.forward(x)
    loss = model.loss(x, y)
    grads = {name: g.copy() for name, g in model.grads.items()}
    model.loss(rng.standard_normal((6, 5)), rng.integers(0, 3, 6))   # another batch size
    model.predict(rng.standard_normal((11, 5)))
    again = model.forward(x)
    assert again is not logits                         # forward returns a new array each time
    np.testing.assert_array_equal(again, logits)
    assert model.loss(x, y) == loss
    for name, g in model.grads.items():
        np.testing.assert_array_equal(g, grads[name])


def test_network_without_hidden_layer_has_exact_gradients(rng):
    model = MLP((5, 3), rng=rng, init_std=0.5, dtype=np.float64)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    model.loss(x, y)
    analytic = {name: g.copy() for name, g in model.grads.items()}
    for name, p in model.params.items():
        assert rel_error(analytic[name], numerical_gradient(lambda: model.loss(x, y), p)) < GRAD_TOL


def test_mlp_rejects_bad_input_and_a_backward_before_forward(rng):
    model = MLP((5, 4, 3), rng=rng)
    with pytest.raises(ValueError, match="5 columns"):
        model.forward(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="dtype"):
        MLP((5, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="same names"):
        SGD({"w": np.zeros(2)}, {"v": np.zeros(2)}, lr=0.1)
