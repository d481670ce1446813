"""Tests for bnlib/figures/why_bn.py: noisy BN, a unit's input, the loss landscape."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bnlib.experiments.noisy_bn import distribution_shift
from bnlib.figures import why_bn as plots


def _noisy_result(rng, records=4, units=3):
    """A synthetic `run_noisy_comparison` result (no training)."""
    runs = {}
    for name in ("plain", "bn", "noisy"):
        mean, std = rng.normal(size=(records, units)), rng.uniform(0.5, 1.5, (records, units))
        runs[name] = {"step": list(range(0, 100 * records, 100)),
                      "test_acc": rng.uniform(0.1, 0.9, records).tolist(),
                      "mean": mean.tolist(), "std": std.tolist(),
                      "shift": distribution_shift(mean, std).tolist()}
    return {"layer": 3, "runs": runs}


def test_noisy_comparison_plot_draws_accuracy_and_shift_per_network(rng):
    result = _noisy_result(rng)
    fig, axes = plots.plot_noisy_comparison(result)
    try:
        assert len(axes[0].lines) == 3 and len(axes[1].lines) == 3
        np.testing.assert_allclose(axes[1].lines[2].get_ydata(), result["runs"]["noisy"]["shift"])
        np.testing.assert_array_equal(axes[1].lines[0].get_xdata(), [100, 200, 300])
        assert axes[1].get_yscale() == "log" and "layer 3" in axes[1].get_title()
        assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
            "without BN", "with BN", "noisy BN"]
    finally:
        plt.close(fig)


def test_unit_input_plot_shows_the_chosen_unit_of_each_network(rng):
    result = _noisy_result(rng)
    fig, axes = plots.plot_unit_input(result, unit=2)
    try:
        assert [ax.get_title() for ax in axes] == ["without BN", "with BN", "noisy BN"]
        np.testing.assert_allclose(axes[1].lines[0].get_ydata(),
                                   np.array(result["runs"]["bn"]["mean"])[:, 2])
        assert "unit 2, layer 3" in axes[0].get_ylabel()
    finally:
        plt.close(fig)


def test_landscape_plot_draws_both_networks_per_scale():
    def run(offset):
        points = [[{"loss0": 2.0, "loss": [2.0 - offset * k for k in range(1, 4)],
                    "grad_change": [offset * k for k in range(1, 4)]}] for _ in range(2)]
        return {"step": [0, 100], "multiples": [0.5, 1.0, 1.5], "points": points}
    result = {"which": "hidden", "runs": {"0.05": {"plain": run(0.01), "bn": run(0.1)},
                                          "0.5": {"plain": run(0.2), "bn": run(0.02)}}}
    fig, axes = plots.plot_landscape(result, record=1)
    try:
        assert axes.shape == (2, 2)
        assert axes[0, 1].get_title() == "initial weight std 0.5, at step 100"
        np.testing.assert_allclose(axes[0, 0].lines[1].get_ydata(), [-0.1, -0.2, -0.3])
        np.testing.assert_allclose(axes[1, 1].lines[0].get_ydata(), [0.2, 0.4, 0.6])
        np.testing.assert_array_equal(axes[1, 0].lines[0].get_xdata(), [0.5, 1.0, 1.5])
        assert axes[1, 0].get_yscale() == "log"
    finally:
        plt.close(fig)


def _full_noisy_summary(rng, records=5):
    """A synthetic `python -m bnlib.reproduce noisy_bn` JSON: two scales, two seeds."""
    def run(seed):
        return {"seed": seed, "step": list(range(0, 100 * records, 100)),
                "test_acc": rng.uniform(0.1, 0.9, records).tolist(),
                "shift": rng.uniform(0.01, 0.3, records - 1).tolist()}
    runs = {scale: {name: [run(0), run(1)] for name in ("plain", "bn", "noisy")}
            for scale in ("0.05", "0.5")}
    return {"config": {"layer": 3}, "runs": runs}


def test_noisy_full_plot_draws_every_seed_per_scale(rng):
    summary = _full_noisy_summary(rng)
    fig, axes = plots.plot_noisy_full(summary)
    try:
        assert axes.shape == (2, 2)
        assert len(axes[1, 0].lines) == 6 and len(axes[1, 1].lines) == 6   # 3 networks x 2 seeds
        np.testing.assert_allclose(axes[0, 1].lines[5].get_ydata(),
                                   summary["runs"]["0.05"]["noisy"][1]["shift"])
        assert "std 0.5" in axes[1, 0].get_title() and axes[0, 1].get_yscale() == "log"
        assert [t.get_text() for t in axes[0, 0].get_legend().get_texts()] == [
            "without BN", "with BN", "noisy BN"]
        assert "layer 3" in axes[0, 1].get_title()
    finally:
        plt.close(fig)


def _regularization_result():
    """A synthetic `run_regularization` result: two networks, two seeds each."""
    def run(name, seed, train, test):
        return {"network": name, "lr": 1.0, "seed": seed, "train_acc": train, "test_acc": test,
                "curve": {"step": [0, 50, 100], "train_acc": [0.1, 0.9, train],
                          "test_acc": [0.1, 0.8, test]}}
    runs = [run("plain", 0, 1.0, 0.90), run("plain", 1, 1.0, 0.92),
            run("bn", 0, 0.99, 0.93), run("bn", 1, 1.0, 0.95)]
    summary = {"plain": {"lr": 1.0}, "bn": {"lr": 1.0}}
    return {"runs": runs, "summary": summary}


def test_regularization_plot_shows_both_accuracies_per_network():
    result = _regularization_result()
    fig, axes = plots.plot_regularization(result)
    try:
        train, test = axes[0].lines[2], axes[0].lines[3]          # the second network: BN
        np.testing.assert_allclose(train.get_ydata(), [0.99, 1.0])
        np.testing.assert_allclose(test.get_ydata(), [0.93, 0.95])
        assert [t.get_text() for t in axes[0].get_xticklabels()] == ["without BN", "BN"]
        assert len(axes[1].lines) == 2                             # one test curve each
        np.testing.assert_allclose(axes[1].lines[1].get_ydata(), [0.1, 0.8, 0.93])
        assert axes[1].get_legend().get_texts()[1].get_text() == "BN (lr 1)"
    finally:
        plt.close(fig)
