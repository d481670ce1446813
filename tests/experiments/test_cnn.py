"""Tests for bnlib/experiments/cnn.py: the protocol (choice on a validation split, planned
runs), training records, summaries and tables, on tiny data. The network's gradients are
checked in tests/test_conv.py."""
import dataclasses
import json

import numpy as np
import pytest

from bnlib import ConvNet, TrainingDiverged
from bnlib.experiments import cnn

TINY = cnn.CNNConfig(channels=(1, 2, 4), steps=30, eval_every=10, learning_rates=(0.03, 0.3),
                     validation=40, seeds=(0, 1), batch_size=20)


def fake_images(rng, n_train=200, n_test=60):
    """28 x 28 images (flat, float32 in [0, 1]) whose class is which quarter holds a bright
    square: learnable by a small CNN."""
    def draw(n):
        y = rng.integers(0, 4, n)
        x = 0.1 * rng.random((n, 28, 28))
        for i, label in enumerate(y):
            r, c = divmod(int(label), 2)
            x[i, 14 * r + 3:14 * r + 11, 14 * c + 3:14 * c + 11] += 0.9
        return x.reshape(n, 784).astype(np.float32), y
    return (*draw(n_train), *draw(n_test))


def test_make_cnn_gives_the_same_filters_to_both_networks(rng):
    plain = cnn.make_cnn("plain", TINY, np.random.default_rng(3))
    with_bn = cnn.make_cnn("bn", TINY, np.random.default_rng(3))
    assert isinstance(plain, ConvNet) and not plain.use_bn and with_bn.use_bn
    for name in ("W1", "W2", "W3"):
        np.testing.assert_array_equal(plain.params[name], with_bn.params[name])
    assert plain.params["W1"].shape == (2, 1, 3, 3) and plain.stride == 2
    with pytest.raises(ValueError, match="network must be one of"):
        cnn.make_cnn("resnet", TINY)


def test_train_cnn_records_learns_and_is_reproducible(rng):
    data = fake_images(rng)
    history, model = cnn.train_cnn("bn", 0.3, data, TINY, seed=2, progress=False)
    again, _ = cnn.train_cnn("bn", 0.3, data, TINY, seed=2, progress=False)
    assert history["step"] == [0, 10, 20, 30]
    assert history["test_acc"] == again["test_acc"]
    assert np.isnan(history["loss"][0]) and np.isfinite(history["loss"][1:]).all()
    assert history["test_acc"][-1] > 0.8 > history["test_acc"][0]          # it does learn
    assert model.training


def test_train_cnn_reports_divergence_with_its_step(rng):
    with pytest.raises(TrainingDiverged, match="step"):
        cnn.train_cnn("plain", 1e30, fake_images(rng), TINY, progress=False)


def test_validation_split_holds_out_the_last_training_images(rng):
    data = fake_images(rng)
    x, y, x_val, y_val = cnn.validation_split(data, 40)
    assert len(x) == 160 and len(x_val) == 40
    np.testing.assert_array_equal(x_val, data[0][-40:])
    with pytest.raises(ValueError, match="validation size"):
        cnn.validation_split(data, 0)


def test_selection_never_reads_the_test_set_and_keeps_the_best_rate(rng, monkeypatch):
    data = list(fake_images(rng))
    data[2] = np.full_like(data[2], np.nan)                 # a test set that would break it
    seen = []

    def fake_final(network, lr, split, config, seed, progress=False):
        seen.append(split)
        return {0.03: 0.5, 0.3: 0.9}[lr] if network == "plain" else {0.03: 0.7, 0.3: None}[lr]

    monkeypatch.setattr(cnn, "final_accuracy_or_none", fake_final)
    selection = cnn.select_learning_rates(tuple(data), TINY, progress=False)
    assert selection["chosen"] == {"plain": 0.3, "bn": 0.03}
    assert selection["validation_acc"]["bn"] == {"0.03": 0.7, "0.3": None}
    for split in seen:
        assert len(split[2]) == TINY.validation and not np.isnan(split[2]).any()


def test_planned_rates_are_the_chosen_ones_and_both_ends_of_the_trained_range():
    selection = {"validation_acc": {"plain": {"0.01": 0.9, "0.3": 0.97, "1.0": 0.1, "3.0": None},
                                    "bn": {"0.01": 0.93, "0.3": 0.98, "1.0": 0.95, "3.0": 0.11}},
                 "chosen": {"plain": 0.3, "bn": 0.3}}
    assert cnn.planned_rates(selection) == [0.01, 0.3, 1.0]     # 3.0: neither trained
    selection["chosen"]["bn"] = 1.0
    assert cnn.planned_rates(selection) == [0.01, 0.3, 1.0]
    selection["validation_acc"]["bn"]["1.0"] = 0.2
    selection["chosen"]["bn"] = 0.3
    assert cnn.planned_rates(selection) == [0.01, 0.3]


def test_run_cnn_summary_and_table(rng):
    result = cnn.run_cnn(TINY, fake_images(rng), progress=False)
    json.dumps(result)                                      # it can be saved as is
    assert result["config"] == dataclasses.asdict(TINY)
    assert result["rates"] == cnn.planned_rates(result["selection"])
    pairs = [(run["network"], run["lr"]) for run in result["runs"]]
    assert len(pairs) == 2 * 2 * len(result["rates"])      # seeds x networks x rates
    summary = cnn.summary(result)
    key = ("plain", result["rates"][0])
    plain = [r for r in result["runs"] if (r["network"], r["lr"]) == key]
    assert summary[key]["mean"] == pytest.approx(np.mean([r["test_acc"][-1] for r in plain]))
    assert list(summary)[:2] == [key, ("bn", result["rates"][0])]          # by rate, plain first
    table = cnn.cnn_table(result)
    assert "chosen:" in table and f"{summary[key]['mean']:.4f}" in table


def test_steps_to_reach_and_diverged_runs_in_the_summary():
    assert cnn.steps_to_reach([0, 10, 20], [0.1, 0.97, 0.99], 0.97) == 10
    assert cnn.steps_to_reach([0, 10, 20], [0.1, 0.5, 0.9], 0.97) is None
    result = {"runs": [dict(network="bn", lr=1.0, seed=0, step=[0, 10], test_acc=[0.1, 0.98]),
                       dict(network="bn", lr=1.0, seed=1, diverged_at=7)]}
    entry = cnn.summary(result)["bn", 1.0]
    assert entry["diverged"] == 1 and entry["final"] == [0.98]
    assert entry["steps_to"] == {"0.97": [10], "0.98": [10]}
