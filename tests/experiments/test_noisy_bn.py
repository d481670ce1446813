"""Tests for bnlib/experiments/noisy_bn.py: the input-shift measurements and the comparison."""
import numpy as np
import pytest

from bnlib import MLP
from bnlib.experiments.fig1 import Fig1Config
from bnlib.experiments.noisy_bn import (compact_run, distribution_shift, findings_table,
                                        make_network, noisy_bn_findings, noisy_table,
                                        relative_shift, run_noisy_comparison,
                                        sigmoid_input_moments)
from helpers import mnist_slice


@pytest.fixture(scope="module")
def small_data():
    """A slice of MNIST: 600 training and 200 test images (enough for a few steps)."""
    return mnist_slice(600, 200)


def test_moments_match_the_pre_activations_and_leave_the_model_alone(rng):
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng)
    x = rng.normal(size=(20, 6)).astype(np.float32)
    model.eval()
    saved = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.bns]
    mean, std = sigmoid_input_moments(model, x, layer=2)
    assert not model.training                                    # mode restored
    for bn, (running_mean, running_var) in zip(model.bns, saved):
        np.testing.assert_array_equal(bn.running_mean, running_mean)
        np.testing.assert_array_equal(bn.running_var, running_var)
    model.train().forward(x)
    z = model.pre_activations[1].astype(np.float64)              # (20, 4)
    np.testing.assert_allclose(mean, z.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(std, z.std(axis=0), atol=1e-12)
    # with BN in training mode each unit's input has mean beta = 0 and std about gamma = 1
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std, 1.0, atol=1e-3)


def test_moments_reject_a_layer_that_does_not_exist(rng):
    model = MLP((6, 5, 3), rng=rng)
    with pytest.raises(ValueError, match="layer must lie in 1..1"):
        sigmoid_input_moments(model, rng.normal(size=(4, 6)), layer=2)


def test_distribution_shift_is_the_gaussian_wasserstein_distance():
    means = np.array([[0.0, 1.0], [3.0, 1.0], [3.0, 1.0]])       # (3 records, 2 units)
    stds = np.array([[1.0, 1.0], [1.0, 5.0], [1.0, 2.0]])
    # unit 0 moves 3 in its mean, then nothing; unit 1 moves 4 in its std, then 3
    np.testing.assert_allclose(distribution_shift(means, stds), [3.5, 1.5])
    assert distribution_shift(np.zeros((2, 3)), np.ones((2, 3))).tolist() == [0.0]
    np.testing.assert_allclose(distribution_shift([[0.0], [3.0]], [[1.0], [5.0]]), [5.0])


def test_distribution_shift_rejects_bad_shapes():
    with pytest.raises(ValueError, match="records >= 2"):
        distribution_shift(np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="records >= 2"):
        distribution_shift(np.zeros((3, 3)), np.zeros((3, 2)))


def test_make_network_rejects_unknown_names():
    with pytest.raises(ValueError, match="network must be one of"):
        make_network("dropout", Fig1Config(), np.random.default_rng(0), np.random.default_rng(1))


def test_comparison_runs_and_is_reproducible(small_data):
    config = Fig1Config(steps=20, eval_every=10, sizes=(784, 20, 20, 10))
    first = run_noisy_comparison(config, small_data, probe_size=60, progress=False)
    second = run_noisy_comparison(config, small_data, probe_size=60, progress=False)
    assert first["layer"] == 2 and set(first["runs"]) == {"plain", "bn", "noisy"}
    for name, run in first["runs"].items():
        assert run["step"] == [0, 10, 20]
        assert np.array(run["mean"]).shape == (3, 20) and len(run["shift"]) == 2
        assert run["test_acc"] == second["runs"][name]["test_acc"]
        assert run["shift"] == second["runs"][name]["shift"]
        assert len(run["relative_shift"]) == 2
    # BN holds each unit's input at mean beta ~ 0 in training mode; the noise moves it
    bn, noisy = first["runs"]["bn"], first["runs"]["noisy"]
    assert np.max(np.abs(bn["mean"])) < 0.1
    assert np.mean(noisy["shift"]) > 3 * np.mean(bn["shift"])
    table = noisy_table(first)
    assert "noisy BN" in table and "median shift" in table and len(table.splitlines()) == 4


def test_the_three_networks_start_from_the_same_weights(small_data):
    config = Fig1Config(steps=0, eval_every=10, sizes=(784, 20, 10))
    init_seed, _, noise_seed = np.random.SeedSequence(config.seed).spawn(3)
    nets = [make_network(name, config, np.random.default_rng(init_seed),
                         np.random.default_rng(noise_seed)) for name in ("plain", "bn", "noisy")]
    for net in nets[1:]:
        np.testing.assert_array_equal(net.params["W1"], nets[0].params["W1"])


def test_relative_shift_divides_each_move_by_the_earlier_spread():
    means = np.array([[0.0, 1.0], [3.0, 1.0]])                    # (2 records, 2 units)
    stds = np.array([[1.0, 0.1], [1.0, 0.5]])
    # unit 0 moves 3 with spread 1, unit 1 moves 0.4 with spread 0.1
    np.testing.assert_allclose(relative_shift(means, stds), [(3.0 + 4.0) / 2])
    with pytest.raises(ValueError, match="records >= 2"):
        relative_shift(np.zeros((1, 2)), np.ones((1, 2)))


def test_findings_split_the_run_at_the_early_steps():
    run = lambda seed, acc, shift: {"seed": seed, "step": [0, 100, 200, 300, 400],
                                    "test_acc": [0.1, 0.5, 0.6, 0.7, acc], "shift": shift,
                                    "relative_shift": [2 * s for s in shift]}
    runs = {"bn": [run(0, 0.9, [0.4, 0.2, 0.1, 0.3]), run(1, 0.8, [0.4, 0.2, 0.1, 0.1])]}
    found = noisy_bn_findings(runs, early=200)["bn"]
    assert found["test_acc"] == pytest.approx([0.85, 0.8, 0.9])
    assert found["early_shift"] == pytest.approx(0.3)              # median of 0.4, 0.2
    assert found["late_shift"] == pytest.approx((0.2 + 0.1) / 2)   # medians 0.2 and 0.1
    assert found["shift"] == pytest.approx((0.25 + 0.15) / 2)
    assert found["relative_shift"] == pytest.approx(0.4)
    assert found["early_relative_shift"] == pytest.approx(0.6)
    assert found["late_relative_shift"] == pytest.approx(0.3)
    assert noisy_bn_findings(runs, early=1000)["bn"]["late_shift"] is None
    table = findings_table({"0.05": noisy_bn_findings(runs, early=200)})
    assert "0.8500 (0.800-0.900)" in table and len(table.splitlines()) == 3
    assert table.splitlines()[2].split()[-3:] == ["0.4000", "0.6000", "0.3000"]


def test_compact_run_keeps_one_unit_and_the_mean_spread():
    run = {"step": [0, 100], "test_acc": [0.1, 0.2], "shift": [0.5], "relative_shift": [1.0],
           "mean": [[1.0, 2.0], [3.0, 4.0]], "std": [[1.0, 3.0], [2.0, 2.0]], "seconds": 1.234}
    kept = compact_run(run, seed=4, unit=1)
    assert kept["unit_mean"] == [2.0, 4.0] and kept["unit_std"] == [3.0, 2.0]
    assert kept["mean_std"] == [2.0, 2.0] and kept["seed"] == 4 and "mean" not in kept
