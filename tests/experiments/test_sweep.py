"""Tests for bnlib/experiments/sweep.py: the learning-rate x init sweep and the probe inside
the networks at a large learning rate, on tiny data."""
import numpy as np
import pytest

from bnlib.experiments.fig1 import Fig1Config, initial_model
from bnlib.experiments.sweep import (ProbeConfig, large_lr_probe, lr_init_sweep, probe_run,
                                     probe_table, saturated_share, stuck_share)
from helpers import mnist_slice

TINY = ProbeConfig(init_stds=(0.01, 1.0), steps=12, every=5, seeds=(0,))


@pytest.fixture(scope="module")
def mnist_small():
    """The first 600 training and 300 test images of MNIST."""
    return mnist_slice(600, 300)


def test_saturated_and_stuck_shares():
    z = np.array([[5.0, -5.0, 5.0, 0.0],
                  [6.0, 1.0, -6.0, 0.0]])            # (2 rows, 4 units)
    assert saturated_share(z, 4.0) == pytest.approx(5 / 8)
    assert stuck_share(z, 4.0) == pytest.approx(1 / 4)     # unit 0: above 4 in every row
    assert stuck_share(-z[:, :1], 4.0) == 1.0


def test_sweep_has_one_accuracy_per_cell(mnist_small):
    result = lr_init_sweep([0.1, 1.0], [0.05], steps=5, data=mnist_small, progress=False)
    assert np.shape(result["plain"]) == (1, 2) and np.shape(result["bn"]) == (1, 2)
    assert all(0 <= a <= 1 for row in result["bn"] for a in row)


def test_probe_records_every_early_step_then_every_few(mnist_small):
    run = probe_run({"variant": "bn", "init_std": 0.05, "seed": 0, "config": TINY,
                     "data": mnist_small})
    assert run["step"] == [1, 2, 3, 4, 5, 10]
    assert len(run["growth"][0]) == 4 and len(run["saturated"][0]) == 3
    assert run["growth"][0] == [1.0, 1.0, 1.0, 1.0]       # before the first update
    assert all(s > 0 for s in run["relative_step"][0])


def test_probe_gain_at_step_1_is_one_over_the_batch_std(mnist_small):
    """gamma starts at 1, so the first gain is median 1 / sqrt(sigma_B^2 + eps) of x @ W1."""
    run = probe_run({"variant": "bn", "init_std": 0.05, "seed": 0, "config": TINY,
                     "data": mnist_small})
    model, batch_rng = initial_model(True, Fig1Config(init_std=0.05, seed=0))
    first = batch_rng.permutation(len(mnist_small[0]))[:60]        # the first minibatch
    z = mnist_small[0][first] @ model.params["W1"]                  # (60, 100)
    expected = np.median(1 / np.sqrt(z.var(axis=0) + 1e-5))
    assert run["gain"][0][0] == pytest.approx(expected, rel=1e-3)


def test_held_norms_stay_at_their_start_and_plain_has_no_gain(mnist_small):
    held = probe_run({"variant": "bn_held", "init_std": 0.05, "seed": 0,
                      "config": ProbeConfig(steps=12, every=5, lr=10.0), "data": mnist_small})
    free = probe_run({"variant": "bn", "init_std": 0.05, "seed": 0,
                      "config": ProbeConfig(steps=12, every=5, lr=10.0), "data": mnist_small})
    np.testing.assert_allclose(held["growth_end"][:3], 1.0, rtol=1e-4)
    assert free["growth_end"][0] > 1.05                           # lr 10 grows them otherwise
    plain = probe_run({"variant": "plain", "init_std": 0.05, "seed": 0, "config": TINY,
                       "data": mnist_small})
    assert plain["gain"] == [[]] * len(plain["step"])


def test_probe_result_and_table(mnist_small):
    result = large_lr_probe(TINY, data=mnist_small, progress=False)
    assert list(result["runs"]) == ["plain", "bn", "bn_held"]
    assert list(result["runs"]["bn"]) == ["0.01", "1"]
    row = result["summary"]["bn"]["0.01"]
    assert len(row["test_acc"]) == 3 and len(row["stuck_end"]) == 3
    assert result["summary"]["plain"]["1"]["gain_end"] is None
    table = probe_table(result)
    assert "BN, norms held" in table and "without BN" in table
    with pytest.raises(ValueError, match="jobs"):
        large_lr_probe(TINY, data=mnist_small, jobs=2)
