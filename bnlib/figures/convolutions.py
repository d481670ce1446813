"""Figures of notebook 12 (convolutions): per channel against per position, BN's placement."""
import matplotlib.pyplot as plt
import numpy as np


def plot_per_channel_vs_per_position(maps, per_channel, per_position, rows, labels, channel=0,
                                     clip=4.0):
    """Feature maps of a few samples beside their per-channel and per-position normalisations.

    Inputs: maps, per_channel, per_position: (N, C, H, W); rows: the samples to show; labels:
    one row label each; channel: which channel; clip: the colour range of the normalised
    panels is [-clip, clip].
    Returns (fig, axes) with len(rows) x 3 panels, one colour bar per column.
    """
    fig, axes = plt.subplots(len(rows), 3, figsize=(9, 2.5 * len(rows)), squeeze=False,
                             layout="constrained")
    limit = np.abs(maps[rows, channel]).max()
    columns = [(maps, "feature map (conv output)", limit),
               (per_channel, "BN per channel (N·H·W)", clip),
               (per_position, "BN per position (N only)", clip)]
    for j, (arrays, title, lim) in enumerate(columns):
        for i, (row, label) in enumerate(zip(rows, labels)):
            ax = axes[i, j]
            image = ax.imshow(arrays[row, channel], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=10)
            if j == 0:
                ax.set_ylabel(label, fontsize=10)
        fig.colorbar(image, ax=axes[:, j], shrink=0.8,
                     extend="neither" if j == 0 else "both")
    return fig, axes


PLACEMENT_LABELS = {"none": ("no BN", "0.5"), "before": ("BN before", "C0"),
                    "after": ("BN after", "C1")}


def plot_placement(results, threshold):
    """Test accuracy and saturation for each placement of BN, one dot per seed.

    Inputs: results {(activation, placement): [dicts with "test_acc" and "saturation"]}, as
    bnlib.experiments.placement.compare_placements returns it; threshold: the |z| beyond which a sigmoid
    input counts as saturated.
    Returns (fig, axes): accuracy (%) on the left, saturated share (%, symmetric log scale: the
    sigmoid's shares are far below ReLU's, and may be 0) on the right; the horizontal bar is the mean over the seeds.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    activations = list(dict.fromkeys(act for act, _ in results))
    for ax, key, ylabel in zip(axes, ("test_acc", "saturation"),
                               ("test accuracy (%)", "saturated inputs (%)")):
        for (act, placement), runs in results.items():
            spot = activations.index(act) + 0.25 * (list(PLACEMENT_LABELS).index(placement) - 1)
            values = [100 * r[key] for r in runs]
            label, color = PLACEMENT_LABELS[placement]
            ax.scatter([spot] * len(values), values, s=18, color=color, zorder=3,
                       label=label if act == activations[0] else None)
            ax.hlines(np.mean(values), spot - 0.09, spot + 0.09, color=color, lw=2)
        ax.set_xticks(range(len(activations)), activations)
        ax.set_xlim(-0.5, len(activations) - 0.5)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[1].set_yscale("symlog", linthresh=0.1)   # logarithmic above 0.1 %, linear to 0 below
    axes[1].set_ylim(0, 100)
    axes[1].set_yticks([0, 0.1, 1, 10, 100], ["0", "0.1", "1", "10", "100"])
    axes[0].legend(fontsize=8, loc="lower right")
    axes[1].set_title(f"saturated: sigmoid |z| > {threshold:g};  relu z ≤ 0", fontsize=9)
    return fig, axes
