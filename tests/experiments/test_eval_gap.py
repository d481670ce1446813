"""Tests for bnlib/experiments/eval_gap.py: running averages side by side, the train/eval gap."""
import numpy as np
import pytest

from bnlib import MLP, SGD, BatchNorm1d, bn_statistics, minibatches
from bnlib.experiments import eval_gap as eg
from bnlib.experiments.fig1 import Fig1Config
from helpers import small_classification_data as small_data
from helpers import trained_mlp


def small_config(**changes):
    """An EvalGapConfig for the made-up task: a 12-8-6-3 network, a few dozen steps."""
    settings = dict(steps=60, sizes=(12, 8, 6, 3), batch_size=10, population_images=120,
                    lr=0.3, init_std=0.5)
    return eg.EvalGapConfig(**{**settings, **changes})


def test_config_matches_the_fig1_experiment():
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
    for (mean, var), (ref_mean, ref_var) in zip(bn_statistics(model), bn_statistics(plain)):
        # float32: the variance update multiplies in a different order, so rounding differs
        np.testing.assert_allclose(mean, ref_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(var, ref_var, rtol=1e-5, atol=1e-6)
    assert not model.training
    assert "momentum 0.1" in eg.eval_gap_table(result)


def test_trained_network_is_run_eval_gaps_model_bit_for_bit(rng):
    data, config = small_data(rng), small_config(steps=40)
    _, measured = eg.run_eval_gap(config, data, progress=False)
    plain = eg.trained_network(config, data, progress=False)
    np.testing.assert_array_equal(plain.flat_params, measured.flat_params)
    for (mean, var), (ref_mean, ref_var) in zip(bn_statistics(plain), bn_statistics(measured)):
        np.testing.assert_array_equal(mean, ref_mean)
        np.testing.assert_array_equal(var, ref_var)
    assert not plain.training


def test_run_eval_gap_reports_divergence(rng):
    with pytest.raises(RuntimeError, match="at step"):
        with np.errstate(over="ignore", invalid="ignore"):
            eg.run_eval_gap(small_config(lr=1e30, steps=5), small_data(rng), progress=False)
