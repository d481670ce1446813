"""Tests for bnlib/figures/convolutions.py: per channel against per position, BN's placement."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib.figures import convolutions as plots


def test_per_channel_vs_per_position_shows_the_chosen_maps(rng):
    maps = rng.standard_normal((3, 2, 5, 4))
    fig, axes = plots.plot_per_channel_vs_per_position(maps, 2 * maps, 3 * maps, rows=[0, 2],
                                                       labels=["first", "third"], channel=1)
    try:
        assert axes.shape == (2, 3)
        assert [ax.get_ylabel() for ax in axes[:, 0]] == ["first", "third"]
        assert "per channel" in axes[0, 1].get_title()
        assert "per position" in axes[0, 2].get_title()
        for j, factor in enumerate((1, 2, 3)):
            np.testing.assert_array_equal(axes[1, j].get_images()[0].get_array(),
                                          factor * maps[2, 1])
        assert axes[0, 1].get_images()[0].get_clim() == (-4.0, 4.0)   # shared colour range
    finally:
        plt.close(fig)


def test_placement_plot_has_one_dot_per_seed_and_a_legend():
    from matplotlib.collections import PathCollection
    runs = lambda acc, sat: [dict(test_acc=acc + d, saturation=sat) for d in (0, 0.01, 0.02)]
    results = {("sigmoid", "none"): runs(0.88, 0.013), ("sigmoid", "before"): runs(0.91, 0.0),
               ("sigmoid", "after"): runs(0.93, 0.04), ("relu", "before"): runs(0.93, 0.5)}
    fig, axes = plots.plot_placement(results, 4.0)
    try:
        scatters = [c for c in axes[0].collections if isinstance(c, PathCollection)]
        assert [len(c.get_offsets()) for c in scatters] == [3, 3, 3, 3]     # one per seed
        np.testing.assert_allclose(scatters[1].get_offsets()[:, 1], [91, 92, 93])  # percent
        assert scatters[3].get_offsets()[0, 0] == pytest.approx(1.0)   # relu's group at x = 1
        labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
        assert labels == ["no BN", "BN before", "BN after"]
        assert axes[1].get_yscale() == "symlog" and axes[1].get_ylim() == (0, 100)
        assert "|z| > 4" in axes[1].get_title()
    finally:
        plt.close(fig)


def _fake_cnn_result():
    runs = []
    for seed in (0, 1):
        for network, lr, final in (("plain", 0.1, 0.97), ("bn", 0.1, 0.98),
                                   ("plain", 1.0, 0.1), ("bn", 1.0, 0.95)):
            runs.append(dict(network=network, lr=lr, seed=seed, step=[0, 50, 100],
                             test_acc=[0.1, 0.9, final + 0.002 * seed]))
    runs.append(dict(network="plain", lr=0.1, seed=2, diverged_at=4))
    return {"config": {"steps": 100, "seeds": [0, 1, 2]}, "rates": [0.1, 1.0],
            "selection": {"validation_acc": {"plain": {"0.1": 0.96, "1.0": None},
                                             "bn": {"0.1": 0.97, "1.0": 0.98}},
                          "chosen": {"plain": 0.1, "bn": 0.1}},
            "runs": runs}


def test_cnn_plot_shows_the_choice_the_curves_and_the_error_against_the_rate():
    fig, axes = plots.plot_cnn(_fake_cnn_result())
    try:
        lines = {line.get_label(): line for line in axes[0].lines}
        assert set(lines) == {"without BN", "with BN"}
        np.testing.assert_allclose(lines["with BN"].get_ydata(), [0.97, 0.98])
        assert np.isnan(lines["without BN"].get_ydata()[1])            # diverged: no point ...
        crosses = [c.get_offsets() for c in axes[0].collections if len(c.get_offsets())]
        assert any(np.allclose(o, [[1.0, 0.0]]) for o in crosses)      # ... but a cross at 0
        means = {line.get_label(): line for line in axes[1].lines if line.get_lw() == 2}
        assert set(means) == {"without BN, lr 0.1", "with BN, lr 0.1"}   # the chosen rate only
        np.testing.assert_allclose(means["with BN, lr 0.1"].get_ydata(), [0.1, 0.9, 0.981])
        assert len(axes[1].lines) == 2 + 4                              # + one thin line per run
        errors = {line.get_label(): line for line in axes[2].lines}
        np.testing.assert_allclose(errors["with BN"].get_ydata(), [1.9, 4.9])   # mean error, %
        np.testing.assert_allclose(errors["without BN"].get_xdata(), [0.1, 1.0])
        assert axes[2].get_yscale() == "log" and "seeds 0, 1, 2" in axes[1].get_title()
    finally:
        plt.close(fig)


def test_cnn_curves_without_seeds_draw_one_line_per_network_and_rate():
    runs = [dict(network=n, lr=lr, step=[0, 10], test_acc=[0.1, a])
            for n, lr, a in (("plain", 0.3, 0.9), ("bn", 0.3, 0.92), ("bn", 1.0, 0.91))]
    fig, ax = plots.plot_cnn_run(runs)
    try:
        assert ax.get_ylim() == (0.0, 1.0)
        assert [line.get_linestyle() for line in ax.lines] == ["-", "-", "--"]
        assert [line.get_label() for line in ax.lines][2] == "with BN, lr 1"
    finally:
        plt.close(fig)
