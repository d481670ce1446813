"""Tests for bnlib/figures/forward.py: features before and after BN, running averages."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib.figures import forward as plots


def test_feature_histograms_draw_one_filled_histogram_per_feature(rng):
    before = rng.normal([5.0, -1.0, 0.0], [0.1, 1.0, 10.0], size=(200, 3))   # (N, D)
    after = (before - before.mean(0)) / before.std(0)
    fig, axes = plots.plot_feature_histograms(before, after, labels=["a", "b", "c"], bins=20)
    try:
        assert len(axes) == 2
        for ax, data in zip(axes, (before, after)):
            assert len(ax.patches) == 3                 # one stepfilled polygon per feature
            lo, hi = ax.get_xlim()
            assert lo <= data.min() and hi >= data.max()  # every value is on the axis
        assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["a", "b", "c"]
        assert "before" in axes[0].get_title() and "after" in axes[1].get_title()
    finally:
        plt.close(fig)


def test_feature_histograms_reject_mismatched_input():
    with pytest.raises(ValueError, match="same shape"):
        plots.plot_feature_histograms(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="one label per feature"):
        plots.plot_feature_histograms(np.zeros((5, 2)), np.zeros((5, 2)), labels=["only one"])


def test_running_vs_population_plots_the_given_values(rng):
    batch_means, batch_vars = rng.normal(size=50), rng.uniform(1, 2, size=50)
    running_means, running_vars = np.cumsum(batch_means) / 50, np.linspace(1, 1.5, 50)
    fig, axes = plots.plot_running_vs_population(
        (batch_means, batch_vars), (running_means, running_vars), (0.1, 1.4), feature="unit 7")
    try:
        assert len(axes) == 2
        for ax, batch, running, population in zip(
                axes, (batch_means, batch_vars), (running_means, running_vars), (0.1, 1.4)):
            dots, curve, line = ax.get_lines()
            np.testing.assert_array_equal(dots.get_ydata(), batch)
            np.testing.assert_array_equal(curve.get_ydata(), running)
            np.testing.assert_array_equal(curve.get_xdata(), np.arange(1, 51))
            assert set(line.get_ydata()) == {population}       # a horizontal line
        assert axes[0].get_ylabel() == "mean" and axes[1].get_ylabel() == "variance"
        assert axes[0].get_title() == "the mean of unit 7"
    finally:
        plt.close(fig)


def test_running_vs_population_needs_one_entry_per_statistic():
    with pytest.raises(ValueError, match="one entry per statistic"):
        plots.plot_running_vs_population(([1.0],), ([1.0], [2.0]), (1.0,))


def _histogram_mean_var(patch):
    """Mean and variance of the data drawn as a stepfilled histogram, from its outline.

    The area under the outline is the histogram, so its centroid is the binned data's mean
    (shoelace formulas for the first and second moments of a polygon).
    """
    x, y = np.vstack([patch.get_path().vertices, patch.get_path().vertices[:1]]).T
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    mean = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
    second = ((x[:-1] ** 2 + x[:-1] * x[1:] + x[1:] ** 2) * cross).sum() / (12 * area)
    return mean, second - mean ** 2


def test_bn_histograms_picture_shows_features_normalised():
    fig, axes = plots.bn_histograms_picture()
    try:
        before = [_histogram_mean_var(p) for p in axes[0].patches]
        after = [_histogram_mean_var(p) for p in axes[1].patches]
        assert len(before) == len(after) == 3
        # Before: three clearly separated offsets (about 8, -4.5 and 0) and different spreads.
        assert max(m for m, _ in before) - min(m for m, _ in before) > 10
        # After: mean 0 and variance 1. The binning adds about width**2 / 12 (< 0.01 here)
        # to the variance, hence the tolerance of 0.03.
        for mean, var in after:
            assert abs(mean) < 0.03 and abs(var - 1) < 0.03
    finally:
        plt.close(fig)
