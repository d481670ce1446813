"""Tests for bnlib/experiments/fig1_fair.py: the fair comparison on tiny data (the full run is
not part of the tests): the schedule, the validation split, the choice of the learning rate,
the thresholds, and that the test set plays no part in the choice."""
import dataclasses

import numpy as np
import pytest

from bnlib.experiments.fig1 import Fig1Config, run_network
from bnlib.experiments.fig1_fair import (FairConfig, choose_lr, fair_summary, fair_table,
                                         run_fig1_fair, schedule, steps_to, train_run,
                                         validation_score, validation_split)
from helpers import mnist_slice

TINY = FairConfig(lrs=(0.1, 1.0), steps=40, seeds=(0,), dense_until=20, dense_every=10,
                  sparse_every=20)


@pytest.fixture(scope="module")
def mnist_small():
    """The first 1,200 training and 300 test images of MNIST."""
    return mnist_slice(1200, 300)


def test_schedule_is_fine_early_coarse_later_and_ends_at_the_last_step():
    config = FairConfig()
    steps = schedule(config)
    assert steps[:3] == [0, 100, 200] and 5000 in steps and steps[-1] == 50_000
    assert set(np.diff([s for s in steps if s <= 5000])) == {100}
    assert set(np.diff([s for s in steps if s >= 5000])) == {500}
    assert schedule(dataclasses.replace(config, steps=250)) == [0, 100, 200, 250]


def test_validation_split_holds_out_the_last_training_images_and_never_the_test_set():
    x_train, y_train = np.arange(60_000)[:, None], np.arange(60_000)
    x_test, y_test = -np.ones((10, 1)), -np.ones(10)
    x_fit, y_fit, x_val, y_val = validation_split((x_train, y_train, x_test, y_test), 10_000)
    assert len(x_fit) == 50_000 and y_val[0] == 50_000 and y_val[-1] == 59_999
    assert not np.any(x_val < 0) and not np.any(y_val < 0)        # nothing from the test set
    assert len(validation_split((x_train[:600], y_train[:600], x_test, y_test), 10_000)[2]) == 100


def test_choice_takes_the_best_tail_mean_and_skips_diverged_runs():
    config = FairConfig(steps=1000, tail=0.2)
    run = lambda accs: {"step": [0, 600, 800, 900, 1000], "accuracy": accs, "diverged_at": None}
    assert validation_score(run([0.1, 0.9, 0.5, 0.6, 0.7]), config) == pytest.approx(0.6)
    scores = {"0.1": 0.90, "0.3": 0.93, "1": None, "3": 0.92}
    assert choose_lr(scores) == "0.3" and choose_lr({"1": None}) is None
    assert validation_score({**run([0.1] * 5), "diverged_at": 3}, config) is None


def test_steps_to_is_the_first_record_at_or_above_the_threshold():
    run = {"step": [0, 100, 200, 300], "accuracy": [0.1, 0.95, 0.94, 0.97]}
    assert steps_to(run, 0.95) == 100 and steps_to(run, 0.97) == 300
    assert steps_to(run, 0.98) is None


def test_a_run_trains_like_fig1_with_the_same_seed(mnist_small):
    """Same initial weights and minibatches as run_network: the same test accuracy."""
    task = {"bn": True, "lr": 0.1, "seed": 3, "split": "test", "config": TINY,
            "data": mnist_small, "subset": None}
    ours = train_run(task)
    theirs = run_network(True, Fig1Config(steps=40, eval_every=20, seed=3), mnist_small)
    assert ours["step"] == [0, 10, 20, 40] and theirs["step"] == [0, 20, 40]
    assert ours["accuracy"][-1] == pytest.approx(theirs["test_acc"][-1], abs=1e-5)
    assert ours["diverged_at"] is None and len(ours["p50"]) == 4


def test_a_diverging_run_is_recorded_not_raised(mnist_small):
    task = {"bn": True, "lr": 1e30, "seed": 0, "split": "validation", "config": TINY,
            "data": mnist_small, "subset": None}
    run = train_run(task)
    assert run["diverged_at"] is not None and run["step"][0] == 0
    assert validation_score(run, TINY) is None


def test_the_choice_does_not_depend_on_the_test_set(mnist_small):
    scrambled = (*mnist_small[:3], np.zeros_like(mnist_small[3]))   # test labels all 0
    results = [run_fig1_fair(TINY, data=data, progress=False) for data in (mnist_small, scrambled)]
    assert results[0]["scores"] == results[1]["scores"]
    assert results[0]["chosen"] == results[1]["chosen"]
    assert results[0]["runs"]["paper"]["bn"][0]["accuracy"] != \
        results[1]["runs"]["paper"]["bn"][0]["accuracy"]          # the test set is scored


def test_result_records_config_grid_choice_and_runs(mnist_small):
    result = run_fig1_fair(TINY, data=mnist_small, progress=False)
    assert result["config"]["seeds"] == (0,) and result["config"]["lrs"] == (0.1, 1.0)
    for name in ("plain", "bn"):
        assert list(result["grid"][name]) == ["0.1", "1"]
        assert result["chosen"][name] in (0.1, 1.0)
        assert result["summary"]["paper"][name]["lr"] == 0.1
        assert result["summary"]["fair"][name]["lr"] == result["chosen"][name]
        if result["chosen"][name] == 0.1:      # the paper's runs are reused, not repeated
            assert result["runs"]["fair"][name] == result["runs"]["paper"][name]
    table = fair_table(result)
    assert "chosen lr" in table and "paper" in table and "fair" in table
    with pytest.raises(ValueError, match="jobs"):
        run_fig1_fair(TINY, data=mnist_small, jobs=2)


def test_summary_counts_steps_to_each_threshold_per_seed():
    run = lambda accs: {"step": [0, 5000, 10000], "accuracy": accs, "p15": [0, 0, 0],
                        "p85": [1, 2, 4], "diverged_at": None}
    result = {"config": {"thresholds": (0.95, 0.97), "reference_lr": 0.1},
              "chosen": {"plain": 1.0, "bn": 0.1},
              "runs": {"paper": {"plain": [run([0.1, 0.8, 0.96])], "bn": [run([0.1, 0.96, 0.98])]},
                       "fair": {"plain": [run([0.1, 0.97, 0.975])],
                                "bn": [run([0.1, 0.96, 0.98])]}}}
    summary = fair_summary(result)
    assert summary["paper"]["plain"]["steps_to_0.95"] == [10000]
    assert summary["paper"]["plain"]["steps_to_0.97"] == [None]
    assert summary["fair"]["plain"] == {
        "lr": 1.0, "steps_to_0.95": [5000], "steps_to_0.97": [5000], "acc_5000": [0.97],
        "final": [0.975], "final_mean": 0.975, "spread_growth": [4.0]}
