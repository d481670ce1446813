"""Tests for bnlib/model.py: MLP gradients (no BN, BN before or after the nonlinearity), SGD."""
import numpy as np
import pytest

from bnlib import (MLP, SGD, LayerNorm1d, batchnorm_eval_forward, batchnorm_forward,
                   layernorm_forward, relu_forward, sigmoid)
from bnlib.model import BN_POSITIONS
from helpers import assert_model_gradients



@pytest.mark.parametrize("use_bn", [False, True])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_mlp_gradients_match_central_differences(rng, use_bn, activation):
    model = MLP((5, 4, 3, 3), use_bn=use_bn, activation=activation, init_std=0.8, rng=rng,
                dtype=np.float64)
    for name, p in model.params.items():       # move gamma/beta away from their 1/0 start
        if name.startswith(("gamma", "beta", "b")):
            p += 0.3 * rng.standard_normal(p.shape)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    assert_model_gradients(model, x, y)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_bn_after_the_nonlinearity_gradients_match_central_differences(rng, activation):
    model = MLP((5, 4, 3, 3), use_bn=True, bn_position="after", activation=activation,
                init_std=0.8, rng=rng, dtype=np.float64)
    for name, p in model.params.items():       # move gamma, beta, b away from 1, 0, 0
        if name.startswith(("gamma", "beta", "b")):
            p += 0.3 * rng.standard_normal(p.shape)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    model.loss(x, y)
    if activation == "relu":   # a kink at 0, where central differences (steps of ~1e-5) fail
        assert min(np.abs(z).min() for z in model.pre_activations) > 1e-4
    assert {"b1", "gamma1", "b2", "beta2"} <= model.grads.keys()
    assert_model_gradients(model, x, y)


def test_bn_after_keeps_the_hidden_bias():
    model = MLP((4, 3, 3, 2), use_bn=True, bn_position="after")
    assert list(model.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2",
                                  "W3", "b3"]
    assert model.params["gamma2"] is model.bns[1].gamma


@pytest.mark.parametrize("activation, act", [("sigmoid", sigmoid),
                                             ("relu", lambda z: relu_forward(z)[0])])
def test_bn_after_computes_bn_of_the_nonlinearity_output(rng, activation, act):
    """Training and evaluation mode against the layers composed by hand, in float64."""
    model = MLP((5, 4, 3, 3), use_bn=True, bn_position="after", activation=activation,
                init_std=0.8, rng=rng, dtype=np.float64)
    p, x = model.params, rng.standard_normal((10, 5))
    for name in ("b1", "b2", "gamma1", "beta2"):
        p[name] += rng.standard_normal(p[name].shape)
    logits = model.forward(x)
    z1 = x @ p["W1"] + p["b1"]                                         # (N, 4)
    h1, _ = batchnorm_forward(act(z1), p["gamma1"], p["beta1"])
    z2 = h1 @ p["W2"] + p["b2"]                                        # (N, 3)
    h2, _ = batchnorm_forward(act(z2), p["gamma2"], p["beta2"])
    np.testing.assert_allclose(model.pre_activations[0], z1, rtol=1e-13)  # act's input
    np.testing.assert_allclose(model.pre_activations[1], z2, rtol=1e-12)
    np.testing.assert_allclose(logits, h2 @ p["W3"] + p["b3"], rtol=1e-12, atol=1e-14)
    bn1, bn2 = model.bns
    model.eval()
    h1 = batchnorm_eval_forward(act(z1), p["gamma1"], p["beta1"], bn1.running_mean,
                                bn1.running_var)
    h2 = batchnorm_eval_forward(act(h1 @ p["W2"] + p["b2"]), p["gamma2"], p["beta2"],
                                bn2.running_mean, bn2.running_var)
    np.testing.assert_allclose(model.forward(x), h2 @ p["W3"] + p["b3"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bn_position", BN_POSITIONS)
def test_norm_layer_works_at_both_positions(rng, bn_position):
    model = MLP((5, 4, 3), use_bn=True, bn_position=bn_position, init_std=0.8, rng=rng,
                dtype=np.float64, norm_layer=lambda d: LayerNorm1d(d, dtype=np.float64))
    p, x = model.params, rng.standard_normal((6, 5))
    p["gamma1"] += rng.standard_normal(4)
    logits = model.forward(x)
    if bn_position == "before":
        h1 = sigmoid(layernorm_forward(x @ p["W1"], p["gamma1"], p["beta1"])[0])
    else:
        h1 = layernorm_forward(sigmoid(x @ p["W1"] + p["b1"]), p["gamma1"], p["beta1"])[0]
    np.testing.assert_allclose(logits, h1 @ p["W2"] + p["b2"], rtol=1e-12, atol=1e-14)
    y = rng.integers(0, 3, 6)
    assert_model_gradients(model, x, y)


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
    with pytest.raises(ValueError, match="bn_position"):
        MLP((4, 3, 2), use_bn=True, bn_position="between")


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


@pytest.mark.parametrize("bn_position", BN_POSITIONS)
def test_reused_buffers_do_not_leak_between_passes(rng, bn_position):
    """Passes with other batch sizes in between leave a pass over the same data unchanged."""
    model = MLP((5, 4, 4, 3), use_bn=True, rng=rng, dtype=np.float64, bn_position=bn_position)
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
    assert_model_gradients(model, x, y)


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


def test_bn_after_matches_torch(rng):
    """Optional oracle (skipped without torch): Linear -> act -> BatchNorm1d per hidden layer.

    Both sides compute in float64; 1e-12 relative is exact semantics up to summation order
    (see tests/test_batchnorm_torch.py).
    """
    torch = pytest.importorskip("torch")
    ours = MLP((6, 5, 4, 3), use_bn=True, bn_position="after", activation="relu",
               init_std=0.5, rng=rng, dtype=np.float64)
    for name in ("b1", "b2", "b3"):
        ours.params[name] += rng.standard_normal(ours.params[name].shape)
    linears = []
    for k in (1, 2, 3):
        W, b = ours.params[f"W{k}"], ours.params[f"b{k}"]
        linear = torch.nn.Linear(*W.shape).double()
        linear.weight.data, linear.bias.data = torch.tensor(W.T.copy()), torch.tensor(b.copy())
        linears.append(linear)
    net = torch.nn.Sequential(linears[0], torch.nn.ReLU(), torch.nn.BatchNorm1d(5).double(),
                              linears[1], torch.nn.ReLU(), torch.nn.BatchNorm1d(4).double(),
                              linears[2])
    x, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    loss = torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    assert ours.loss(x, y) == pytest.approx(loss.item(), rel=1e-12)
    theirs = {"W1": linears[0].weight.grad.T, "b1": linears[0].bias.grad,
              "gamma1": net[2].weight.grad, "beta2": net[5].bias.grad,
              "W3": linears[2].weight.grad.T, "b2": linears[1].bias.grad}
    for name, grad in theirs.items():
        grad = grad.numpy()
        np.testing.assert_allclose(ours.grads[name], grad, rtol=1e-12,
                                   atol=1e-12 * np.abs(grad).max(), err_msg=name)
    np.testing.assert_allclose(ours.bns[1].running_var, net[5].running_var.numpy(), rtol=1e-12)


class SameDraws:
    """Stands in for a np.random.Generator whose `random` gives the same numbers at every call,
    so that dropout's masks stay fixed while central differences call the loss again and again."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape):
        return np.random.default_rng(self.seed).random(shape)


@pytest.mark.parametrize("use_bn, bn_position", [(False, "before"), (True, "before"),
                                                 (True, "after")])
def test_dropout_gradients_match_central_differences(rng, use_bn, bn_position):
    model = MLP((5, 4, 3, 3), use_bn=use_bn, bn_position=bn_position, init_std=0.8, rng=rng,
                dtype=np.float64, dropout=0.4, dropout_rng=SameDraws(3))
    for name, p in model.params.items():
        if name.startswith(("gamma", "beta", "b")):
            p += 0.3 * rng.standard_normal(p.shape)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    assert_model_gradients(model, x, y)


def test_dropout_acts_in_training_mode_only(rng):
    model = MLP((5, 4, 3), init_std=0.8, rng=rng, dtype=np.float64, dropout=0.5,
                dropout_rng=SameDraws(3))
    x = rng.standard_normal((6, 5))
    W1, b1, W2, b2 = (model.params[k] for k in ("W1", "b1", "W2", "b2"))
    mask = (SameDraws(3).random((6, 4)) >= 0.5) / 0.5          # (6, 4) what dropout draws
    np.testing.assert_allclose(model.forward(x), (sigmoid(x @ W1 + b1) * mask) @ W2 + b2)
    model.eval()
    np.testing.assert_allclose(model.forward(x), sigmoid(x @ W1 + b1) @ W2 + b2)
    with pytest.raises(ValueError, match="dropout"):
        MLP((5, 4, 3), dropout=1.0)
