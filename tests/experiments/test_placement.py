"""Tests for bnlib/experiments/placement.py: its networks are bnlib.MLP's, its runs.

The gradients of every placement are checked in tests/test_model.py (BN before and after the
nonlinearity, and no BN).
"""

import numpy as np
import pytest

from bnlib import MLP, TrainingDiverged, sigmoid
from bnlib.experiments.placement import placement_mlp, run_placement, saturation

SIZES = (5, 4, 3, 3)


def small_problem(rng, n=6):
    return rng.standard_normal((n, SIZES[0])), rng.integers(0, SIZES[-1], n)


@pytest.mark.parametrize("placement, use_bn, position, hidden_bias", [
    ("none", False, "before", True), ("before", True, "before", False),
    ("after", True, "after", True)])
def test_placements_are_bnlibs_mlp(rng, placement, use_bn, position, hidden_bias):
    model = placement_mlp(SIZES, placement, "relu", init_std=0.8, rng=rng, dtype=np.float64)
    assert isinstance(model, MLP) and model.activation == "relu"
    assert (model.use_bn, len(model.bns), model.dtype) == (use_bn, 2 * use_bn, np.float64)
    assert model.use_bn is False or model.bn_position == position
    assert ("b1" in model.params) == hidden_bias and ("gamma1" in model.params) == use_bn
    reference = MLP(SIZES, use_bn, "relu", init_std=0.8, rng=np.random.default_rng(1502),
                    dtype=np.float64, bn_position=position)
    for name, p in reference.params.items():     # the same initial weights from the same rng
        np.testing.assert_array_equal(model.params[name], p)


def test_after_normalises_the_nonlinearity_outputs(rng):
    model = placement_mlp(SIZES, "after", "sigmoid", init_std=0.8, rng=rng, dtype=np.float64)
    x, _ = small_problem(rng, n=50)
    model.forward(x)
    h1 = model.bns[0]._cache.x_hat                # what BN produced from sigmoid(z1)
    np.testing.assert_allclose(h1.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(model.bns[0]._cache.x, sigmoid(model.pre_activations[0]),
                               rtol=1e-15)


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


@pytest.mark.parametrize("placement, lr", [("none", 1e38), ("before", 1e30), ("after", 1e30)])
def test_run_placement_reports_divergence(rng, placement, lr):
    data = fake_data(rng)
    # at these absurd rates, within a few steps, BN meets an overflow in float32 (numpy warns)
    # or the loss of the network without BN becomes infinite (at lr=1e30 its sigmoids merely
    # saturate: the loss stays finite)
    with pytest.raises(TrainingDiverged, match="lower one"):
        run_placement(data, placement, "sigmoid", steps=50, lr=lr, seed=0, sizes=SIZES)


def test_bad_placement_is_refused():
    with pytest.raises(ValueError, match="placement"):
        placement_mlp(SIZES, "sideways")
    with pytest.raises(ValueError, match="placement"):
        run_placement(None, "sideways", "sigmoid", steps=1, lr=0.1, seed=0)
