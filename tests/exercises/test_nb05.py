"""Tests for bnlib/exercises/nb05.py, the checks of notebook 05 (your own training loop): right
answers pass, the usual wrong ones fail with their explanation, and no exercise can be passed
by calling bnlib's own network, step or optimizer."""
from pathlib import Path

import numpy as np
import pytest

from bnlib import (MLP, affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                   numerical_gradient, rel_error, sigmoid_backward, sigmoid_forward,
                   softmax_cross_entropy)
from bnlib.exercises import LibraryCallError, nb05
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_training_loop.ipynb"


# ---- right answers, written as a learner would ---------------------------------------------

def forward(params, x, y):
    n_layers = sum(name.startswith("W") for name in params)
    cache, h = {"hidden": []}, x
    for k in range(1, n_layers):
        a, affine_cache = affine_forward(h, params[f"W{k}"])
        z, bn_cache = batchnorm_forward(a, params[f"gamma{k}"], params[f"beta{k}"])
        h, sigmoid_cache = sigmoid_forward(z)
        cache["hidden"].append((affine_cache, bn_cache, sigmoid_cache))
    logits, cache["output"] = affine_forward(h, params[f"W{n_layers}"], params[f"b{n_layers}"])
    loss, cache["dlogits"] = softmax_cross_entropy(logits, y)
    cache["logits"] = logits
    return loss, cache


def backward(params, cache):
    last, grads = len(cache["hidden"]) + 1, {}
    dh, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(cache["dlogits"], cache["output"])
    for k in range(last - 1, 0, -1):
        affine_cache, bn_cache, sigmoid_cache = cache["hidden"][k - 1]
        dz = sigmoid_backward(dh, sigmoid_cache)
        da, grads[f"gamma{k}"], grads[f"beta{k}"] = batchnorm_backward(dz, bn_cache)
        dh, grads[f"W{k}"], _ = affine_backward(da, affine_cache)
    return grads


def gradient_check(forward, backward, params, x, y):
    _, cache = forward(params, x, y)
    analytic = backward(params, cache)
    return {name: rel_error(analytic[name],
                            numerical_gradient(lambda: forward(params, x, y)[0], params[name]),
                            floor=1e-3)
            for name in params}


def train_step(params, x, y, lr, forward, backward):
    loss, cache = forward(params, x, y)
    grads = backward(params, cache)
    for name in params:
        params[name] -= lr * grads[name]
    return loss


def test_the_reference_network_is_bnlibs_mlp():
    for seed, sizes in enumerate(nb05.SIZES):
        params, x, y = nb05.problem(sizes, seed=seed)
        model = nb05.mlp_with(params)
        loss, cache = nb05.reference_forward(params, x, y)
        assert np.isclose(loss, model.loss(x, y), rtol=1e-12)
        grads = nb05.reference_backward(params, cache)
        for name in model.grads:
            np.testing.assert_allclose(grads[name], model.grads[name], rtol=1e-10, atol=1e-14)


def test_right_answers_pass(capsys):
    nb05.check_forward(forward)
    nb05.check_backward(backward)
    nb05.check_gradient_check(gradient_check)
    nb05.check_train_step(train_step)
    assert capsys.readouterr().out.count("✓") == 4


def test_a_forward_without_bn_or_gamma_is_named():
    def no_bn(params, x, y):
        n_layers = sum(name.startswith("W") for name in params)
        cache, h = {"hidden": []}, x
        for k in range(1, n_layers):
            a, affine_cache = affine_forward(h, params[f"W{k}"])
            h, sigmoid_cache = sigmoid_forward(a)
            cache["hidden"].append((affine_cache, None, sigmoid_cache))
        logits, cache["output"] = affine_forward(h, params[f"W{n_layers}"], params[f"b{n_layers}"])
        loss, cache["dlogits"] = softmax_cross_entropy(logits, y)
        cache["logits"] = logits
        return loss, cache

    with pytest.raises(AssertionError, match="network without BN"):
        nb05.check_forward(no_bn)

    def no_gamma(params, x, y):
        ones = {k: np.ones_like(v) if k.startswith("gamma") else
                np.zeros_like(v) if k.startswith("beta") else v for k, v in params.items()}
        return forward(ones, x, y)

    with pytest.raises(AssertionError, match="BN without gamma and beta"):
        nb05.check_forward(no_gamma)


def test_a_forward_with_a_hidden_bias_or_a_summed_loss_is_explained():
    def with_bias(params, x, y):
        params["b1"]
        return forward(params, x, y)

    with pytest.raises(AssertionError, match="has no bias: BN subtracts the batch mean"):
        nb05.check_forward(with_bias)

    def summed(params, x, y):
        loss, cache = forward(params, x, y)
        return loss * len(y), cache

    with pytest.raises(AssertionError, match="summed over the batch"):
        nb05.check_forward(summed)

    def no_cache(params, x, y):
        return forward(params, x, y)[0]

    with pytest.raises(AssertionError, match=r"return two things, \(loss, cache\)"):
        nb05.check_forward(no_cache)


def test_a_backward_that_forgets_bns_backward_is_named():
    def skip_bn(params, cache):
        last, grads = len(cache["hidden"]) + 1, {}
        dh, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(cache["dlogits"],
                                                                   cache["output"])
        for k in range(last - 1, 0, -1):
            affine_cache, bn_cache, sigmoid_cache = cache["hidden"][k - 1]
            dz = sigmoid_backward(dh, sigmoid_cache)
            _, grads[f"gamma{k}"], grads[f"beta{k}"] = batchnorm_backward(dz, bn_cache)
            dh, grads[f"W{k}"], _ = affine_backward(dz, affine_cache)   # BN's dx forgotten
        return grads

    with pytest.raises(AssertionError, match=r"gradient of W2.*straight to the affine layer"):
        nb05.check_backward(skip_bn)


def test_a_dgamma_not_summed_over_the_batch_is_explained():
    def per_example(params, cache):
        grads = backward(params, cache)
        for k in range(1, len(cache["hidden"]) + 1):
            _, bn_cache, _ = cache["hidden"][k - 1]
            grads[f"gamma{k}"] = np.broadcast_to(grads[f"gamma{k}"] / len(bn_cache.x),
                                                 bn_cache.x.shape)   # per example, not summed
        return grads

    with pytest.raises(AssertionError, match="sum over the batch"):
        nb05.check_backward(per_example)


def test_other_backward_mistakes_are_named():
    def divided(params, cache):
        return {k: v / len(cache["dlogits"]) for k, v in backward(params, cache).items()}

    with pytest.raises(AssertionError, match="do not divide by N again"):
        nb05.check_backward(divided)

    def swapped(params, cache):
        grads = backward(params, cache)
        grads["gamma1"], grads["beta1"] = grads["beta1"], grads["gamma1"]
        return grads

    with pytest.raises(AssertionError, match="look swapped"):
        nb05.check_backward(swapped)

    def with_bias(params, cache):
        return {**backward(params, cache), "b1": np.zeros(5)}

    with pytest.raises(AssertionError, match="no bias in this network"):
        nb05.check_backward(with_bias)

    def wrong_somewhere(params, cache):
        grads = backward(params, cache)
        grads["W1"] = grads["W1"] * 1.01
        return grads

    with pytest.raises(AssertionError, match="gamma1 are right and W1 is not"):
        nb05.check_backward(wrong_somewhere)


def test_a_sigmoid_backward_given_z_and_an_unbiased_variance_are_named():
    def sigmoid_of_z(params, cache):
        hidden = [(a, bn, bn.x_hat * params[f"gamma{k}"] + params[f"beta{k}"])
                  for k, (a, bn, _) in enumerate(cache["hidden"], start=1)]
        return backward(params, {**cache, "hidden": hidden})

    with pytest.raises(AssertionError, match="needs the sigmoid's output s"):
        nb05.check_backward(sigmoid_of_z)

    def unbiased(params, x, y):
        n = len(x)
        loss, cache = forward(params, x, y)
        # the same network with the batch variance divided by N - 1
        h = x
        for k in range(1, len(cache["hidden"]) + 1):
            a = h @ params[f"W{k}"]
            z = params[f"gamma{k}"] * (a - a.mean(0)) / np.sqrt(a.var(0) * n / (n - 1) + 1e-5)
            h = 1 / (1 + np.exp(-(z + params[f"beta{k}"])))
        last = len(cache["hidden"]) + 1
        cache["logits"] = h @ params[f"W{last}"] + params[f"b{last}"]
        return loss, cache

    with pytest.raises(AssertionError, match="divides the variance by N - 1"):
        nb05.check_forward(unbiased)


def test_a_step_that_updates_before_all_gradients_are_computed_is_named():
    def sequential(params, x, y, lr, forward, backward):
        loss = forward(params, x, y)[0]
        for name in params:
            grads = backward(params, forward(params, x, y)[1])
            params[name] -= lr * grads[name]
        return loss

    with pytest.raises(AssertionError, match="updated before the gradients of the others"):
        nb05.check_train_step(sequential)


def test_other_step_mistakes_are_named():
    def uphill(params, x, y, lr, forward, backward):
        return train_step(params, x, y, -lr, forward, backward)

    with pytest.raises(AssertionError, match="moved uphill"):
        nb05.check_train_step(uphill)

    def loss_after(params, x, y, lr, forward, backward):
        train_step(params, x, y, lr, forward, backward)
        return forward(params, x, y)[0]

    with pytest.raises(AssertionError, match="loss after the update"):
        nb05.check_train_step(loss_after)

    def copies(params, x, y, lr, forward, backward):
        loss, cache = forward(params, x, y)
        grads = backward(params, cache)
        return loss, {name: params[name] - lr * grads[name] for name in params}

    with pytest.raises(AssertionError, match="params are unchanged"):
        nb05.check_train_step(copies)


def test_gradient_checks_that_miss_or_misjudge_are_explained():
    def default_floor(forward, backward, params, x, y):
        _, cache = forward(params, x, y)
        analytic = backward(params, cache)
        return {name: rel_error(analytic[name],
                                numerical_gradient(lambda: forward(params, x, y)[0], params[name]))
                for name in params}

    with pytest.raises(AssertionError, match="floor=1e-3"):
        nb05.check_gradient_check(default_floor)

    def weights_only(forward, backward, params, x, y):
        errors = gradient_check(forward, backward, params, x, y)
        return {name: (error if name.startswith("W") else 0.0) for name, error in errors.items()}

    with pytest.raises(AssertionError, match=r"gradient of (gamma|beta)1 is wrong"):
        nb05.check_gradient_check(weights_only)

    def not_a_dict(forward, backward, params, x, y):
        return max(gradient_check(forward, backward, params, x, y).values())

    with pytest.raises(AssertionError, match="one relative error per parameter"):
        nb05.check_gradient_check(not_a_dict)


def test_a_gradient_check_that_forgets_to_restore_the_parameters_is_caught():
    def no_restore(forward, backward, params, x, y):
        errors = gradient_check(forward, backward, params, x, y)
        params["W1"][0, 0] += 1e-5
        return errors

    with pytest.raises(AssertionError, match="put every entry back"):
        nb05.check_gradient_check(no_restore)


def test_calling_bnlibs_network_or_step_is_refused():
    def via_mlp(params, x, y):
        model = MLP(nb05.sizes_of(params), use_bn=True, dtype=np.float64)
        return model.loss(x, y), {}

    with pytest.raises(LibraryCallError, match="calls bnlib's MLP"):
        nb05.check_forward(via_mlp)


def test_calling_the_checks_own_reference_is_refused():
    with pytest.raises(LibraryCallError, match="check's own reference_forward"):
        nb05.check_forward(lambda params, x, y: nb05.reference_forward(params, x, y))
    with pytest.raises(LibraryCallError, match="check's own reference_backward"):
        nb05.check_backward(lambda params, cache: nb05.reference_backward(params, cache))


# Each gamed solution replaces the solution region (inside the function) and gets its answer
# from bnlib's own network, optimizer or training step.
MLP_WITH_PARAMS = """\
n_layers = sum(name.startswith("W") for name in params)
sizes = [params["W1"].shape[0]] + [params[f"W{k}"].shape[1] for k in range(1, n_layers + 1)]
model = bnlib.MLP(sizes, use_bn=True, dtype=np.float64)
for name in params:
    model.params[name][...] = params[name]"""
GAMED = {
    "Exercise 1: the forward pass": MLP_WITH_PARAMS + """
loss, cache["logits"] = model.loss(x, y), model.forward(x)""",
    "Exercise 2: the backward pass": MLP_WITH_PARAMS + """
model.loss(cache["hidden"][0][0][0], cache["dlogits"].argmin(axis=1))
grads = {name: grad.copy() for name, grad in model.grads.items()}""",
    "Exercise 3: the whole-network gradient check": MLP_WITH_PARAMS + """
model.loss(x, y)
analytic = backward(params, forward(params, x, y)[1])
return {name: bnlib.rel_error(analytic[name], model.grads[name]) for name in params}""",
    "Exercise 4: one step of SGD": MLP_WITH_PARAMS + """
loss = bnlib.train_step(model, bnlib.SGD(model.params, model.grads, lr), x, y, step=1)
for name in params:
    params[name][...] = model.params[name]
return loss""",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)
