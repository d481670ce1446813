"""Tests for bnlib/experiments/affine_ablation.py: freezing gamma and beta, the runs on tiny
data, and the summary (the full 50,000-step run is not part of the tests)."""
import numpy as np
import pytest

from bnlib import MLP, SGD
from bnlib.experiments.affine_ablation import (AffineConfig, FrozenAffineSGD, affine_summary,
                                               affine_table, layer_distribution,
                                               run_affine_ablation, run_variant)
from helpers import mnist_slice, small_classification_data

TINY = AffineConfig(steps=30, lrs=(0.1, 1.0), seeds=(0,), eval_every=10)


@pytest.fixture(scope="module")
def mnist_small():
    """The first 600 training and 300 test images of MNIST."""
    return mnist_slice(600, 300)


def test_frozen_sgd_moves_everything_but_gamma_and_beta_exactly_like_sgd(rng):
    x, y, _, _ = small_classification_data(rng, n_train=32)
    models = [MLP((12, 8, 6, 3), use_bn=True, init_std=0.5, rng=np.random.default_rng(1),
                  dtype=np.float64) for _ in range(2)]
    frozen, plain = FrozenAffineSGD(models[0], 0.3), SGD(models[1].flat_params,
                                                         models[1].flat_grads, 0.3)
    for _ in range(3):
        for model, optimizer in zip(models, (frozen, plain)):
            model.loss(x, y)
            optimizer.step()
    for name in models[0].params:
        if name.startswith(("gamma", "beta")):
            np.testing.assert_array_equal(models[0].params[name], 1.0 if name[0] == "g" else 0.0)
            assert not np.allclose(models[1].params[name], models[0].params[name])
    # the first step is the same for the weights (the later ones differ, gamma having moved)
    assert len(frozen.frozen) == 4


def test_frozen_sgd_with_momentum_keeps_them_too(rng):
    x, y, _, _ = small_classification_data(rng, n_train=32)
    model = MLP((12, 8, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64)
    optimizer = FrozenAffineSGD(model, 0.3, momentum=0.9)
    for _ in range(3):
        model.loss(x, y)
        optimizer.step()
    np.testing.assert_array_equal(model.params["gamma1"], 1.0)
    np.testing.assert_array_equal(model.params["beta1"], 0.0)


def test_both_variants_start_alike_and_only_the_learned_one_moves_gamma(mnist_small):
    runs = {variant: run_variant({"variant": variant, "lr": 0.1, "seed": 0, "config": TINY,
                                  "data": mnist_small, "subset": None})
            for variant in ("learned", "frozen")}
    assert runs["learned"]["step"] == [0, 10, 20, 30]
    assert runs["learned"]["test_acc"][0] == runs["frozen"]["test_acc"][0]
    assert runs["learned"]["train_loss"][0] is None and runs["learned"]["train_loss"][1] > 0
    frozen_units, learned_units = runs["frozen"]["units"], runs["learned"]["units"]
    assert len(frozen_units) == 3 and len(frozen_units[0]["gamma"]) == 100
    assert all(g == 1.0 for layer in frozen_units for g in layer["gamma"])
    assert all(b == 0.0 for layer in frozen_units for b in layer["beta"])
    assert any(g != 1.0 for g in learned_units[0]["gamma"])
    assert all(s > 0 for s in learned_units[2]["sigma"])


def test_result_has_every_lr_variant_and_seed_and_its_summary(mnist_small):
    result = run_affine_ablation(TINY, data=mnist_small, progress=False)
    assert list(result["runs"]) == ["0.1", "1"] and result["config"]["seeds"] == (0,)
    for lr, summary in result["summary"].items():
        learned, frozen = summary["learned"]["final"], summary["frozen"]["final"]
        assert summary["learned_minus_frozen"]["final"] == [round(learned[0] - frozen[0], 5)]
        assert summary["learned"]["acc_5000"] == [None]           # 30 steps: no 5,000
        assert len(summary["learned_layers"]) == 3
    table = affine_table(result)
    assert "lr 0.1" in table and "lr 1" in table and "learned - frozen" in table
    with pytest.raises(ValueError, match="jobs"):
        run_affine_ablation(TINY, data=mnist_small, jobs=2)


def test_layer_distribution_pools_units_over_seeds():
    unit = lambda gamma, beta, sigma: {"units": [{"gamma": gamma, "beta": beta,
                                                  "mu": [0.0, 2.0, 0.0, 0.0], "sigma": sigma}]}
    runs = [unit([0.5, 1.5, 2.0, 1.0], [0.0, 2.0, -2.0, 0.5], [1.0] * 4),
            unit([1.0, 1.0, 1.0, 1.0], [0.0] * 4, [0.5] * 4)]
    layer = layer_distribution(runs, 0)
    assert layer["share_gamma_above_1"] == pytest.approx(2 / 8)
    assert layer["share_abs_beta_above_1"] == pytest.approx(2 / 8)
    assert layer["gamma"][2] == pytest.approx(1.0) and layer["median_sigma"] == 0.75
    assert layer["median_gain"] == pytest.approx(2.0)       # gains 0.5 1 1.5 2 2 2 2 2
    # near the identity: run 0's units 1 (gain 1.5, no) and 3 (gain 1, beta - mu 0.5: no);
    # run 1's units have gain 2: none
    assert layer["share_near_identity"] == 0.0
    runs[0]["units"][0]["beta"][3] = 0.1                    # gain 1, beta - mu 0.1 < 0.25
    assert layer_distribution(runs, 0)["share_near_identity"] == pytest.approx(1 / 8)


def test_summary_takes_the_difference_per_seed():
    run = lambda accs: {"step": [0, 5000, 9000], "test_acc": accs,
                        "units": [{"gamma": [1.0], "beta": [0.0], "mu": [0.0], "sigma": [1.0]}]}
    summary = affine_summary({"learned": [run([0.1, 0.96, 0.97]), run([0.1, 0.95, 0.98])],
                              "frozen": [run([0.1, 0.95, 0.965]), run([0.1, 0.95, 0.97])]})
    assert summary["learned_minus_frozen"]["acc_5000"] == [0.01, 0.0]
    assert summary["learned_minus_frozen"]["final"] == [0.005, 0.01]
    assert summary["learned"]["final_mean"] == 0.975
