"""Tests for bnlib/placement.py: gradients of every placement, agreement with bnlib.MLP, runs."""
import json

import numpy as np
import pytest

from bnlib import MLP, numerical_gradient, rel_error
from bnlib.placement import PLACEMENTS, PlacementMLP, run_placement, saturation

GRAD_TOL = 1e-7   # float64 central differences, h = 1e-5: see tests/test_batchnorm.py
SIZES = (5, 4, 3, 3)


def small_problem(rng, n=6):
    return rng.standard_normal((n, SIZES[0])), rng.integers(0, SIZES[-1], n)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_gradients_match_central_differences(rng, placement, activation):
    model = PlacementMLP(SIZES, placement, activation, init_std=0.8, rng=rng, dtype=np.float64)
    for name, p in model.params.items():        # move gamma, beta, b away from 1, 0, 0
        if name.startswith(("gamma", "beta", "b")):
            p += 0.3 * rng.standard_normal(p.shape)
    x, y = small_problem(rng, n=7)
    model.loss(x, y)
    if activation == "relu":   # a kink at 0, where central differences (steps of ~1e-5) fail
        assert min(np.abs(z).min() for z in model.pre_activations) > 1e-4
    analytic = {name: g.copy() for name, g in model.grads.items()}   # loss() overwrites grads
    for name, p in model.params.items():
        numerical = numerical_gradient(lambda: model.loss(x, y), p)
        assert rel_error(analytic[name], numerical) < GRAD_TOL, name


@pytest.mark.parametrize("placement, use_bn", [("before", True), ("none", False)])
def test_before_and_none_are_bnlibs_mlp(rng, placement, use_bn):
    ours = PlacementMLP(SIZES, placement, "sigmoid", init_std=0.8, rng=rng, dtype=np.float64)
    reference = MLP(SIZES, use_bn=use_bn, rng=rng, dtype=np.float64)
    for name, p in reference.params.items():
        p[...] = ours.params[name]
    x, y = small_problem(rng)
    assert ours.loss(x, y) == pytest.approx(reference.loss(x, y), rel=1e-12)
    for name in reference.grads:
        np.testing.assert_allclose(ours.grads[name], reference.grads[name], rtol=1e-10,
                                   atol=1e-14)


def test_after_normalises_the_nonlinearity_outputs(rng):
    model = PlacementMLP(SIZES, "after", "sigmoid", init_std=0.8, rng=rng, dtype=np.float64)
    x, _ = small_problem(rng, n=50)
    model.forward(x)
    h1 = model.bns[0]._cache.x_hat                # what BN produced from sigmoid(z1)
    np.testing.assert_allclose(h1.mean(axis=0), 0, atol=1e-12)
    assert "b1" in model.params and "gamma1" in model.params


def test_saturation_counts_flat_regions():
    z = np.array([-5.0, -1.0, 0.0, 3.0, 4.5])
    assert saturation(z, "sigmoid") == pytest.approx(2 / 5)    # |z| > 4
    assert saturation(z, "relu") == pytest.approx(3 / 5)       # z <= 0


def fake_data(rng):
    x = rng.random((200, SIZES[0])).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)                        # learnable
    return x, y, x[:50], y[:50]


def test_run_placement_learns_and_is_reproducible(rng):
    data = fake_data(rng)
    first = run_placement(data, "before", "relu", steps=200, lr=0.5, seed=3, sizes=SIZES,
                          batch_size=20)
    again = run_placement(data, "before", "relu", steps=200, lr=0.5, seed=3, sizes=SIZES,
                          batch_size=20)
    assert first == again
    assert first["test_acc"] > 0.8 and 0.0 <= first["saturation"] <= 1.0


def test_run_placement_reports_divergence_and_bad_names(rng):
    data = fake_data(rng)
    # BN meets an overflow in float32 after a few steps at this absurd rate (numpy warns)
    with pytest.raises(RuntimeError, match="lower learning rate"), \
            np.errstate(over="ignore", invalid="ignore"):
        run_placement(data, "before", "sigmoid", steps=50, lr=1e30, seed=0, sizes=SIZES)
    with pytest.raises(ValueError, match="placement"):
        PlacementMLP(SIZES, "sideways")


def test_placement_experiment_writes_its_results(tmp_path, capsys):
    from types import SimpleNamespace

    from bnlib.placement import PLACEMENT_DESCRIPTION, placement_experiment
    args = SimpleNamespace(steps=2, seed=5, out=str(tmp_path / "results"))
    assert placement_experiment(args) == 0
    runs = json.loads((tmp_path / "results" / "placement.json").read_text())
    assert len(runs) == 2 * 3 * 3                      # activations x placements x seeds
    assert {r["seed"] for r in runs} == {5, 6, 7} and {r["steps"] for r in runs} == {2}
    assert all(0 <= r["test_acc"] <= 1 and 0 <= r["saturation"] <= 1 for r in runs)
    assert (tmp_path / "results" / "placement.png").stat().st_size > 0
    assert "BN" in capsys.readouterr().out and "MNIST" in PLACEMENT_DESCRIPTION
