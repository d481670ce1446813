"""Checks of notebook 05's exercises: a training loop for the network with BN, written by you.

The network is bnlib.MLP(sizes, use_bn=True): BN before every hidden sigmoid and no hidden bias
(BN subtracts the batch mean, beta takes the bias's role), an affine output layer, softmax
cross-entropy. Its parameters have the MLP's names:
    W1, gamma1, beta1, ..., W{L-1}, gamma{L-1}, beta{L-1}, W{L}, b{L}    (L layers of weights)
The forward pass hands the backward pass a cache, a dict laid out as the notebook states:
    cache["hidden"]   one (affine_cache, bn_cache, sigmoid_cache) per hidden layer, first first,
                      as affine_forward, batchnorm_forward and sigmoid_forward return them;
    cache["output"]   the output layer's affine cache;
    cache["logits"]   (N, classes), and cache["dlogits"] (N, classes): softmax_cross_entropy's
                      gradient of the mean loss with respect to the logits.

Every check builds small float64 networks of its own (fixed seeds), calls the learner's function
through `run_learner` with only bnlib's layers allowed (and numerical_gradient, rel_error for
the gradient check), and compares with bnlib.MLP and bnlib.SGD. When a value is off, the check
compares it with what the common mistakes give and names the mistake it recognises.
"""
import contextlib
import io
import numbers
import sys

import numpy as np

from ..batchnorm import BatchNorm1d, batchnorm_backward, batchnorm_forward
from ..gradcheck import numerical_gradient, rel_error
from ..layers import (affine_backward, affine_forward, sigmoid, sigmoid_backward,
                      sigmoid_forward, softmax_cross_entropy)
from ..model import MLP, SGD
from . import LibraryCallError, check_close, run_learner
from .mistakes import recognise

LAYERS = (affine_forward, affine_backward, batchnorm_forward, batchnorm_backward, BatchNorm1d,
          sigmoid, sigmoid_forward, sigmoid_backward, softmax_cross_entropy)
GRADCHECK = (numerical_gradient, rel_error)
GRAD_TOL = 1e-7       # the course's bar for float64 gradient checks (notebook 01)
GRAD_FLOOR = 1e-3     # entries below it are judged by absolute error: 1e-7 * 1e-3 = 1e-10
RTOL = 1e-9           # float64 results of the same operations in another order
SIZES = ((6, 5, 4, 3), (7, 6, 5, 4, 3))   # two and three hidden layers
BATCH = 8


# ---- the check's own problems and the reference network -------------------------------------

def problem(sizes, n=BATCH, seed=0):
    """A float64 network and batch: (params, x (n, sizes[0]), y (n,)).

    Weights N(0, 1), gamma near 1, beta and the output bias random, so that a forgotten gamma,
    beta or bias changes the result.
    """
    rng = np.random.default_rng(seed)
    params, last = {}, len(sizes) - 1
    for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{k}"] = rng.standard_normal((d_in, d_out))
        if k < last:
            params[f"gamma{k}"] = 1.0 + 0.5 * rng.standard_normal(d_out)
            params[f"beta{k}"] = 0.5 * rng.standard_normal(d_out)
        else:
            params[f"b{k}"] = 0.5 * rng.standard_normal(d_out)
    return params, rng.standard_normal((n, sizes[0])), rng.integers(0, sizes[-1], n)


_HERE = problem.__code__.co_filename      # this file: its functions are the check's own


def sizes_of(params):
    """The layer widths (D_in, ..., classes) of a params dict."""
    n_layers = sum(name.startswith("W") for name in params)
    return tuple([params["W1"].shape[0]] + [params[f"W{k}"].shape[1]
                                            for k in range(1, n_layers + 1)])


def mlp_with(params):
    """A float64 bnlib.MLP with BN whose parameters are copies of `params`."""
    model = MLP(sizes_of(params), use_bn=True, dtype=np.float64)
    assert sorted(model.params) == sorted(params), "params must have the MLP's names"
    for name, value in params.items():
        model.params[name][...] = value
    return model


def reference_forward(params, x, y):
    """The network's forward pass with bnlib's layers, in the notebook's cache layout."""
    n_layers = sum(name.startswith("W") for name in params)
    cache, h = {"hidden": []}, x
    for k in range(1, n_layers):
        a, affine_cache = affine_forward(h, params[f"W{k}"])                          # (N, D_k)
        z, bn_cache = batchnorm_forward(a, params[f"gamma{k}"], params[f"beta{k}"])   # (N, D_k)
        h, sigmoid_cache = sigmoid_forward(z)                                        # (N, D_k)
        cache["hidden"].append((affine_cache, bn_cache, sigmoid_cache))
    cache["logits"], cache["output"] = affine_forward(h, params[f"W{n_layers}"],
                                                      params[f"b{n_layers}"])
    loss, cache["dlogits"] = softmax_cross_entropy(cache["logits"], y)
    return loss, cache


def reference_backward(params, cache, mistake=None):
    """The gradients of every parameter from `reference_forward`'s cache.

    mistake: None, or one of the learners' usual mistakes, to recognise them:
    "skip_bn" (the gradient goes from the sigmoid straight to the affine layer),
    "swap_gamma_beta", "divide_by_n" (an extra 1/N on top of softmax_cross_entropy's),
    "sigmoid_of_z" (sigmoid_backward given the sigmoid's input instead of its output).
    """
    last, grads = len(cache["hidden"]) + 1, {}
    dlogits = cache["dlogits"] / (len(cache["dlogits"]) if mistake == "divide_by_n" else 1)
    dh, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dlogits, cache["output"])
    for k in range(last - 1, 0, -1):
        affine_cache, bn_cache, s = cache["hidden"][k - 1]
        if mistake == "sigmoid_of_z":                      # the sigmoid's input, not its output
            s = bn_cache.x_hat * params[f"gamma{k}"] + params[f"beta{k}"]
        dz = sigmoid_backward(dh, s)
        da, dgamma, dbeta = batchnorm_backward(dz, bn_cache)
        grads[f"gamma{k}"], grads[f"beta{k}"] = ((dbeta, dgamma) if mistake == "swap_gamma_beta"
                                                 else (dgamma, dbeta))
        dh, grads[f"W{k}"], _ = affine_backward(dz if mistake == "skip_bn" else da, affine_cache)
    return grads


def _variant_logits(params, x, mistake):
    """The logits a forward pass with one of the usual mistakes gives (numpy only)."""
    n_layers = sum(name.startswith("W") for name in params)
    h = x
    for k in range(1, n_layers):
        a = h @ params[f"W{k}"]
        gamma, beta = params[f"gamma{k}"], params[f"beta{k}"]
        if mistake == "bn_after":
            h = _bn(sigmoid(a), gamma, beta)
            continue
        z = {"no_bn": a, "no_gamma_beta": _bn(a, 1.0, 0.0),
             "unbiased": _bn(a, gamma, beta, ddof=1),
             "no_eps": _bn(a, gamma, beta, eps=0.0)}.get(mistake, _bn(a, gamma, beta))
        h = z if mistake == "no_sigmoid" else sigmoid(z)
    return h @ params[f"W{n_layers}"] + params[f"b{n_layers}"]


def _bn(a, gamma, beta, ddof=0, eps=1e-5):
    """Training-mode batch norm of a (N, D), in plain numpy (for the mistakes above)."""
    return gamma * (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0, ddof=ddof) + eps) + beta


FORWARD_MISTAKES = {
    "no_bn": "your logits are those of the network without BN: normalise every hidden "
             "affine output with batchnorm_forward before its sigmoid",
    "no_gamma_beta": "your logits are those of BN without gamma and beta: after normalising, "
                     "scale by params['gamma{k}'] and shift by params['beta{k}']",
    "unbiased": "your BN divides the variance by N - 1: in training mode BN uses the biased "
                "variance, dividing by N (Algorithm 1)",
    "no_eps": "your BN leaves out eps: x_hat = (a - mean) / sqrt(var + eps), with eps = 1e-5",
    "bn_after": "your BN sits after the sigmoid: in this network (and the paper's) it comes "
                "between the affine layer and the sigmoid",
    "no_sigmoid": "your hidden layers have no sigmoid: h = sigmoid(BN(h_prev @ W))",
}
BACKWARD_MISTAKES = {
    "skip_bn": "it looks as if the gradient went from the sigmoid straight to the affine layer: "
               "pass it through BN's backward (batchnorm_backward) first",
    "swap_gamma_beta": "dgamma and dbeta look swapped: batchnorm_backward returns (dx, dgamma, "
                       "dbeta) in that order",
    "divide_by_n": "every gradient is 1/N of what it should be: cache['dlogits'] already holds "
                   "the gradient of the *mean* loss, do not divide by N again",
    "sigmoid_of_z": "sigmoid_backward needs the sigmoid's output s (the cache sigmoid_forward "
                    "returns), not its input z",
}


def _quiet_close(name, got, expected, hint, rtol=RTOL, atol=1e-12):
    """check_close without its printed line (the check prints one summary)."""
    with contextlib.redirect_stdout(io.StringIO()):
        check_close(name, got, expected, rtol=rtol, atol=atol, hint=hint)


def _recognise(got, candidates, default):
    """mistakes.recognise at this notebook's matching tolerance (whole networks: rtol 1e-7)."""
    return recognise(got, candidates, default, rtol=1e-7)


def _copies(params):
    return {name: value.copy() for name, value in params.items()}


def _assert_unchanged(params, before, task, what):
    for name in before:
        if not np.array_equal(params[name], before[name]):
            raise AssertionError(f"{task}: your {what} changed params['{name}']; it must only "
                                 "read the parameters")


def _run(function, *args, allowed, task, passed_in=()):
    """`run_learner`, also refusing calls from the learner's code into this module.

    This module holds the check's own forward and backward (the answers of exercises 1 and 2),
    so a solution must not call them, nor any other function of this file, except those it
    is handed as arguments (`passed_in`, the forward and backward of exercises 3 and 4).
    """
    passed, refused = {f.__code__ for f in passed_in}, []

    def guarded(*arguments):
        outer = sys.getprofile()                 # run_learner's watcher: keep it running

        def watch(frame, event, arg):
            if event == "call" and frame.f_code.co_filename == _HERE \
                    and frame.f_code not in passed and frame.f_back is not None \
                    and frame.f_back.f_code.co_filename != _HERE:
                refused.append(frame.f_code.co_qualname)
            if outer is not None:
                outer(frame, event, arg)

        sys.setprofile(watch)
        try:
            return function(*arguments)
        finally:
            sys.setprofile(outer)

    result = run_learner(guarded, *args, allowed=allowed, task=task)
    if refused:
        raise LibraryCallError(f"your solution calls the check's own {refused[0]}: {task} asks "
                               "you to write it yourself (the check compares against it, so "
                               "calling it proves nothing)")
    return result


# ---- Exercise 1: the forward pass -----------------------------------------------------------

def _call_forward(forward, params, x, y):
    """Run the learner's forward; explain a missing parameter or a wrong return value."""
    try:
        result = _run(forward, params, x, y, allowed=LAYERS, task="Exercise 1")
    except KeyError as error:
        missing = error.args[0] if error.args else "?"
        why = (" A hidden layer followed by BN has no bias: BN subtracts the batch mean, so a "
               "bias would cancel, and beta takes its role." if str(missing).startswith("b")
               else "")
        raise AssertionError(f"Exercise 1: your forward looked up params[{missing!r}], which "
                             f"this network does not have.{why}") from None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("Exercise 1: forward must return two things, (loss, cache); got "
                             f"{type(result).__name__}")
    loss, cache = result
    if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
        raise AssertionError(f"Exercise 1: the loss must be one number (a float), got {loss!r}")
    if not isinstance(cache, dict) or not {"hidden", "output", "logits", "dlogits"} <= set(cache):
        keys = sorted(cache) if isinstance(cache, dict) else type(cache).__name__
        raise AssertionError("Exercise 1: the cache must be a dict with the keys 'hidden', "
                             f"'output', 'logits' and 'dlogits'; got {keys}")
    return float(loss), cache


def check_forward(forward):
    """Exercise 1: `forward(params, x, y)` returns (loss, cache) as bnlib.MLP computes them.

    Checked on networks with two and three hidden layers: the logits and the loss against
    bnlib.MLP, and the cache by running the reference backward on it.
    """
    for seed, sizes in enumerate(SIZES):
        params, x, y = problem(sizes, seed=seed)
        before = _copies(params)
        loss, cache = _call_forward(forward, params, x, y)
        _assert_unchanged(params, before, "Exercise 1", "forward")
        model = mlp_with(params)
        logits = model.forward(x)
        expected_loss = model.loss(x, y)
        mistakes = [(_variant_logits(params, x, m), why) for m, why in FORWARD_MISTAKES.items()]
        _quiet_close("cache['logits']", cache["logits"], logits,
                     _recognise(cache["logits"], mistakes, "go through the layers in order: "
                                "affine (no bias) -> BN -> sigmoid, then the output layer "
                                "with its bias b"))
        wrong_sum = float(softmax_cross_entropy(logits, y)[0]) * len(y)
        _quiet_close("the loss", loss, expected_loss, _recognise(
            loss, [(wrong_sum, "you summed over the batch: the loss is the mean")],
            "softmax_cross_entropy(logits, y) returns (loss, dlogits)"))
        _check_cache(params, cache, model, len(sizes) - 2)
    print("✓ forward: loss, logits and cache agree with bnlib.MLP on two networks")


def _check_cache(params, cache, model, n_hidden):
    """The learner's cache must let the reference backward find the MLP's gradients."""
    hidden = cache["hidden"]
    if not isinstance(hidden, (list, tuple)) or len(hidden) != n_hidden \
            or any(not isinstance(item, tuple) or len(item) != 3 for item in hidden):
        raise AssertionError(f"Exercise 1: cache['hidden'] must be a list with one tuple "
                             f"(affine_cache, bn_cache, sigmoid_cache) per hidden layer "
                             f"({n_hidden} here), first layer first")
    try:
        grads = reference_backward(params, cache)
    except Exception as error:   # a cache of the wrong kind: say which part
        raise AssertionError("Exercise 1: backward cannot use your cache (" + str(error)[:120] +
                             "): store exactly what affine_forward, batchnorm_forward and "
                             "sigmoid_forward return as their caches") from None
    for name in model.grads:
        _quiet_close(f"the gradient of {name} from your cache", grads[name], model.grads[name],
                     "the cache must hold each layer's own cache, first hidden layer first, "
                     "and cache['dlogits'] the gradient softmax_cross_entropy returns")


# ---- Exercise 2: the backward pass ----------------------------------------------------------

def top_down(params):
    """Parameter names from the output layer down to the first layer."""
    last = sum(name.startswith("W") for name in params)
    names = [f"b{last}", f"W{last}"]
    for k in range(last - 1, 0, -1):
        names += [f"beta{k}", f"gamma{k}", f"W{k}"]
    return names


def check_backward(backward):
    """Exercise 2: `backward(params, cache)` returns every parameter's gradient, as bnlib.MLP.

    The cache comes from the reference forward pass (the layout of the notebook). Gradients are
    compared from the output layer down; the first wrong one is named, with the mistake when
    it is a usual one.
    """
    for seed, sizes in enumerate(SIZES):
        params, x, y = problem(sizes, seed=seed)
        _, cache = reference_forward(params, x, y)
        before = _copies(params)
        grads = _run(backward, params, cache, allowed=LAYERS, task="Exercise 2")
        _assert_unchanged(params, before, "Exercise 2", "backward")
        if not isinstance(grads, dict):
            raise AssertionError("Exercise 2: backward must return a dict {name: gradient}, got "
                                 f"{type(grads).__name__}")
        _check_names(grads, params)
        model = mlp_with(params)
        model.loss(x, y)
        mistakes = {m: reference_backward(params, cache, mistake=m) for m in BACKWARD_MISTAKES}
        for name in top_down(params):
            got, expected = np.asarray(grads[name]), model.grads[name]
            if got.shape != expected.shape:
                raise AssertionError(_shape_message(name, got.shape, expected.shape))
            why = _recognise(got, [(mistakes[m][name], BACKWARD_MISTAKES[m])
                                   for m in BACKWARD_MISTAKES], _where(name, params))
            _quiet_close(f"the gradient of {name}", got, expected, why)
    print("✓ backward: every gradient agrees with bnlib.MLP on two networks")


def _check_names(grads, params):
    extra, missing = sorted(set(grads) - set(params)), sorted(set(params) - set(grads))
    if any(name.startswith("b") and not name.startswith("beta") for name in extra):
        raise AssertionError(f"Exercise 2: your grads have {extra}, but a hidden layer followed "
                             "by BN has no bias in this network, so no bias gradient either")
    if extra or missing:
        raise AssertionError(f"Exercise 2: grads must have exactly the names of params; "
                             f"missing {missing}, extra {extra}")


def _shape_message(name, got, expected):
    if len(got) == 2 and len(expected) == 1:
        return (f"Exercise 2: the gradient of {name} has shape {got}, its parameter {expected}: "
                "one value per example is left. The parameter is shared by the whole batch, so "
                "its gradient is the sum over the batch (axis 0).")
    return f"Exercise 2: the gradient of {name} has shape {got}, its parameter {expected}"


def _where(name, params):
    """Where to look when `name` is the first wrong gradient from the top."""
    names = top_down(params)
    above = names[:names.index(name)]
    right = f"{', '.join(above)} {'is' if len(above) == 1 else 'are'} right and {name} is not: "
    return (right if above else "") + ("look at the step that leads from the layer above to "
                                       f"{name}, following sigmoid -> BN -> affine backwards")


# ---- Exercise 3: the gradient check ---------------------------------------------------------

def _tiny_feature_problem():
    """A network whose first input is a millionth of the others, so the gradients of its
    weights are about 1e-7: relative errors there measure the central differences' noise."""
    params, x, y = problem((4, 3, 3, 2), n=5, seed=7)
    x[:, 0] *= 1e-6
    return params, x, y


def _backward_with(mistake):
    """A backward that is wrong in one known way: "skip_bn" (BN's backward forgotten) or
    "nudged" (the gradient of beta1 off by 0.1 %)."""
    if mistake == "skip_bn":
        return lambda params, cache: reference_backward(params, cache, mistake="skip_bn")

    def nudged(params, cache):
        grads = reference_backward(params, cache)
        grads["beta1"] = grads["beta1"] * 1.001
        return grads
    return nudged


def _wrong_names(backward, params, x, y):
    """The parameters whose gradient `backward` gets wrong on this problem."""
    _, cache = reference_forward(params, x, y)
    got, right = backward(params, cache), reference_backward(params, cache)
    return [name for name in params if rel_error(got[name], right[name]) > 1e-6]


def _call_gradient_check(gradient_check, backward, params, x, y):
    before = _copies(params)
    errors = _run(gradient_check, reference_forward, backward, params, x, y,
                  allowed=LAYERS + GRADCHECK, task="Exercise 3",
                  passed_in=(reference_forward, backward))
    if not isinstance(errors, dict) or sorted(errors) != sorted(params):
        got = sorted(errors) if isinstance(errors, dict) else type(errors).__name__
        raise AssertionError("Exercise 3: gradient_check must return a dict with one relative "
                             f"error per parameter, {sorted(params)}; got {got}")
    for name, error in errors.items():
        if isinstance(error, bool) or not isinstance(error, numbers.Real) or not error >= 0:
            raise AssertionError(f"Exercise 3: the error for {name} must be one number >= 0, "
                                 f"got {error!r}")
    for name in params:
        if not np.allclose(params[name], before[name], rtol=0, atol=1e-15):
            raise AssertionError(f"Exercise 3: after your check params['{name}'] is not what it "
                                 "was: put every entry back after its central difference")
    return errors


def check_gradient_check(gradient_check):
    """Exercise 3: `gradient_check(forward, backward, params, x, y)` returns {name: relative
    error between backward's gradient and central differences}, judged with floor 1e-3.

    Given a right backward it must report at most GRAD_TOL for every parameter (also on a
    problem with gradients near 1e-7); given a backward that forgets BN's backward, or one
    gradient off by 0.1 %, it must report more than GRAD_TOL for exactly the wrong ones.
    """
    right = [problem((4, 3, 3, 2), n=5, seed=3), _tiny_feature_problem()]
    for params, x, y in right:
        errors = _call_gradient_check(gradient_check, reference_backward, params, x, y)
        worst = max(errors, key=errors.get)
        if errors[worst] > GRAD_TOL:
            raise AssertionError(
                f"Exercise 3: for a backward that is right your check reports {errors[worst]:.1e} "
                f"for {worst} (the bar is {GRAD_TOL:g}). Compute in float64 with the default "
                "step h = 1e-5, compare with the gradient backward returns at the same "
                "parameters, and pass floor=1e-3 to rel_error: entries near 0 are then judged "
                "by their absolute error, which is what central differences can resolve.")
    for mistake in ("skip_bn", "nudged"):
        backward, (params, x, y) = _backward_with(mistake), problem((4, 3, 3, 2), n=5, seed=3)
        wrong = _wrong_names(backward, params, x, y)
        errors = _call_gradient_check(gradient_check, backward, params, x, y)
        missed = [name for name in wrong if not errors[name] > GRAD_TOL]
        if missed:
            raise AssertionError(f"Exercise 3: given a backward whose gradient of {missed[0]} is "
                                 f"wrong, your check reports {errors[missed[0]]:.1e} for it: "
                                 "compute a numerical gradient for every parameter and compare "
                                 "it with backward's gradient of that same parameter")
        flagged = [n for n in params if n not in wrong and errors[n] > GRAD_TOL]
        if flagged:
            raise AssertionError(f"Exercise 3: your check flags {flagged}, whose gradients are "
                                 "right: is each parameter compared with its own gradient?")
    print("✓ gradient check: passes a right backward, catches a forgotten BN backward and a "
          "gradient off by 0.1 %")


# ---- Exercise 4: one SGD step ---------------------------------------------------------------

def _step_mistakes(params, x, y, lr):
    """{mistake: (params after the step, returned loss)} for the usual wrong steps."""
    out = {}
    for mistake in ("sequential", "ascent", "no_lr"):
        p = _copies(params)
        loss, cache = reference_forward(p, x, y)
        grads = reference_backward(p, cache)
        for name in p:
            if mistake == "sequential":   # each gradient computed after the earlier updates
                grads = reference_backward(p, reference_forward(p, x, y)[1])
            step = {"ascent": -lr, "no_lr": 1.0}.get(mistake, lr)
            p[name] = p[name] - step * grads[name]
        out[mistake] = p
    return out


STEP_MISTAKES = {
    "sequential": "a parameter was updated before the gradients of the others were computed: "
                  "compute every gradient first (one forward, one backward), then update them all",
    "ascent": "the parameters moved uphill: subtract lr * gradient",
    "no_lr": "the step is the whole gradient: multiply it by the learning rate lr",
}


def check_train_step(train_step):
    """Exercise 4: `train_step(params, x, y, lr, forward, backward)` updates params in place by
    one step of plain SGD and returns the loss before the update, as bnlib.MLP + bnlib.SGD.

    Two steps on two minibatches of the check's own, with the reference forward and backward.
    """
    params, x, y = problem(SIZES[0], n=2 * BATCH, seed=4)
    model, lr = mlp_with(params), 0.5
    optimizer = SGD(model.params, model.grads, lr)
    for batch in (slice(0, BATCH), slice(BATCH, 2 * BATCH)):
        before = _copies(params)
        mistakes = _step_mistakes(before, x[batch], y[batch], lr)
        loss = _run(train_step, params, x[batch], y[batch], lr, reference_forward,
                    reference_backward, allowed=LAYERS, task="Exercise 4",
                    passed_in=(reference_forward, reference_backward))
        expected_loss = model.loss(x[batch], y[batch])
        optimizer.step()
        if all(np.array_equal(params[n], before[n]) for n in params):
            raise AssertionError("Exercise 4: params are unchanged after your step: update "
                                 "every entry of the dict (params[name] -= ...)")
        for name in top_down(params):
            why = _recognise(params[name], [(mistakes[m][name], STEP_MISTAKES[m])
                                            for m in STEP_MISTAKES],
                             "update every parameter with p <- p - lr * gradient")
            _quiet_close(f"{name} after the step", params[name], model.params[name], why)
        after = float(reference_forward(params, x[batch], y[batch])[0])
        if loss is None:
            raise AssertionError("Exercise 4: train_step returned None: return the loss")
        _quiet_close("the loss returned", loss, expected_loss, _recognise(
            loss, [(after, "you returned the loss after the update; return the one the forward "
                           "pass computed before it")], "return the loss forward computed"))
    print("✓ train_step: two steps agree with bnlib.MLP and bnlib.SGD")
