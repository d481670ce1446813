"""Tests for bnlib/experiments/fine_tuning.py: shifted images, fine-tuning with frozen or
updating statistics, the control, and the measurements of what the collapse needs."""
import numpy as np
import pytest

from bnlib import (SGD, FrozenBatchNorm1d, bn_statistics, clone_mlp, frozen_batchnorm_backward,
                   frozen_batchnorm_forward, minibatches, recompute_population_statistics)
from bnlib.experiments import eval_gap as eg
from bnlib.experiments import fine_tuning as ft
from helpers import small_classification_data as small_data


def small_config(**changes):
    """An EvalGapConfig for the made-up task: a 12-8-6-3 network, a few dozen steps."""
    settings = dict(steps=60, sizes=(12, 8, 6, 3), batch_size=10, population_images=120,
                    lr=0.3, init_std=0.5)
    return eg.EvalGapConfig(**{**settings, **changes})


def unit_data(rng, n_train=6000):
    """The made-up task with inputs clipped to [0, 1], like images."""
    x_train, y_train, x_test, y_test = small_data(rng, n_train=n_train, d_in=12)
    return np.clip(x_train, 0, 1), y_train, np.clip(x_test, 0, 1), y_test


def small_model(rng, data=None):
    data = unit_data(rng) if data is None else data
    return eg.trained_network(small_config(steps=30), data, progress=False), data


def test_shift_contrast():
    x = np.array([[0.0, 1.0, 0.5]], np.float32)
    shifted = ft.shift_contrast(x)
    np.testing.assert_allclose(shifted, [[0.5, 1.0, 0.75]])
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(ft.shift_contrast(x, 0.8, 0.1), [[0.1, 0.9, 0.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="2 dimension"):
        ft.shift_contrast(np.zeros(3))
    task = ft.shifted_task((x, [1], 2 * x, [0]), 0.5, 0.0)
    np.testing.assert_allclose(task[2], x)
    assert task[1] == [1] and task[3] == [0]


def test_fine_tuning_keeps_the_original_and_freezes_statistics(rng):
    data = small_data(rng, d_in=12)
    _, model = eg.run_eval_gap(small_config(steps=30), data, progress=False)
    statistics, params = bn_statistics(model), model.flat_params.copy()
    tuned, history = ft.fine_tune(model, data, steps=10, lr=0.1, freeze=True, eval_every=5)
    assert history["step"] == [0, 5, 10]
    np.testing.assert_array_equal(model.flat_params, params)      # the original is untouched
    for (mean, _), (tuned_mean, _) in zip(statistics, bn_statistics(tuned)):
        np.testing.assert_array_equal(mean, tuned_mean)           # frozen: never updated
    assert not np.array_equal(tuned.flat_params, params)
    updating, _ = ft.fine_tune(model, data, steps=10, lr=0.1, freeze=False, eval_every=5)
    assert not np.allclose(bn_statistics(updating)[0][0], statistics[0][0])
    centred, _ = ft.fine_tune(model, data, steps=10, lr=0.1, freeze=True, eval_every=5,
                              layer=ft.CentredFrozenBatchNorm1d)
    assert all(type(bn) is ft.CentredFrozenBatchNorm1d for bn in centred.bns)
    assert not np.array_equal(centred.flat_params, tuned.flat_params)


def test_run_fine_tuning_with_its_control_and_its_table(rng):
    model, data = small_model(rng)
    result = ft.run_fine_tuning(model, data, steps=10, lrs=(0.01, 0.1), eval_every=5)
    assert set(result["runs"]) == {"frozen, lr 0.01", "frozen, lr 0.1",
                                   "updating, lr 0.01", "updating, lr 0.1"}
    assert set(result["original"]) == {"before", "re-estimated", "control", *result["runs"]}
    # the control: frozen at lr 0.1 on the ORIGINAL images, tested on the original test set
    _, history = ft.fine_tune(model, data, 10, 0.1, freeze=True, eval_every=5,
                              rng=np.random.default_rng(0))
    assert result["control"]["test_acc"] == history["test_acc"]
    assert result["control"]["lr"] == 0.1 and result["control"]["step"] == [0, 5, 10]
    assert result["control"]["test_acc"][0] == result["original"]["before"]
    assert result["original"]["control"] == history["test_acc"][-1]
    table = ft.fine_tuning_table(result)
    assert f"{result['re-estimated']:.4f}" in table and "statistics frozen, lr 0.1" in table
    assert "control: frozen, lr 0.1, original images" in table


def test_centred_frozen_backward_removes_the_batch_mean_of_dx_only(rng):
    x, dout = rng.standard_normal((7, 4)) * 2 + 1, rng.standard_normal((7, 4))
    gamma, beta, mean, var = (rng.standard_normal(4) + 1, rng.standard_normal(4),
                              rng.standard_normal(4), rng.random(4) + 0.5)
    layer = ft.CentredFrozenBatchNorm1d.from_layer(FrozenBatchNorm1d(4))
    layer.gamma, layer.beta = gamma, beta
    layer.running_mean[...], layer.running_var[...] = mean, var
    out = layer.forward(x)
    dx = layer.backward(dout)
    reference, cache = frozen_batchnorm_forward(x, gamma, beta, mean, var)
    frozen_dx, dgamma, dbeta = frozen_batchnorm_backward(dout, cache)
    np.testing.assert_allclose(out, reference, rtol=1e-12)
    np.testing.assert_allclose(dx, frozen_dx - frozen_dx.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, dgamma, rtol=1e-12)
    np.testing.assert_allclose(layer.dbeta, dbeta, rtol=1e-12)


def test_unit_offsets_gains_and_bn_inputs(rng):
    a = np.array([[1.0, 5.0], [3.0, 1.0]])                  # means 2 and 3
    np.testing.assert_allclose(ft.unit_offsets(a, np.array([0.0, 4.0]), np.array([4.0, 1.0]),
                                               eps=0.0), [1.0, 1.0])
    model, data = small_model(rng)
    x = data[0][:50]
    model.forward(x)                                        # evaluation mode
    for k, (a, bn) in enumerate(zip(ft.bn_inputs(model, x), model.bns)):
        np.testing.assert_allclose(bn.forward(a), model.pre_activations[k], rtol=1e-5, atol=1e-6)
    gains = ft.gains(model)
    assert len(gains) == len(model.bns) and all(low <= high for low, high in gains)
    bn = model.bns[0]
    np.testing.assert_allclose(gains[0][1], np.max(np.abs(bn.gamma) / np.sqrt(bn.running_var
                                                                            + bn.eps)))
    # statistics re-estimated on the very images measured: every layer-1 unit at its mean
    adapted = recompute_population_statistics(clone_mlp(model), data[0][:6000])
    assert ft.layer_offsets(adapted, data[0][:6000])[0][1] < 1e-3


def test_first_step_mean_move_is_one_step_on_the_first_minibatch(rng):
    model, data = small_model(rng)
    move = ft.first_step_mean_move(model, data, lr=0.1, seed=3, batch_size=10)
    # by hand: the same copy, the same batch, one step
    idx = next(minibatches(len(data[0]), 10, np.random.default_rng(3)))
    net = clone_mlp(model)
    net.bns[:] = [FrozenBatchNorm1d.from_layer(bn) for bn in net.bns]
    net.train()
    bn, x = net.bns[0], data[0][idx]
    before = (x @ net.params["W1"]).mean(axis=0)
    net.loss(x, data[1][idx])
    SGD(net.flat_params, net.flat_grads, 0.1).step()
    after = (x @ net.params["W1"]).mean(axis=0)
    expected = np.mean(np.abs(after - before) / np.sqrt(bn.running_var + bn.eps))
    assert move == pytest.approx(expected, rel=1e-5)
    assert ft.first_step_mean_move(model, data, lr=1e-9, seed=3) < 1e-6 * move + 1e-9
    np.testing.assert_array_equal(bn_statistics(model)[0][0], model.bns[0].running_mean)


def test_collapse_controls_and_their_tables(rng):
    model, data = small_model(rng)
    controls = ft.collapse_controls(model, data, steps=6, eval_every=3, seed=1)
    frozen = {name for name, spec in ft.CONTROLS.items() if spec[3] is not None}
    assert set(controls["first_step_move"]) == frozen              # none for updating
    assert set(controls["runs"]) == set(ft.CONTROLS) - set(ft.IN_RUN_FINE_TUNING)
    assert all(run["step"] == [0, 3, 6] for run in controls["runs"].values())
    assert len(controls["gains"]) == len(controls["offsets"]["shifted"]) == len(model.bns)
    # re-estimated on the shifted images: the first run starts at the re-estimated accuracy
    tuning = ft.run_fine_tuning(model, data, steps=6, eval_every=3, seed=1)
    assert (controls["runs"]["re-estimated on shifted images, then frozen"]["test_acc"][0]
            == tuning["re-estimated"])
    per_seed = [{"seed": 1, "fine_tuning": tuning, "controls": controls}]
    rows = ft.controls_rows(tuning, controls)
    assert rows["frozen, original images"][0] == tuning["control"]["test_acc"][-1]
    assert rows["updating, shifted images"][1] is None
    assert list(rows) == [n for n in dict.fromkeys(ft.ROW_ORDER) if n in rows]
    assert len(rows) == len(ft.CONTROLS) + 1            # + updating on the shifted images
    # a shifted task made beforehand gives the same results
    shifted = ft.shifted_task(data)
    again = ft.run_fine_tuning(model, data, steps=6, eval_every=3, seed=1, shifted=shifted)
    assert again["runs"] == tuning["runs"] and again["control"] == tuning["control"]
    table = ft.controls_table(per_seed)
    assert "frozen, backward centred, shifted images" in table and "seeds 1" in table
    assert "offset, shifted" in ft.measurements_table(per_seed)
    rows_, seeds, steps, lr = ft.controls_by_seed({"notebook_scale": per_seed})
    assert rows_ == [rows] and seeds == [1] and steps == 6 and lr == 0.1
