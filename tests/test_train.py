"""Tests for bnlib/train.py: one step, what the loop records, and how it stops when training
diverges."""
import numpy as np
import pytest
from tqdm.auto import tqdm

from bnlib import (MLP, SGD, GroupNorm1d, LayerNorm1d, TrainingDiverged, evaluate, minibatches,
                   train, train_step)
from bnlib.train import population_statistics


@pytest.fixture
def tiny_data(rng):
    """A separable 3-class problem small enough to train in a fraction of a second."""
    centres = 3 * rng.standard_normal((3, 8))
    y = rng.integers(0, 3, 600)
    x = (centres[y] + rng.standard_normal((600, 8))).astype(np.float32)
    return x[:500], y[:500], x[500:], y[500:]


def test_minibatches_cover_each_epoch_once(rng):
    batches = minibatches(10, 3, rng)
    epoch = np.concatenate([next(batches) for _ in range(3)])
    assert len(set(epoch)) == 9 and all(len(next(batches)) == 3 for _ in range(5))


@pytest.mark.parametrize("use_bn", [False, True])
def test_train_records_and_learns(rng, tiny_data, use_bn):
    model = MLP((8, 16, 16, 3), use_bn=use_bn, init_std=0.3, rng=rng)
    history = train(model, tiny_data, steps=200, lr=0.5, eval_every=50, rng=rng, progress=False)
    assert history["step"] == [0, 50, 100, 150, 200]
    assert history["percentiles"][0].shape == (2, 3)
    assert len(history["grad_norms"][-1]) == 2
    assert np.isnan(history["loss"][0]) and np.isfinite(history["loss"][-1])
    assert history["test_acc"][-1] > 0.9 > history["test_acc"][0]


def test_unit_medians_follow_every_unit_of_the_last_hidden_layer(rng, tiny_data):
    model = MLP((8, 16, 5, 3), use_bn=True, init_std=0.3, rng=rng)
    history = train(model, tiny_data, steps=20, lr=0.5, eval_every=10, rng=rng, progress=False,
                    unit=2, unit_medians=True)
    assert [m.shape for m in history["unit_medians"]] == [(5,)] * 3
    # the followed unit's median is the middle one of its three percentiles
    for medians, percentiles in zip(history["unit_medians"], history["percentiles"]):
        np.testing.assert_allclose(medians[2], percentiles[-1][1], rtol=1e-6)
    assert "unit_medians" not in train(model, tiny_data, steps=2, lr=0.5, rng=rng, progress=False)


def test_train_with_explicit_record_steps(rng, tiny_data):
    model = MLP((8, 4, 3), rng=rng)
    history = train(model, tiny_data, steps=30, lr=0.1, eval_every=[5, 7], rng=rng, progress=False)
    assert history["step"] == [0, 5, 7, 30]


def test_evaluate_percentiles_are_ordered(rng, tiny_data):
    model = MLP((8, 16, 16, 3), use_bn=True, init_std=0.3, rng=rng)
    accuracy, percentiles = evaluate(model, tiny_data[2], tiny_data[3], unit=3)
    assert 0 <= accuracy <= 1
    assert np.all(np.diff(percentiles, axis=1) >= 0)


def test_divergence_stops_with_the_step_and_a_hint(rng, tiny_data):
    model = MLP((8, 16, 3), activation="relu", init_std=3.0, rng=rng)
    with pytest.raises(TrainingDiverged, match=r"at step \d+ \(lr=1e\+06\).*lower one") as error:
        train(model, tiny_data, steps=500, lr=1e6, rng=rng, progress=False)
    assert 1 <= error.value.step <= 500 and isinstance(error.value, RuntimeError)


def test_a_bn_network_that_blows_up_raises_training_diverged_with_its_step(rng, tiny_data):
    """BN's own check (its batch variance overflows float32) is reported like a non-finite loss:
    one error, naming the step, not the ValueError of the check inside BN."""
    model = MLP((8, 16, 16, 3), use_bn=True, activation="relu", init_std=1.0, rng=rng)
    with pytest.raises(TrainingDiverged) as error:
        train(model, tiny_data, steps=200, lr=1e30, rng=rng, progress=False)
    assert "batch" in error.value.reason and 1 <= error.value.step <= 200
    assert "not finite" in str(error.value)


def test_train_step_leaves_the_parameters_alone_when_it_diverges(rng, tiny_data):
    model = MLP((8, 4, 3), use_bn=True, rng=rng)          # BN's batch mean becomes infinite
    before = model.flat_params.copy()
    x = tiny_data[0][:10].copy()
    x[0, 0] = np.inf
    with pytest.raises(TrainingDiverged, match="step 7"):
        train_step(model, SGD(model.flat_params, model.flat_grads, 0.1), x, tiny_data[1][:10], 7)
    np.testing.assert_array_equal(model.flat_params, before)


def test_the_progress_bar_is_closed_when_training_diverges(rng, tiny_data):
    model = MLP((8, 16, 3), activation="relu", init_std=3.0, rng=rng)
    open_bars = len(tqdm._instances)
    with pytest.raises(TrainingDiverged):
        train(model, tiny_data, steps=500, lr=1e6, rng=rng, progress=True)
    assert len(tqdm._instances) == open_bars


def test_evaluate_sees_every_test_row_beyond_one_chunk(rng):
    """predict() runs in chunks of 10,000: the percentiles must cover all 12,000 rows, not the
    last chunk's 2,000 (the first 10,000 rows here are small, the last 2,000 large)."""
    model = MLP((3, 4, 2), use_bn=False, init_std=1.0, rng=rng, dtype=np.float64)
    x = np.concatenate([0.01 * rng.standard_normal((10000, 3)), 100 + rng.standard_normal((2000, 3))])
    y = rng.integers(0, 2, 12000)
    accuracy, percentiles = evaluate(model, x, y, unit=1)
    z = x @ model.params["W1"] + model.params["b1"]                  # (12000, 4)
    np.testing.assert_allclose(percentiles[0], np.percentile(z[:, 1], (15, 50, 85)), rtol=1e-12)
    assert accuracy == pytest.approx(np.mean(model.predict(x) == y))


def test_on_record_sees_every_record(rng, tiny_data):
    model = MLP((8, 4, 3), rng=rng)
    seen = []
    train(model, tiny_data, steps=20, lr=0.1, eval_every=10, rng=rng, progress=False,
          on_record=lambda history: seen.append(history["step"][-1]))
    assert seen == [0, 10, 20]


def test_population_statistics_are_used_then_the_running_ones_restored(rng, tiny_data):
    model = MLP((8, 6, 3), use_bn=True, rng=rng, init_std=0.5)
    train(model, tiny_data, steps=5, lr=0.1, rng=rng, progress=False)
    running = model.bns[0].running_mean.copy()
    x = tiny_data[0][:120]                          # two batches of 60
    with population_statistics(model, x):
        inside = model.bns[0].running_mean.copy()
        assert not model.training
    np.testing.assert_array_equal(model.bns[0].running_mean, running)
    assert model.training                           # back in training mode
    # Algorithm 2's mean of the first BN input: the average of the two batch means
    z = x.astype(np.float32) @ model.params["W1"]
    np.testing.assert_allclose(inside, (z[:60].mean(0) + z[60:].mean(0)) / 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm_layer", [lambda d: LayerNorm1d(d), lambda d: GroupNorm1d(d, 2)],
                         ids=["layer norm", "group norm"])
def test_population_statistics_leave_a_network_without_bn_statistics_alone(rng, tiny_data,
                                                                            norm_layer):
    """Layer norm and group norm keep no running statistics: nothing to recompute, no error."""
    model = MLP((8, 6, 3), use_bn=True, norm_layer=norm_layer, rng=rng)
    history = train(model, tiny_data, steps=4, lr=0.1, rng=rng, progress=False,
                    population_x=tiny_data[0][:120])
    assert len(history["test_acc"]) == 2
