"""Tests for bnlib/experiments/regularization.py: the split, the four networks, one run, the
choice of learning rate, the summary and the tables, on a tiny made-up task."""
import dataclasses

import numpy as np
import pytest

from bnlib import MLP, TrainingDiverged, softmax_cross_entropy
from bnlib.experiments import regularization as reg
from helpers import small_classification_data

TINY = reg.RegularizationConfig(n_train=120, n_val=60, steps=30, lrs=(0.3, 3.0), seeds=(0, 1),
                                sizes=(12, 16, 3), batch_size=20, record_every=10)


@pytest.fixture(scope="module")
def data():
    """240 training and 90 test rows of a 3-class task with 12 inputs."""
    return small_classification_data(np.random.default_rng(5))


def test_split_keeps_validation_apart_and_is_reproducible(data):
    (x_sub, y_sub), (x_val, y_val), (x_test, _) = reg.split(data, TINY)
    assert x_sub.shape == (120, 12) and x_val.shape == (60, 12) and x_test is data[2]
    np.testing.assert_array_equal(x_val, data[0][-60:])         # the last training rows
    pool = {row.tobytes() for row in data[0][:-60]}
    assert all(row.tobytes() in pool for row in x_sub)           # never a validation row
    assert len({row.tobytes() for row in x_sub}) == 120          # drawn without replacement
    np.testing.assert_array_equal(reg.split(data, TINY)[0][0], x_sub)
    with pytest.raises(ValueError, match="cannot give"):
        reg.split(data, dataclasses.replace(TINY, n_train=200))


def test_accuracy_and_loss_by_hand_and_mode_restored(rng):
    model = MLP((4, 5, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((25, 4)), rng.integers(0, 3, 25)
    model.loss(x, y)                                             # some running statistics
    accuracy, loss = reg.accuracy_and_loss(model, x, y, batch_size=7)   # 4 chunks
    assert model.training
    model.eval()
    logits = model.forward(x)
    assert accuracy == np.mean(logits.argmax(axis=1) == y)
    assert loss == pytest.approx(softmax_cross_entropy(logits, y)[0], rel=1e-12)


def test_the_four_networks_share_their_start(data):
    nets = {name: reg.make_network(name, TINY, seed=3)[0] for name in reg.NETWORKS}
    assert [n.use_bn for n in nets.values()] == [False, False, True, True]
    assert [n.dropout for n in nets.values()] == [0.0, TINY.dropout, 0.0, TINY.dropout]
    for net in nets.values():
        np.testing.assert_array_equal(net.params["W1"], nets["plain"].params["W1"])
    with pytest.raises(ValueError, match="network must be one of"):
        reg.make_network("batchnorm", TINY, seed=0)


def test_train_once_records_curves_and_is_reproducible(data):
    splits = reg.split(data, TINY)
    first = reg.train_once("bn_dropout", 1.0, 0, TINY, splits)
    again = reg.train_once("bn_dropout", 1.0, 0, TINY, splits)
    assert first["curve"]["step"] == [0, 10, 20, 30] and first == again
    assert first["gap"] == pytest.approx(first["train_acc"] - first["test_acc"])
    assert first["train_acc"] > 0.8 and first["diverged_at"] is None   # an easy task
    other_seed = reg.train_once("bn_dropout", 1.0, 1, TINY, splits)
    assert other_seed["train_loss"] != first["train_loss"]
    # the control: BN evaluated with population statistics; none without BN
    assert 0 < first["test_acc_population"] <= 1
    assert reg.train_once("dropout", 1.0, 0, TINY, splits)["test_acc_population"] is None


def test_a_divergence_is_recorded_not_raised(data, monkeypatch):
    def diverge(model, optimizer, x, y, step):
        raise TrainingDiverged(step, "the training loss became nan")
    monkeypatch.setattr(reg, "train_step", diverge)
    row = reg.train_once("plain", 1.0, 0, TINY, reg.split(data, TINY))
    assert row["diverged_at"] == 1 and all(row[key] is None for key in reg.END_KEYS)


def test_choose_lr_by_mean_validation_skipping_divergences():
    run = lambda lr, val: {"network": "bn", "lr": lr, "val_acc": val}
    assert reg.choose_lr([run(0.1, 0.8), run(0.1, 0.9), run(1.0, 0.84), run(1.0, 0.84)]) == 0.1
    assert reg.choose_lr([run(0.1, 0.8), run(1.0, 0.8)]) == 0.1            # a tie: the smaller
    assert reg.choose_lr([run(0.1, 0.5), run(3.0, 0.99), run(3.0, None)]) == 0.1
    with pytest.raises(TrainingDiverged, match="every learning rate diverged for BN"):
        reg.choose_lr([run(3.0, None)])


def test_summarize_gives_mean_and_std_over_seeds():
    runs = [{"lr": 1.0, "seed": s, **{k: v for k in reg.END_KEYS}} for s, v in ((0, 0.2),
                                                                                 (1, 0.4))]
    summary = reg.summarize(runs)
    assert summary["lr"] == 1.0 and summary["seeds"] == [0, 1]
    assert summary["gap"] == pytest.approx([0.3, 0.1])
    runs[0]["test_acc_population"] = None                   # a network without BN
    assert reg.summarize(runs)["test_acc_population"] is None


def test_run_regularization_chooses_and_summarizes(data):
    result = reg.run_regularization(TINY, data, progress=False)
    assert len(result["runs"]) == 4 * 2 * 2 and set(result["chosen_lr"]) == set(reg.NETWORKS)
    for run in result["runs"]:
        chosen = run["lr"] == result["chosen_lr"][run["network"]]
        assert ("curve" in run) == chosen                  # curves only where they are read
    for name, row in result["summary"].items():
        assert row["lr"] == result["chosen_lr"][name] and row["seeds"] == [0, 1]
        val = [r["val_acc"] for r in result["runs"]
               if r["network"] == name and r["lr"] == row["lr"]]
        others = [np.mean([r["val_acc"] for r in result["runs"]
                           if r["network"] == name and r["lr"] == lr]) for lr in TINY.lrs]
        assert np.mean(val) == max(others)
    table = reg.regularization_table(result).splitlines()
    assert len(table) == 6 and table[0].split()[:3] == ["network", "lr", "train"]
    assert table[3].startswith("BN ") and "±" in table[3]
    assert table[1].split()[-1] == "-" and table[3].split()[-1] != "-"   # pop. stats: BN only
    grid = reg.lr_table(result).splitlines()
    assert len(grid) == 5 and "lr 0.3" in grid[0] and grid[4].startswith("BN + dropout")
    gaps = reg.lr_table(result, "gap").splitlines()
    plain_at_3 = [r["gap"] for r in result["runs"] if (r["network"], r["lr"]) == ("plain", 3.0)]
    assert gaps[1].split()[-1] == f"{np.mean(plain_at_3):.4f}"
