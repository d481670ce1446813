"""Tests for bnlib/experiments/batch_size.py: protocol, measurements, tables."""
import dataclasses
import json

import numpy as np
import pytest

from bnlib import BatchNorm1d, GroupNorm1d, LayerNorm1d, batchnorm_backward, batchnorm_forward
from bnlib import TrainingDiverged
from bnlib.experiments import batch_size as bs

SIZES = (8, 12, 12, 3)


def fake_data(rng, n_train=400, n_test=64, d=SIZES[0]):
    """A learnable 3-class problem with MNIST's layout (x in [0, 1], float32; int64 labels)."""
    x = rng.random((n_train + n_test, d)).astype(np.float32)
    y = (x[:, 0] > 0.33).astype(np.int64) + (x[:, 0] > 0.66)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def small_config(**changes):
    settings = dict(batch_sizes=(2, 16), examples=320, sizes=SIZES, init_std=0.3,
                    num_groups=3, seeds=(0,), train_mode_images=64, reference_lr=0.5)
    return bs.BatchSizeConfig(**{**settings, **changes})


def test_learning_rate_scales_linearly_from_the_fig1_setting():
    config = bs.BatchSizeConfig()
    assert bs.learning_rate(config, 60) == pytest.approx(0.1)      # Fig1Config's lr at batch 60
    assert bs.learning_rate(config, 2) == pytest.approx(0.1 / 30)
    assert bs.learning_rate(config, 240) == pytest.approx(0.4)


@pytest.mark.parametrize("norm, layer", [("batch", BatchNorm1d), ("layer", LayerNorm1d),
                                         ("group", GroupNorm1d)])
def test_make_model_puts_the_norm_in_every_hidden_layer_from_the_same_weights(rng, norm, layer):
    config = small_config()
    model = bs.make_model(norm, config, np.random.default_rng(4))
    plain = bs.make_model("none", config, np.random.default_rng(4))
    assert len(model.bns) == 2 and all(type(b) is layer for b in model.bns)
    assert plain.bns == [] and "b1" in plain.params
    for k in (1, 2, 3):
        np.testing.assert_array_equal(model.params[f"W{k}"], plain.params[f"W{k}"])
    if norm == "group":
        assert model.bns[0].num_groups == 3
    with pytest.raises(ValueError, match="norm must be one of"):
        bs.make_model("instance", config, rng)


def test_train_at_batch_size_learns_reproducibly_and_follows_the_protocol(rng):
    data, config = fake_data(rng), small_config()
    for norm in bs.NORMS:
        run, model = bs.train_at_batch_size(norm, 16, config, data, seed=2)
        again, _ = bs.train_at_batch_size(norm, 16, config, data, seed=2)
        assert {k: v for k, v in run.items() if k != "seconds"} == \
            {k: v for k, v in again.items() if k != "seconds"}
        assert run["steps"] == 320 // 16 and run["lr"] == pytest.approx(0.5 * 16 / 60)
        assert model.training                           # as training left it
        assert 0.0 <= run["test_acc"] <= 1.0
        assert (run["train_mode_acc"] is None) == (norm != "batch")
    run, _ = bs.train_at_batch_size("layer", 16, small_config(examples=3200), data)
    assert run["test_acc"] > 0.8                                    # it does learn


def test_fit_reports_a_non_finite_loss_as_training_diverged(rng):
    data = list(fake_data(rng))
    data[0] = data[0].copy()
    data[0][:, 1] = np.nan
    config = small_config()
    for norm in ("none", "batch"):                  # NaN loss; BN's own check of the batch mean
        model = bs.make_model(norm, config, rng)
        with pytest.raises(TrainingDiverged, match="step 1") as diverged:
            bs.fit(model, data, 5, 0.1, 16, rng)
        assert diverged.value.step == 1
    result = bs.batch_size_sweep(small_config(norms=("none",), batch_sizes=(16,)), data)
    assert result["runs"][0]["test_acc"] is None and result["runs"][0]["diverged_at"] == 1
    assert "div." in bs.batch_size_table(result)


def test_training_mode_accuracy_leaves_the_statistics_alone(rng):
    data = fake_data(rng)
    _, model = bs.train_at_batch_size("batch", 2, small_config(), data)
    saved = [(b.running_mean.copy(), b.running_var.copy()) for b in model.bns]
    accuracy = bs.training_mode_accuracy(model, data[2], data[3], 2, rng)
    assert 0.0 <= accuracy <= 1.0 and model.training    # its mode is kept
    for b, (mean, var) in zip(model.bns, saved):
        np.testing.assert_array_equal(b.running_mean, mean)
        np.testing.assert_array_equal(b.running_var, var)


def test_sweep_covers_every_combination_and_the_tables_show_its_means(rng):
    data, config = fake_data(rng), small_config(batch_sizes=(2, 32), seeds=(0, 1))
    kept = []
    result = bs.batch_size_sweep(config, data, on_run=lambda run, model: kept.append(model))
    assert len(result["runs"]) == len(kept) == 2 * 2 * 4
    assert {(r["seed"], r["batch_size"], r["norm"]) for r in result["runs"]} == \
        {(s, b, n) for s in (0, 1) for b in (2, 32) for n in bs.NORMS}
    json.dumps(result)                                             # it can be saved as is
    means = bs.mean_accuracy(result, "group")
    runs = [r["test_acc"] for r in result["runs"] if r["norm"] == "group" and r["batch_size"] == 2]
    assert means[2] == pytest.approx(np.mean(runs))
    table = bs.batch_size_table(result)
    assert f"{means[2]:.4f}" in table and "BN train mode" in table and "2 seed(s)" in table
    wu_he = bs.wu_he_table(result).splitlines()
    assert wu_he[0].split()[-4:] == ["batch", "32", "batch", "2"]
    assert wu_he[1].split()[-2:] == ["23.6", "34.7"]          # only the sweep's batch sizes
    ours = [line for line in wu_he if "ours" in line and "group norm" in line][0]
    assert ours.split()[-2:] == [f"{100 * (1 - means[32]):.1f}", f"{100 * (1 - means[2]):.1f}"]
    assert "no norm" in wu_he[-1]                               # last: not in their figure


def test_a_batch_of_two_normalises_to_plus_minus_one_and_passes_almost_no_gradient(rng):
    scale = np.array([0.3] * 25 + [30.0] * 25)                     # any scale
    delta = rng.choice([-1, 1], 50) * rng.uniform(0.5, 2.0, 50) * scale
    x = np.stack([rng.standard_normal(50) * scale, np.zeros(50)])
    x[1] = x[0] - delta                                            # x_1 - x_2 = delta
    out, cache = batchnorm_forward(x, np.ones(50), np.zeros(50))
    np.testing.assert_allclose(out[0], delta / np.sqrt(delta ** 2 + 4e-5), rtol=1e-10)
    # 1 - |x_hat| is about 2 eps / delta^2 <= 2e-5 / 0.15^2 ~ 9e-4 here
    np.testing.assert_allclose(out, [np.sign(delta), -np.sign(delta)], atol=1e-3)
    dout = rng.standard_normal((2, 50))
    dx, dgamma, _ = batchnorm_backward(dout, cache)
    # d x_hat_1 / d x_1 = 4 eps / (delta^2 + 4 eps)^(3/2); x_hat_1 - x_hat_2 = 2 x_hat_1 moves
    # with x_1, so dx_1 = (dout_1 - dout_2) * that
    np.testing.assert_allclose(dx[0], (dout[0] - dout[1]) * 4e-5 / (delta ** 2 + 4e-5) ** 1.5,
                               rtol=1e-6)
    assert np.abs(dx).max() < 1e-2 * np.abs(dgamma).max()


def test_near_ties_give_gradient_spikes_at_batch_2(rng):
    # the same derivative is 1 / (2 sqrt(eps)) ~ 158 when the two samples tie
    x = np.array([[0.5], [0.5 + 1e-9]])
    _, cache = batchnorm_forward(x, np.ones(1), np.zeros(1))
    dx, _, _ = batchnorm_backward(np.array([[1.0], [0.0]]), cache)
    assert dx[0, 0] == pytest.approx(1 / (2 * np.sqrt(1e-5)), rel=1e-3)


def test_gradient_norms_average_the_norms_over_batches(rng):
    data, config = fake_data(rng), small_config()
    model = bs.make_model("layer", config, np.random.default_rng(0), dtype=np.float64)
    norms = bs.gradient_norms(model, data[0], data[1], 4, 1, np.random.default_rng(3))
    idx = np.random.default_rng(3).choice(len(data[0]), 4, replace=False)
    model.loss(data[0][idx], data[1][idx])
    assert set(norms) == set(model.params)
    for name, grad in model.grads.items():
        assert norms[name] == pytest.approx(np.linalg.norm(grad))
    two, many = (bs.gradient_norms(model, data[0], data[1], b, 20, np.random.default_rng(1))
                 for b in (2, 64))
    assert 1 < two["W1"] / many["W1"] < 10       # fewer samples averaged: a larger gradient


def test_normalized_in_both_modes(rng):
    data = fake_data(rng)
    _, model = bs.train_at_batch_size("batch", 2, small_config(), data)
    saved = [b.running_mean.copy() for b in model.bns]
    x_hat_train, x_hat_eval = bs.normalized_in_both_modes(model, data[2], 2, layer=1, rng=rng)
    assert x_hat_train.shape == x_hat_eval.shape == (64, 12)
    assert np.median(np.abs(np.abs(x_hat_train) - 1)) < 1e-3       # +-1 up to eps
    assert np.mean(np.abs(np.abs(x_hat_eval) - 1) > 0.1) > 0.5      # spread out
    assert model.training                                           # its mode is kept
    for b, mean in zip(model.bns, saved):
        np.testing.assert_array_equal(b.running_mean, mean)
    with pytest.raises(ValueError, match="whole number of batches"):
        bs.normalized_in_both_modes(model, data[2][:5], 2)


# ---- each normalisation's own setting, chosen on a validation split ----

def test_wu_he_has_five_batch_sizes_for_bn_and_a_flat_group_norm():
    assert bs.PAPER_WU_HE["batch"] == {32: 23.6, 16: 23.7, 8: 24.8, 4: 27.3, 2: 34.7}
    assert set(bs.PAPER_WU_HE["group"].values()) == {24.1}
    assert sorted(bs.PAPER_WU_HE["group"]) == sorted(bs.PAPER_WU_HE["batch"])


def test_a_norms_own_setting_sets_its_init_and_learning_rate(rng):
    config = small_config(settings={"none": {"init_std": 0.6, "reference_lr": 3.0}})
    assert bs.setting(config, "none") == (0.6, 3.0)
    assert bs.setting(config, "batch") == (0.3, 0.5)                   # the defaults
    assert bs.learning_rate(config, 30, "none") == pytest.approx(1.5)
    assert bs.learning_rate(config, 30, "batch") == pytest.approx(0.25)
    plain = bs.make_model("none", config, np.random.default_rng(4))
    with_bn = bs.make_model("batch", config, np.random.default_rng(4))
    np.testing.assert_allclose(plain.params["W1"], 2 * with_bn.params["W1"], rtol=1e-6)
    run, _ = bs.train_at_batch_size("none", 16, config, fake_data(rng))
    assert run["lr"] == pytest.approx(3.0 * 16 / 60)
    assert "no norm 0.6 and 3" in bs.settings_line(config)
    assert "batch norm 0.3 and 0.5" in bs.settings_line(dataclasses.asdict(config))


def test_select_settings_scores_every_setting_on_the_validation_split_only(rng, monkeypatch):
    data = list(fake_data(rng))
    data[2] = np.full_like(data[2], np.nan)               # a test set that would break it
    seen = []

    def fake_accuracy(norm, config, split, seed=0):
        seen.append((norm, bs.setting(config, norm), len(split[0]), split[2]))
        init_std, lr = bs.setting(config, norm)
        if norm == "batch" and lr == 3.0:
            return None                                   # diverged
        return {"none": 0.5 + lr / 10, "batch": 0.9 - init_std}[norm]

    monkeypatch.setattr(bs, "validation_accuracy", fake_accuracy)
    config = small_config(norms=("none", "batch"))
    selection = bs.select_settings(config, tuple(data), validation=100, seed=3,
                                   init_stds=(0.1, 0.5), reference_lrs=(0.3, 3.0), progress=False)
    assert len(seen) == 2 * 2 * 2
    assert all(n_train == 300 and not np.isnan(x_val).any() for *_, n_train, x_val in seen)
    np.testing.assert_array_equal(seen[0][3], data[0][-100:])
    assert selection["chosen"] == {"none": {"init_std": 0.1, "reference_lr": 3.0},   # tie: first
                                   "batch": {"init_std": 0.1, "reference_lr": 0.3}}
    assert selection["grid"]["batch"][1] == [0.1, 3.0, None]
    assert selection["seed"] == 3 and selection["validation"] == 100
    table = bs.selection_table(selection)
    assert "0.8000*" in table and "div." in table
    json.dumps(selection)


def test_validation_accuracy_trains_at_the_reference_batch(rng):
    data = fake_data(rng)
    config = small_config(examples=3200, reference_batch=16)
    accuracy = bs.validation_accuracy("layer", config, data)
    assert accuracy > 0.8
    diverging = small_config(settings={"none": {"init_std": 0.3, "reference_lr": 1e38}})
    assert bs.validation_accuracy("none", diverging, data) is None
