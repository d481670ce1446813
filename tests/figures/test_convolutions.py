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
