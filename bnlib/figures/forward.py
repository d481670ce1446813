"""Figures of notebook 02 (the forward pass): features before and after BN, running averages."""
import matplotlib.pyplot as plt
import numpy as np

from ..batchnorm import batchnorm_forward


def plot_feature_histograms(before, after, labels=None, bins=40):
    """Histograms of each feature (column) before and after batch norm, side by side.

    Inputs:
    - before, after: (N, D) arrays, the layer's input and the batch-norm output.
    - labels: D names for the legend (default "feature 0", ...).
    - bins: number of bins; within a panel all features share the same bins, so their
      offsets and scales can be compared by eye.
    Returns (fig, axes) with the two panels.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError(f"before and after must be (N, D) arrays of the same shape, "
                         f"got {before.shape} and {after.shape}")
    labels = labels or [f"feature {k}" for k in range(before.shape[1])]
    if len(labels) != before.shape[1]:
        raise ValueError(f"need one label per feature ({before.shape[1]}), got {len(labels)}")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    titles = ("before BN: each feature has its own offset and scale",
              "after BN (γ = 1, β = 0): mean 0, variance 1")
    for ax, data, title in zip(axes, (before, after), titles):
        edges = np.linspace(data.min(), data.max(), bins + 1)       # (bins + 1,)
        for k in range(data.shape[1]):
            ax.hist(data[:, k], bins=edges, histtype="stepfilled", alpha=0.4,
                    facecolor=f"C{k}", edgecolor=f"C{k}", label=labels[k])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig, axes


def plot_running_vs_population(batch_values, running_values, population_values,
                               names=("mean", "variance"), feature="one feature"):
    """Running averages against Algorithm 2's population statistics, one panel per statistic.

    Inputs (one entry per statistic, e.g. the mean and the variance of one feature):
    - batch_values: sequence of (steps,) arrays, the statistic of each training batch.
    - running_values: sequence of (steps,) arrays, the running average after each step.
    - population_values: sequence of floats, the population statistic (a dashed line).
    - names: the statistics' names, for titles, labels and legends.
    - feature: what the statistics describe, for the titles (e.g. "unit 2").
    Returns (fig, axes).
    """
    if not len(batch_values) == len(running_values) == len(population_values) == len(names):
        raise ValueError("batch_values, running_values, population_values and names need "
                         "one entry per statistic each")
    fig, axes = plt.subplots(1, len(names), figsize=(9, 3.2), squeeze=False)
    axes = axes[0]
    for ax, batch, running, population, name in zip(
            axes, batch_values, running_values, population_values, names):
        steps = np.arange(1, len(running) + 1)                      # (steps,)
        ax.plot(steps, batch, ".", ms=2, color="0.7", label=f"batch {name}")
        ax.plot(steps, running, color="C0", label=f"running {name}")
        ax.axhline(population, color="C3", ls="--", label=f"population {name} (Alg. 2)")
        ax.set_xlabel("training step (batches seen)")
        ax.set_ylabel(name)
        ax.set_title(f"the {name} of {feature}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, axes


def bn_histograms_picture(seed=0, n=2000):
    """Picture for pictures/: three made-up features of different shapes before and after BN.

    A narrow Gaussian far to the right, a skewed feature and one with two bumps, at very
    different offsets and scales: BN moves and rescales each one but keeps its shape.
    Inputs: seed of the generator; n, the number of samples. Returns (fig, axes).
    """
    rng = np.random.default_rng(seed)
    features = np.column_stack([                                    # (n, 3)
        rng.normal(8.0, 0.4, n),                                     # narrow, far right
        -6.0 + 1.5 * rng.exponential(1.0, n),                        # skewed
        rng.choice([-2.5, 2.5], n) + rng.normal(0.0, 0.7, n)])       # two bumps
    normalised, _ = batchnorm_forward(features, np.ones(3), np.zeros(3))
    return plot_feature_histograms(features, normalised, ["Gaussian", "skewed", "two bumps"])
