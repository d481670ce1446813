"""Tests for bnlib/exercises/nb03.py: notebook 03's checks pass right answers, name the wrong
node of a staged backward and the usual slips of the closed form, and refuse answers taken
from bnlib."""
from pathlib import Path

import numpy as np
import pytest

import bnlib
from bnlib import numerical_gradient, rel_error
from bnlib.exercises import LibraryCallError, nb03
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_backward_pass.ipynb"

# For each exercise, a solution that gets its answer from bnlib (or, for the prediction, the
# exact measurement).
GAMED = {
    "Exercise 1: the staged backward":
        "lib = bnlib.batchnorm_forward(cache['x'], gamma, 0 * gamma, cache['eps'])[1]\n"
        "dx, _, _ = bnlib.batchnorm_backward_staged(dout, lib)\n"
        "dinv_std = dstd = dvar = dmean = 0 * dbeta\n"
        "dsq = dxc = 0 * dout",
    "Exercise 2: the Jacobian of one column":
        "f = lambda: (x - x.mean()) / np.sqrt(x.var() + eps)\n"
        "return np.array([numerical_gradient(f, x, dout=row) for row in np.eye(N)])",
    "Exercise 3: the closed form":
        "var = 1 / inv_std ** 2 - 1e-5\n"
        "lib = bnlib.BatchNormCache(x_hat, 0 * gamma, var, inv_std, x_hat, gamma, 1e-5)\n"
        "dx, dgamma, dbeta = bnlib.batchnorm_backward(dout, lib)",
    "Exercise 4: a batch of two":
        "predicted_share = nb03.batch_of_two_ratio()",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1: the staged backward ------------------------------------------------------

def staged_with(**changes):
    """A learner's staged backward, right except for the nodes in `changes`: each maps a node
    name to a function (values so far, cache, N) -> that node's (wrong) value."""
    def staged_backward(dout, cache):
        g = {}
        xc, std, inv_std = cache["xc"], cache["std"], cache["inv_std"]
        n = dout.shape[0]
        steps = [
            ("dbeta", lambda: dout.sum(axis=0)),
            ("dgamma", lambda: (dout * cache["x_hat"]).sum(axis=0)),
            ("dx_hat", lambda: dout * cache["gamma"]),
            ("dinv_std", lambda: (g["dx_hat"] * xc).sum(axis=0)),
            ("dstd", lambda: -g["dinv_std"] / std ** 2),
            ("dvar", lambda: 0.5 * g["dstd"] / std),
            ("dsq", lambda: np.ones_like(xc) * g["dvar"] / n),
            ("dxc", lambda: g["dx_hat"] * inv_std + 2 * xc * g["dsq"]),
            ("dmean", lambda: -g["dxc"].sum(axis=0)),
            ("dx", lambda: g["dxc"] + g["dmean"] / n),
        ]
        for name, right in steps:
            g[name] = changes[name](g, cache, n) if name in changes else right()
        return g
    return staged_backward


def test_staged_backward_accepts_every_node_and_checks_the_whole(capsys):
    nb03.check_staged_backward(staged_with())
    out = capsys.readouterr().out
    for node in nb03.STAGED_NODES:
        assert f"✓ {node} is correct" in out
    assert "agree with central differences" in out


def test_staged_backward_accepts_dsq_left_to_broadcasting():
    nb03.check_staged_backward(staged_with(dsq=lambda g, c, n: g["dvar"] / n))


@pytest.mark.parametrize("node, wrong, message", [
    ("dinv_std", lambda g, c, n: g["dx_hat"] * c["xc"], "inv_std has shape .D,. and was broadcast"),
    ("dinv_std", lambda g, c, n: (g["dx_hat"] * c["x_hat"]).sum(axis=0), "is xc, the other factor"),
    ("dstd", lambda g, c, n: g["dinv_std"] / c["std"] ** 2, "check the sign"),
    ("dstd", lambda g, c, n: -g["dinv_std"] / c["std"], "square s"),
    ("dvar", lambda g, c, n: g["dstd"] / c["std"], "factor 1/2"),
    ("dsq", lambda g, c, n: np.ones_like(c["xc"]) * g["dvar"], "local derivative 1/N"),
    ("dxc", lambda g, c, n: g["dx_hat"] * c["inv_std"], "not the one through sq"),
    ("dxc", lambda g, c, n: 2 * c["xc"] * g["dsq"], "= where \\+= belongs"),
    ("dxc", lambda g, c, n: g["dx_hat"] * c["inv_std"] + c["xc"] * g["dsq"], "2 \\* xc"),
    ("dmean", lambda g, c, n: g["dxc"].sum(axis=0), "check the sign"),
    ("dmean", lambda g, c, n: -g["dxc"], "mean has shape"),
    ("dx", lambda g, c, n: g["dxc"], "forgot the path through mean"),
    ("dx", lambda g, c, n: g["dxc"] + g["dmean"], "1/N"),
])
def test_staged_backward_names_the_wrong_node(node, wrong, message):
    with pytest.raises(AssertionError, match=f"^{node} is not right: .*{message}"):
        nb03.check_staged_backward(staged_with(**{node: wrong}))


def test_staged_backward_points_at_the_step_for_an_unknown_mistake():
    with pytest.raises(AssertionError, match="dvar: not quite.*Every node before it "
                                             "\\(dbeta, .*dstd\\) is right.*sqrt"):
        nb03.check_staged_backward(staged_with(dvar=lambda g, c, n: 0.3 * g["dstd"]))


def test_staged_backward_needs_every_node():
    def incomplete(dout, cache):
        return {"dbeta": dout.sum(axis=0)}

    with pytest.raises(AssertionError, match="no 'dgamma'"):
        nb03.check_staged_backward(incomplete)


def test_the_staged_reference_agrees_with_bnlib(rng):
    x, gamma, beta = rng.normal(2, 3, size=(5, 3)), rng.normal(1, 0.3, 3), rng.normal(size=3)
    dout = rng.normal(size=(5, 3))
    _, cache = nb03.forward_nodes(x, gamma, beta, 1e-5)
    grads, _, _ = nb03.reference_staged(dout, cache)
    dx, dgamma, dbeta = bnlib.batchnorm_backward(dout, bnlib.batchnorm_forward(x, gamma, beta)[1])
    np.testing.assert_allclose(grads["dx"], dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["dgamma"], dgamma, rtol=1e-9)
    np.testing.assert_allclose(grads["dbeta"], dbeta, rtol=1e-9)


# ---- Exercise 2: the Jacobian -------------------------------------------------------------

def jacobian_with(mean_term=True, sigma_term=True, divide=True):
    def xhat_jacobian(x, eps=1e-5):
        n, sigma = x.shape[0], np.sqrt(x.var() + eps)
        x_hat = (x - x.mean()) / sigma
        J = np.eye(n) - (1 / n if mean_term else 0) - (np.outer(x_hat, x_hat) / n if sigma_term else 0)
        return J / sigma if divide else J
    return xhat_jacobian


def test_jacobian_accepts_the_quotient_rule_and_matches_central_differences(capsys):
    nb03.check_xhat_jacobian(jacobian_with())
    assert "✓ xhat_jacobian (N=3, eps=0.1) is correct" in capsys.readouterr().out
    x = np.array([2.5, 0.4, 3.1, 1.0, 2.2])
    f = lambda: (x - x.mean()) / np.sqrt(x.var() + 1e-5)
    numeric = np.array([numerical_gradient(f, x, dout=row) for row in np.eye(5)])
    assert rel_error(jacobian_with()(x), numeric) < 1e-7


@pytest.mark.parametrize("wrong, message", [
    (jacobian_with(mean_term=False), "path through the mean is missing"),
    (jacobian_with(sigma_term=False), "path through sigma is missing"),
    (jacobian_with(divide=False), "divided by sigma"),
])
def test_jacobian_explains_a_missing_route(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb03.check_xhat_jacobian(wrong)


# ---- Exercise 3: the closed form ----------------------------------------------------------

def closed_with(dx_formula):
    def closed_form_backward(dout, x_hat, gamma, inv_std):
        n = dout.shape[0]
        dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
        return dx_formula(dout, x_hat, gamma, inv_std, n, dbeta, dgamma), dgamma, dbeta
    return closed_form_backward


RIGHT = lambda dy, xh, g, s, n, db, dg: g * s / n * (n * dy - db - xh * dg)


def test_closed_form_accepts_the_boxed_formula(capsys):
    nb03.check_closed_form(closed_with(RIGHT))
    assert "✓ dx is correct" in capsys.readouterr().out


@pytest.mark.parametrize("formula, message", [
    (lambda dy, xh, g, s, n, db, dg: g * s / n * (dy - db - xh * dg), "N times too small"),
    (lambda dy, xh, g, s, n, db, dg: g * s / n * (n * dy - xh * dg), "term with dbeta"),
    (lambda dy, xh, g, s, n, db, dg: g * s / n * (n * dy - db), "term with x_hat \\* dgamma"),
    (lambda dy, xh, g, s, n, db, dg: g * s / n * (n * dy + db - xh * dg), "sign of the dbeta"),
    (lambda dy, xh, g, s, n, db, dg: g / s / n * (n * dy - db - xh * dg), "multiply by inv_std"),
    (lambda dy, xh, g, s, n, db, dg: s / n * (n * dy - db - xh * dg), "gamma is missing"),
    (lambda dy, xh, g, s, n, db, dg: g * s * (n * dy - db - xh * dg), "1/N is missing"),
    (lambda dy, xh, g, s, n, db, dg: g * s * dy, "only the direct path"),
])
def test_closed_form_names_the_usual_slips(formula, message):
    with pytest.raises(AssertionError, match=message):
        nb03.check_closed_form(closed_with(formula))


def test_closed_form_checks_dbeta_and_dgamma_first():
    def wrong_axis(dout, x_hat, gamma, inv_std):
        return RIGHT(dout, x_hat, gamma, inv_std, 6, dout.sum(0), (dout * x_hat).sum(0)), \
            (dout * x_hat).sum(axis=0), dout.sum(axis=1)

    with pytest.raises(AssertionError, match="dbeta is not right: sum over the batch, axis=0"):
        nb03.check_closed_form(wrong_axis)


def test_closed_form_refuses_bnlibs_backward():
    with pytest.raises(LibraryCallError, match="calls bnlib's batchnorm_"):
        nb03.check_closed_form(lambda dout, x_hat, gamma, inv_std: bnlib.batchnorm_backward(
            dout, bnlib.batchnorm_forward(x_hat, gamma, 0 * gamma)[1]))


# ---- Exercise 4: the batch of two ---------------------------------------------------------

def test_batch_of_two_leaves_only_the_eps_term():
    assert 0 < nb03.batch_of_two_ratio() < 1e-3


def test_batch_of_two_prediction(capsys):
    nb03.check_batch_of_two(0)
    assert "you predicted 0" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="off by"):
        nb03.check_batch_of_two(1.0)
    with pytest.raises(AssertionError, match="impossible"):
        nb03.check_batch_of_two(2.0)
    with pytest.raises(LibraryCallError):
        nb03.check_batch_of_two(nb03.batch_of_two_ratio())


# ---- answers that do not do what the exercise asks ----------------------------------------

def test_jacobian_by_own_finite_differences_is_explained():
    def by_differences(x, eps=1e-5):
        f = lambda t: (t - t.mean()) / np.sqrt(t.var() + eps)
        n, h = x.shape[0], 1e-5
        return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(n)]).T

    with pytest.raises(AssertionError, match="numerical estimate"):
        nb03.check_xhat_jacobian(by_differences)


def test_exercises_refuse_to_reuse_the_staged_backward():
    def staged_backward(dout, cache):                # the learner's Exercise 1, as named there
        return staged_with()(dout, cache)

    def closed_via_staged(dout, x_hat, gamma, inv_std):
        cache = dict(xc=x_hat / inv_std, std=1 / inv_std, inv_std=inv_std, x_hat=x_hat,
                     gamma=gamma)
        g = staged_backward(dout, cache)
        return g["dx"], g["dgamma"], g["dbeta"]

    with pytest.raises(AssertionError, match="calls staged_backward, an earlier exercise"):
        nb03.check_closed_form(closed_via_staged)

    def jacobian_via_staged(x, eps=1e-5):
        sigma = np.sqrt(x.var() + eps)
        x_hat = ((x - x.mean()) / sigma)[:, None]
        cache = dict(xc=x_hat * sigma, std=np.array([sigma]), inv_std=np.array([1 / sigma]),
                     x_hat=x_hat, gamma=np.ones(1))
        return np.array([staged_backward(e[:, None], cache)["dx"][:, 0] for e in np.eye(len(x))])

    with pytest.raises(AssertionError, match="calls staged_backward"):
        nb03.check_xhat_jacobian(jacobian_via_staged)
