"""Tests for bnlib/eval_gap.py: running averages side by side, batch-mode predictions,
folding a whole network, frozen BN (checked against central differences), the experiments."""
import argparse
import json

import numpy as np
import pytest

from bnlib import MLP, SGD, BatchNorm1d, batchnorm_eval_forward, minibatches
from bnlib import eval_gap as eg
from helpers import assert_layer_gradients, assert_model_gradients

# float64 gradient checks: central differences with h = 1e-5 are accurate to about 1e-10 on
# these O(1) functions, so the course's bar of 1e-7 relative error has a wide margin.


def small_data(rng, n_train=240, n_test=90, d_in=12, classes=3):
    """A made-up classification task: class means apart, noise around them."""
    centres = 2.0 * rng.standard_normal((classes, d_in))
    def draw(n):
        y = rng.integers(0, classes, n)
        return centres[y] + rng.standard_normal((n, d_in)), y
    return (*draw(n_train), *draw(n_test))


def small_config(**changes):
    """An EvalGapConfig for the made-up task: a 12-8-6-3 network, a few dozen steps."""
    settings = dict(steps=60, sizes=(12, 8, 6, 3), batch_size=10, population_images=120,
                    lr=0.3, init_std=0.5)
    return eg.EvalGapConfig(**{**settings, **changes})


def trained_mlp(rng, dtype=np.float64, steps=5, momentum=0.1):
    """A small MLP with BN after a few training steps on random data."""
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng, dtype=dtype,
                bn_momentum=momentum)
    x, y = rng.standard_normal((8 * steps, 6)), rng.integers(0, 3, 8 * steps)
    optimizer = SGD(model.flat_params, model.flat_grads, lr=0.5)
    for start in range(0, 8 * steps, 8):
        model.loss(x[start:start + 8], y[start:start + 8])
        optimizer.step()
    return model


def test_config_matches_notebook_05():
    from bnlib.reproduce import Fig1Config
    config, fig1 = eg.EvalGapConfig(), Fig1Config()
    assert (config.lr, config.init_std, config.batch_size, config.sizes) == (
        fig1.lr, fig1.init_std, fig1.batch_size, fig1.sizes)
    assert config.bn_momentum in config.momenta


def test_record_steps_are_sorted_and_end_at_steps():
    assert eg.record_steps(2000) == [25, 50, 100, 200, 500, 1000, 2000]
    assert eg.record_steps(30) == [25, 30]
    assert eg.record_steps(10) == [10]


def test_momentum_does_not_change_training(rng):
    seed = int(rng.integers(1000))
    slow = trained_mlp(np.random.default_rng(seed), momentum=0.01)
    fast = trained_mlp(np.random.default_rng(seed), momentum=0.5)
    np.testing.assert_array_equal(slow.flat_params, fast.flat_params)
    assert not np.allclose(slow.bns[0].running_mean, fast.bns[0].running_mean)


@pytest.mark.parametrize("momentum", [0.01, 0.1, 0.5])
def test_running_averages_equal_a_layer_with_that_momentum(rng, momentum):
    reference = BatchNorm1d(4, momentum=momentum)
    tracked = BatchNorm1d(4)
    averages = eg.RunningAverages([tracked], [momentum, 0.3])
    model_like = type("M", (), {"bns": [tracked]})()
    with eg.last_batch_statistics(model_like):
        for _ in range(20):
            batch = 3 * rng.standard_normal((7, 4)) + 2
            reference.forward(batch)
            tracked.forward(batch)
            averages.update([tracked])
    mean, var = averages.statistics[momentum][0]
    # float64; the two sides multiply momentum * var * 7/6 in a different order: rounding only
    np.testing.assert_allclose(mean, reference.running_mean, rtol=1e-12)
    np.testing.assert_allclose(var, reference.running_var, rtol=1e-12)
    assert tracked.momentum == 0.1                      # restored on leaving the block


def test_last_batch_statistics_restores_momentum_after_an_error(rng):
    model = trained_mlp(rng, momentum=0.2)
    with pytest.raises(KeyError):
        with eg.last_batch_statistics(model):
            assert all(bn.momentum == 1.0 for bn in model.bns)
            raise KeyError("boom")
    assert all(bn.momentum == 0.2 for bn in model.bns)


def test_running_averages_refuse_bad_momenta_and_layers_not_at_momentum_1():
    bns = [BatchNorm1d(3)]
    with pytest.raises(ValueError, match="momenta"):
        eg.RunningAverages(bns, [0.0])
    with pytest.raises(ValueError, match="momenta"):
        eg.RunningAverages(bns, [])
    with pytest.raises(RuntimeError, match="momentum 1"):
        eg.RunningAverages(bns, [0.1]).update(bns)


def test_statistics_gap_measures_in_std_units():
    reference = [(np.zeros(2), np.array([4.0, 1.0]))]
    same = eg.statistics_gap(reference, reference)
    assert same == (0.0, 0.0)
    moved = [(np.array([1.0, 0.5]), np.array([5.0, 1.5]))]
    mean_gap, var_gap = eg.statistics_gap(moved, reference, eps=0.0)
    assert mean_gap == pytest.approx((1.0 / 2.0 + 0.5 / 1.0) / 2)
    assert var_gap == pytest.approx((0.25 + 0.5) / 2)
    with pytest.raises(ValueError):                      # one layer against two
        eg.statistics_gap(moved, reference * 2)


def test_bn_statistics_round_trip_and_shape_check(rng):
    model = trained_mlp(rng)
    saved = eg.bn_statistics(model)
    model.bns[0].running_mean[:] = 99.0
    eg.load_bn_statistics(model, saved)
    np.testing.assert_array_equal(model.bns[0].running_mean, saved[0][0])
    with pytest.raises(ValueError, match="the model has 2"):
        eg.load_bn_statistics(model, saved[:1])
    with pytest.raises(ValueError, match="running mean must have shape"):
        eg.load_bn_statistics(model, [(np.zeros(3), np.ones(5)), saved[1]])


def test_shuffled_batches_cover_every_index_once(rng):
    batches = eg.shuffled_batches(103, 10, rng)
    assert len(batches) == 11
    assert sorted(np.concatenate(batches)) == list(range(103))
    assert {len(b) for b in batches} <= {9, 10}


def test_class_batches_hold_one_class_each(rng):
    y = rng.integers(0, 4, 250)
    batches = eg.class_batches(y, 20)
    assert sorted(np.concatenate(batches)) == list(range(250))
    assert all(len(set(y[b])) == 1 for b in batches)
    assert max(len(b) for b in batches) <= 20


def test_batch_mode_predictions_use_batch_statistics_and_restore_the_model(rng):
    model = trained_mlp(rng).eval()
    saved = eg.bn_statistics(model)
    x = rng.standard_normal((30, 6))
    batches = eg.shuffled_batches(30, 10, rng)
    labels = eg.batch_mode_predictions(model, x, batches)
    assert not model.training
    for (mean, var), (saved_mean, saved_var) in zip(eg.bn_statistics(model), saved):
        np.testing.assert_array_equal(mean, saved_mean)
        np.testing.assert_array_equal(var, saved_var)
    model.train()
    for idx in batches:                                   # the same, by hand
        np.testing.assert_array_equal(labels[idx], model.forward(x[idx]).argmax(axis=1))
    assert model.training


def test_batch_mode_predictions_reject_bad_batches(rng):
    model = trained_mlp(rng)
    x = rng.standard_normal((10, 6))
    with pytest.raises(ValueError, match="exactly once"):
        eg.batch_mode_predictions(model, x, [np.arange(5)])
    with pytest.raises(ValueError, match="batch of 1"):  # training mode cannot take one image
        eg.batch_mode_predictions(model, x, [np.arange(9), np.array([9])])
    assert model.training


def test_clone_is_independent_and_equal(rng):
    model = trained_mlp(rng).eval()
    copy = eg.clone_mlp(model)
    x = rng.standard_normal((5, 6))
    np.testing.assert_array_equal(copy.forward(x), model.forward(x))
    assert not copy.training and copy.bns[0].momentum == model.bns[0].momentum
    copy.params["W1"] += 1.0
    copy.bns[0].running_mean += 1.0
    assert not np.allclose(copy.forward(x), model.forward(x))
    frozen = eg.clone_mlp(eg.freeze_batchnorm(eg.clone_mlp(model)))
    assert all(isinstance(bn, eg.FrozenBatchNorm1d) for bn in frozen.bns)


def test_fold_mlp_gives_the_same_logits(rng):
    model = trained_mlp(rng).eval()
    folded = eg.fold_mlp(model)
    x = rng.standard_normal((20, 6))
    # float64; folding reorders a few multiplications and additions: rounding only
    np.testing.assert_allclose(folded.forward(x), model.forward(x), rtol=1e-12, atol=1e-12)
    assert not folded.use_bn and set(folded.params) == {"W1", "b1", "W2", "b2", "W3", "b3"}


def test_fold_mlp_refuses_training_mode_and_plain_networks(rng):
    with pytest.raises(RuntimeError, match="evaluation mode"):
        eg.fold_mlp(trained_mlp(rng))
    with pytest.raises(ValueError, match="no BN"):
        eg.fold_mlp(MLP((4, 3, 2)).eval())
    with pytest.raises(ValueError, match="before the nonlinearity"):
        eg.fold_mlp(MLP((4, 3, 2), use_bn=True, bn_position="after").eval())


def test_clone_keeps_bn_after_the_nonlinearity_and_refuses_other_norms(rng):
    model = MLP((4, 3, 2), use_bn=True, bn_position="after", rng=rng, dtype=np.float64)
    x = rng.standard_normal((6, 4))
    model.loss(x, rng.integers(0, 2, 6))
    copy = eg.clone_mlp(model.eval())
    assert copy.bn_position == "after"
    np.testing.assert_array_equal(copy.forward(x), model.forward(x))
    other = MLP((4, 3, 2), use_bn=True, norm_layer=lambda d: type("Norm", (), {
        "gamma": np.ones(d), "beta": np.zeros(d)})())
    with pytest.raises(TypeError, match="BatchNorm1d"):
        eg.clone_mlp(other)


def frozen_inputs(rng, n=5, d=4):
    """x (n, d), gamma, beta, running mean and variance (d,), all float64."""
    return (rng.standard_normal((n, d)) * 2 + 1, rng.standard_normal(d) + 1,
            rng.standard_normal(d), rng.standard_normal(d), rng.random(d) + 0.5)


def test_frozen_forward_equals_evaluation_mode(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    out, cache = eg.frozen_batchnorm_forward(x, gamma, beta, mean, var)
    np.testing.assert_allclose(out, batchnorm_eval_forward(x, gamma, beta, mean, var),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(out, gamma * cache.x_hat + beta, rtol=1e-13, atol=1e-13)


def test_frozen_backward_matches_central_differences(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    dout = rng.standard_normal(x.shape)
    assert_layer_gradients(lambda: eg.frozen_batchnorm_forward(x, gamma, beta, mean, var),
                           eg.frozen_batchnorm_backward, dout, (x, gamma, beta))


def test_frozen_backward_errors(rng):
    x, gamma, beta, mean, var = frozen_inputs(rng)
    _, cache = eg.frozen_batchnorm_forward(x, gamma, beta, mean, var)
    with pytest.raises(ValueError, match="dout must have shape"):
        eg.frozen_batchnorm_backward(np.zeros((2, 4)), cache)
    with pytest.raises(RuntimeError, match="before forward"):
        eg.frozen_batchnorm_backward(np.zeros((5, 4)), None)
    with pytest.raises(RuntimeError, match="before forward"):
        eg.FrozenBatchNorm1d(4).backward(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="running_var"):
        eg.frozen_batchnorm_forward(x, gamma, beta, mean, -var)


def test_frozen_mlp_gradients_match_central_differences(rng):
    model = eg.freeze_batchnorm(trained_mlp(rng))
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    assert_model_gradients(model, x, y, names=("W1", "gamma1", "beta2", "W3"))


def test_frozen_statistics_stay_put_while_gamma_learns(rng):
    model = trained_mlp(rng)
    statistics = eg.bn_statistics(model)
    eg.freeze_batchnorm(model)
    gamma_before = model.bns[0].gamma.copy()
    optimizer = SGD(model.flat_params, model.flat_grads, lr=0.5)
    for _ in range(3):
        model.loss(rng.standard_normal((8, 6)), rng.integers(0, 3, 8))
        optimizer.step()
    for (mean, var), (saved_mean, saved_var) in zip(eg.bn_statistics(model), statistics):
        np.testing.assert_array_equal(mean, saved_mean)
        np.testing.assert_array_equal(var, saved_var)
    assert model.bns[0].gamma is model.params["gamma1"]
    assert not np.allclose(model.bns[0].gamma, gamma_before)
    with pytest.raises(ValueError, match="no BN"):
        eg.freeze_batchnorm(MLP((4, 3, 2)))


def test_shift_contrast():
    x = np.array([[0.0, 1.0, 0.5]], np.float32)
    shifted = eg.shift_contrast(x)
    np.testing.assert_allclose(shifted, [[0.5, 1.0, 0.75]])
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(eg.shift_contrast(x, 0.8, 0.1), [[0.1, 0.9, 0.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="2 dimension"):
        eg.shift_contrast(np.zeros(3))


def test_run_eval_gap_records_everything_and_does_not_disturb_training(rng):
    data, config = small_data(rng), small_config()
    result, model = eg.run_eval_gap(config, data, progress=False)
    assert result["step"] == [25, 50, 60]
    for key in ("accuracy", "disagreement", "mean_gap", "var_gap"):
        assert all(len(values) == 3 for values in result[key].values()), key
        assert all(np.all(np.isfinite(values)) for values in result[key].values()), key
    assert set(result["accuracy"]) == {"population", "momentum 0.01", "momentum 0.1",
                                       "momentum 0.5", "batch mode"}
    # The same training by hand, with BN momentum 0.1 and no records in between.
    init_seed, batch_seed, _ = np.random.SeedSequence(config.seed).spawn(3)
    plain = MLP(config.sizes, use_bn=True, init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    optimizer, batches = SGD(plain.flat_params, plain.flat_grads, config.lr), minibatches(
        len(data[0]), config.batch_size, np.random.default_rng(batch_seed))
    for _ in range(config.steps):
        idx = next(batches)
        plain.loss(data[0][idx], data[1][idx])
        optimizer.step()
    np.testing.assert_array_equal(model.flat_params, plain.flat_params)
    for (mean, var), (ref_mean, ref_var) in zip(eg.bn_statistics(model), eg.bn_statistics(plain)):
        # float32: the variance update multiplies in a different order, so rounding differs
        np.testing.assert_allclose(mean, ref_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(var, ref_var, rtol=1e-5, atol=1e-6)
    assert not model.training
    assert "momentum 0.1" in eg.eval_gap_table(result)


def test_run_eval_gap_reports_divergence(rng):
    with pytest.raises(RuntimeError, match="at step"):
        with np.errstate(over="ignore", invalid="ignore"):
            eg.run_eval_gap(small_config(lr=1e30, steps=5), small_data(rng), progress=False)


def test_fine_tuning_keeps_the_original_and_freezes_statistics(rng):
    data = small_data(rng, d_in=12)
    _, model = eg.run_eval_gap(small_config(steps=30), data, progress=False)
    statistics, params = eg.bn_statistics(model), model.flat_params.copy()
    tuned, history = eg.fine_tune(model, data, steps=10, lr=0.1, freeze=True, eval_every=5)
    assert history["step"] == [0, 5, 10]
    np.testing.assert_array_equal(model.flat_params, params)      # the original is untouched
    for (mean, _), (tuned_mean, _) in zip(statistics, eg.bn_statistics(tuned)):
        np.testing.assert_array_equal(mean, tuned_mean)           # frozen: never updated
    assert not np.array_equal(tuned.flat_params, params)
    updating, _ = eg.fine_tune(model, data, steps=10, lr=0.1, freeze=False, eval_every=5)
    assert not np.allclose(eg.bn_statistics(updating)[0][0], statistics[0][0])


def test_run_fine_tuning_and_its_table(rng):
    x_train, y_train, x_test, y_test = small_data(rng, n_train=6000, d_in=12)
    data = (np.clip(x_train, 0, 1), y_train, np.clip(x_test, 0, 1), y_test)
    _, model = eg.run_eval_gap(small_config(steps=30), data, progress=False)
    result = eg.run_fine_tuning(model, data, steps=10, lrs=(0.01, 0.1), eval_every=5)
    assert set(result["runs"]) == {"frozen, lr 0.01", "frozen, lr 0.1",
                                   "updating, lr 0.01", "updating, lr 0.1"}
    assert set(result["original"]) == {"before", "re-estimated", *result["runs"]}
    table = eg.fine_tuning_table(result)
    assert f"{result['re-estimated']:.4f}" in table and "statistics frozen, lr 0.1" in table


def test_eval_gap_experiment_writes_its_files(rng, tmp_path, monkeypatch):
    x_train, y_train, x_test, y_test = small_data(rng, n_train=6000, n_test=200, d_in=784,
                                                  classes=10)
    data = (np.clip(x_train, 0, 1), y_train, np.clip(x_test, 0, 1), y_test)
    monkeypatch.setattr(eg, "load_mnist", lambda: data)
    monkeypatch.setattr(eg, "FINE_TUNING_STEPS", 20)
    args = argparse.Namespace(steps=30, seed=0, out=str(tmp_path))
    assert eg.eval_gap_experiment(args) == 0
    result = json.loads((tmp_path / "eval_gap.json").read_text())
    assert result["step"] == [25, 30] and result["fine_tuning"]["steps"] == 20
    assert (tmp_path / "eval_gap.png").stat().st_size > 0
    assert (tmp_path / "fine_tuning.png").stat().st_size > 0


def test_frozen_batchnorm_and_folding_match_torch(rng):
    """Optional oracle (skipped without torch): evaluation-mode BN with gradients, and
    torch.nn.utils.fuse_linear_bn_eval, in float64."""
    torch = pytest.importorskip("torch")
    x, gamma, beta, mean, var = frozen_inputs(rng)
    dout = rng.standard_normal(x.shape)
    tx, tgamma, tbeta = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tout = torch.nn.functional.batch_norm(tx, torch.tensor(mean), torch.tensor(var), tgamma,
                                          tbeta, training=False, eps=1e-5)
    tout.backward(torch.tensor(dout))
    out, cache = eg.frozen_batchnorm_forward(x, gamma, beta, mean, var)
    # both float64, different orders of operations: rounding only
    for ours, theirs in zip((out, *eg.frozen_batchnorm_backward(dout, cache)),
                            (tout, tx.grad, tgamma.grad, tbeta.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    model = trained_mlp(rng).eval()
    folded = eg.fold_mlp(model)
    linear = torch.nn.Linear(6, 5, bias=False).double().eval()
    bn = torch.nn.BatchNorm1d(5, eps=model.bns[0].eps).double().eval()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(model.params["W1"].T))
        bn.weight.copy_(torch.tensor(model.params["gamma1"]))
        bn.bias.copy_(torch.tensor(model.params["beta1"]))
        bn.running_mean.copy_(torch.tensor(model.bns[0].running_mean))
        bn.running_var.copy_(torch.tensor(model.bns[0].running_var))
    fused = torch.nn.utils.fuse_linear_bn_eval(linear, bn)
    np.testing.assert_allclose(folded.params["W1"], fused.weight.detach().numpy().T, rtol=1e-12)
    np.testing.assert_allclose(folded.params["b1"], fused.bias.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
