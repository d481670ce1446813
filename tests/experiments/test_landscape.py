"""Tests for bnlib/experiments/landscape.py: the loss along the gradient, BN's gain, the
learning-rate sweep."""
import numpy as np
import pytest

import bnlib
from bnlib import MLP, TrainingDiverged, train
from bnlib.experiments.common import restored
from bnlib.experiments.fig1 import Fig1Config
from bnlib.experiments.landscape import (STEP_MULTIPLES, bn_gains, compare_landscapes,
                                         hidden_weights, landscape_during_training,
                                         landscape_summary, landscape_table,
                                         last_layer_saturation, learning_rate_sweep,
                                         loss_along_gradient,
                                         parameter_mask, sweep_cell, sweep_run, sweep_table)


@pytest.fixture(scope="module")
def mnist():
    return bnlib.load_mnist()


@pytest.fixture(scope="module")
def small_data(mnist):
    """600 training and 200 test images: enough for a few steps."""
    x_train, y_train, x_test, y_test = mnist
    return x_train[:600], y_train[:600], x_test[:200], y_test[:200]


def small_model(rng, use_bn=True, dtype=np.float64):
    return MLP((6, 5, 4, 3), use_bn=use_bn, init_std=0.5, rng=rng, dtype=dtype)


def test_parameter_mask_selects_exactly_the_named_parameters(rng):
    model = small_model(rng)
    assert parameter_mask(model).all()
    mask = parameter_mask(model, ["W1", "beta2"])
    assert mask.sum() == model.params["W1"].size + model.params["beta2"].size
    model.flat_params[mask] = 7.0                       # the mask addresses those views
    assert np.all(model.params["W1"] == 7.0) and np.all(model.params["beta2"] == 7.0)
    assert not np.any(model.params["W2"] == 7.0)
    with pytest.raises(ValueError, match="unknown parameter names"):
        parameter_mask(model, ["W9"])


def test_restored_brings_everything_back(rng):
    model = small_model(rng).eval()
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    before = (model.flat_params.copy(), model.flat_grads.copy(), model.bns[0].running_mean.copy())
    with restored(model):
        model.train().loss(x, y)
        model.flat_params += 1.0
    np.testing.assert_array_equal(model.flat_params, before[0])
    np.testing.assert_array_equal(model.flat_grads, before[1])
    np.testing.assert_array_equal(model.bns[0].running_mean, before[2])
    assert not model.training


def test_loss_along_gradient_matches_stepping_by_hand(rng):
    model = small_model(rng)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    point = loss_along_gradient(model, x, y, [0.1, 0.3])
    theta = model.flat_params.copy()
    loss0 = model.loss(x, y)
    g = model.flat_grads.copy()
    assert point["loss0"] == loss0 and point["grad_norm"] == pytest.approx(np.linalg.norm(g))
    for eta, loss, change in zip([0.1, 0.3], point["loss"], point["grad_change"]):
        model.flat_params[...] = theta - eta * g
        assert model.loss(x, y) == pytest.approx(loss, rel=1e-12)
        assert np.linalg.norm(model.flat_grads - g) == pytest.approx(change, rel=1e-12)
    model.flat_params[...] = theta


def test_loss_along_gradient_leaves_the_model_unchanged(rng):
    model = small_model(rng).eval()
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    params, stats = model.flat_params.copy(), model.bns[1].running_var.copy()
    loss_along_gradient(model, x, y, STEP_MULTIPLES)
    np.testing.assert_array_equal(model.flat_params, params)
    np.testing.assert_array_equal(model.bns[1].running_var, stats)
    assert not model.training


def test_a_small_step_follows_the_first_order_prediction(rng):
    """L(theta - eta g) = L(theta) - eta |g|^2 + O(eta^2): with eta = 1e-4 the second-order
    term is ~1e-8 |g|^2 (curvature O(1)), so the first-order prediction holds to ~1e-3."""
    model = small_model(rng)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    point = loss_along_gradient(model, x, y, [1e-4], names=["W1", "W2"])
    predicted_drop = 1e-4 * point["grad_norm"] ** 2
    assert point["loss0"] - point["loss"][0] == pytest.approx(predicted_drop, rel=1e-2)


def test_only_the_named_parameters_move(rng):
    model = small_model(rng)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    model.loss(x, y)
    g_w1 = model.grads["W1"].copy()
    point = loss_along_gradient(model, x, y, [0.5], names=["W1"])
    assert point["grad_norm"] == pytest.approx(np.linalg.norm(g_w1))
    theta = model.flat_params.copy()
    model.params["W1"] -= 0.5 * g_w1                     # by hand: W1 alone moves
    assert model.loss(x, y) == pytest.approx(point["loss"][0], rel=1e-12)
    model.flat_params[...] = theta


def test_bad_step_sizes_are_rejected(rng):
    model = small_model(rng)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    for bad in ([], [0.1, -1.0], [[0.1]], [np.nan]):
        with pytest.raises(ValueError, match="step_sizes"):
            loss_along_gradient(model, x, y, bad)


def test_landscape_summary_by_hand():
    point = {"step_sizes": [0.1, 0.2], "loss": [2.0, 1.5], "grad_change": [0.2, 0.6],
             "loss0": 2.5, "grad_norm": 2.0}
    # distances 0.2 and 0.4: gradient change per distance 1.0 and 1.5
    assert landscape_summary(point) == pytest.approx(
        {"loss_range": 0.5, "grad_change": 0.6, "smoothness": 1.5}, rel=1e-12)
    flat = dict(point, grad_norm=0.0, grad_change=[0.0, 0.0])
    assert landscape_summary(flat)["smoothness"] == 0.0


def test_bn_gains_are_gamma_over_the_batch_std(rng):
    model = MLP((6, 5, 3), use_bn=True, rng=rng, dtype=np.float64, init_std=0.3)
    model.params["gamma1"][...] = 2.0
    x = rng.normal(size=(10, 6))
    z = x @ model.params["W1"]                            # (10, 5) BN's input
    expected = np.mean(2.0 / np.sqrt(z.var(axis=0) + model.bns[0].eps))
    assert bn_gains(model, x) == [pytest.approx(expected, rel=1e-12)]
    with pytest.raises(ValueError, match="no BN layer"):
        bn_gains(MLP((6, 5, 3), rng=rng), x)


def test_bn_gain_scales_as_one_over_the_weights(rng):
    model = MLP((6, 5, 3), use_bn=True, rng=rng, dtype=np.float64, init_std=0.3)
    x = rng.normal(size=(10, 6))
    before = bn_gains(model, x)[0]
    model.params["W1"] *= 10.0
    assert bn_gains(model, x)[0] == pytest.approx(before / 10.0, rel=1e-3)   # eps: ~1e-4


def test_landscape_during_training_records_each_step(small_data):
    config = Fig1Config(sizes=(784, 20, 20, 10))
    result = landscape_during_training(True, config, small_data, at_steps=(0, 5), batches=2)
    assert result["step"] == [0, 5] and result["multiples"] == list(STEP_MULTIPLES)
    assert len(result["points"]) == 2 and len(result["points"][0]) == 2
    assert all(len(result[key]) == 2 for key in ("loss_range", "grad_change", "smoothness"))
    assert hidden_weights(MLP(config.sizes)) == ["W1", "W2"]
    with pytest.raises(ValueError, match="which"):
        landscape_during_training(True, config, small_data, which="some")


def test_compare_landscapes_and_its_table(small_data):
    config = Fig1Config(sizes=(784, 20, 10))
    result = compare_landscapes(config, init_stds=(0.05, 0.5), data=small_data,
                                at_steps=(0, 3), batches=1)
    assert set(result["runs"]) == {"0.05", "0.5"}
    assert set(result["runs"]["0.5"]) == {"plain", "bn"}
    table = landscape_table(result)
    assert len(table.splitlines()) == 1 + 2 * 2 * 2 and "smoothness" in table


def test_bn_smooths_the_landscape_at_a_large_initial_scale(mnist):
    """The claim of notebook 06, section 4, at a small budget (std 0.5, step 0 and 50)."""
    result = compare_landscapes(Fig1Config(), init_stds=(0.5,), data=mnist, at_steps=(0, 50),
                                batches=2)
    run = result["runs"]["0.5"]
    assert np.all(np.array(run["plain"]["grad_change"]) > 5 * np.array(run["bn"]["grad_change"]))


def test_a_diverging_run_is_reported_with_its_step(mnist):
    """The ReLU network without BN at learning rate 10 diverges: the sweep names the step, the
    same one that bnlib.train names in its error."""
    config = Fig1Config(steps=50)
    row = sweep_run(False, 10.0, config, mnist, activation="relu")
    assert row["status"] == "diverged" and row["test_acc"] is None
    init_seed, batch_seed = np.random.SeedSequence(config.seed).spawn(2)
    model = MLP(config.sizes, activation="relu", init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    with pytest.raises(TrainingDiverged) as diverged:
        train(model, mnist, 50, 10.0, rng=np.random.default_rng(batch_seed), progress=False)
    assert diverged.value.step == row["diverged_at"]
    assert sweep_cell(row) == f"diverged at step {row['diverged_at']}"


def test_an_overflow_inside_bn_counts_as_divergence(mnist):
    row = sweep_run(True, 100.0, Fig1Config(steps=50), mnist, activation="relu")
    assert row["status"] == "diverged" and 1 <= row["diverged_at"] <= 50


def test_other_errors_are_not_swallowed(mnist):
    x_train, y_train, x_test, y_test = mnist
    wrong = (x_train[:, :100], y_train, x_test, y_test)   # 100 columns for a 784-input network
    with pytest.raises(ValueError, match="784 columns"):
        sweep_run(False, 0.1, Fig1Config(steps=5), wrong)


def test_sweep_classifies_chance_and_training(small_data):
    rows = learning_rate_sweep([0.1], Fig1Config(steps=2, sizes=(784, 20, 10)), small_data)
    assert [(r["use_bn"], r["lr"]) for r in rows] == [(False, 0.1), (True, 0.1)]
    for r in rows:                                         # 2 steps: nothing learned yet
        assert r["status"] == "chance" and r["test_acc"] <= 0.15
        assert r["w1_norm"][0] > 0 and r["w1_norm"][1] > 0
    trained = sweep_run(True, 0.5, Fig1Config(steps=100, sizes=(784, 20, 10)), small_data)
    assert trained["status"] == "trains" and trained["test_acc"] > 0.5


def test_sweep_table_layout():
    rows = [{"activation": "sigmoid", "use_bn": False, "lr": 0.1, "status": "trains",
             "test_acc": 0.9, "diverged_at": None},
            {"activation": "sigmoid", "use_bn": False, "lr": 10.0, "status": "chance",
             "test_acc": 0.098, "diverged_at": None},
            {"activation": "relu", "use_bn": True, "lr": 10.0, "status": "diverged",
             "test_acc": None, "diverged_at": 13}]
    lines = sweep_table(rows).splitlines()
    assert "lr 0.1" in lines[0] and "lr 10" in lines[0]
    assert lines[1].startswith("sigmoid, without BN") and "0.900" in lines[1]
    assert "chance (0.098)" in lines[1]
    assert lines[2].startswith("relu, with BN") and lines[2].split()[-4:] == [
        "diverged", "at", "step", "13"] and "-" in lines[2]


def test_last_layer_saturation_by_hand(rng):
    model = MLP((6, 4, 3), init_std=0.5, rng=rng, dtype=np.float64)
    model.params["W1"][...] = 0.0
    model.params["b1"][...] = [10.0, -10.0, 0.0, 0.0]     # two units stuck, one side each
    x = rng.standard_normal((50, 6))
    model.params["W1"][:, 3] = 10.0                       # unit 3: |z| large, both signs
    found = last_layer_saturation(model, x)
    z = x @ model.params["W1"] + model.params["b1"]
    assert found["stuck"] == 0.5
    assert found["saturated"] == pytest.approx(np.mean(np.abs(z) > 4.0))
    assert 0.5 < found["saturated"] < 0.75                # unit 3 saturated on most rows


def test_sweep_rows_record_saturation_for_sigmoids_only(small_data):
    config = Fig1Config(steps=3, sizes=(784, 20, 10))
    sigmoid = sweep_run(False, 0.1, config, small_data)
    start, end = sigmoid["saturation"]
    assert set(start) == {"saturated", "stuck"} and set(end) == {"saturated", "stuck"}
    assert sweep_run(False, 0.1, config, small_data, activation="relu")["saturation"] is None
