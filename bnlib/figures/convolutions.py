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


NETWORK_STYLES = {"plain": dict(color="0.45", marker="o", label="without BN"),
                  "bn": dict(color="C0", marker="s", label="with BN")}
LINE_STYLES = ("-", "--", ":", "-.")


def plot_cnn_curves(ax, runs, ylim=(0.9, 1.0)):
    """Test accuracy against steps on `ax`: a thin line per run, a thick one per (network,
    learning rate) for the mean over its seeds; colour: the network, line style: the rate.

    runs: dicts with "network" ("plain" or "bn"), "lr", "step", "test_acc", as
    bnlib.experiments.cnn.run_cnn (its "runs") or train_cnn (plus those keys) give them; runs
    that diverged ("diverged_at") are left out. Returns ax.
    """
    runs = [run for run in runs if "diverged_at" not in run]
    rates = sorted({run["lr"] for run in runs})
    for key in dict.fromkeys((run["network"], run["lr"]) for run in runs):
        mine = [run for run in runs if (run["network"], run["lr"]) == key]
        style = dict(color=NETWORK_STYLES[key[0]]["color"],
                     ls=LINE_STYLES[rates.index(key[1]) % len(LINE_STYLES)])
        if len(mine) > 1:
            for run in mine:
                ax.plot(run["step"], run["test_acc"], lw=0.6, alpha=0.4, **style)
        mean = np.mean([run["test_acc"] for run in mine], axis=0)
        ax.plot(mine[0]["step"], mean, lw=2, **style,
                label=f"{NETWORK_STYLES[key[0]]['label']}, lr {key[1]:g}")
    ax.set_ylim(*ylim)
    ax.set(xlabel="training steps (batches of 60)", ylabel="test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_cnn_run(runs, ylim=(0.0, 1.0)):
    """A figure of `plot_cnn_curves` for a few runs (say, a short run in a notebook).
    Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    plot_cnn_curves(ax, runs, ylim)
    return fig, ax


def plot_cnn(result):
    """The CNN experiment in three panels: (a) validation accuracy against the learning rate
    (the choice; circles: chosen, crosses at 0: diverged); (b) test accuracy against steps at
    the chosen rate(s) (thin: seeds, thick: their mean); (c) final test error (%, log scale)
    against the learning rate, one dot per seed, the line through the means.

    Input: the result of bnlib.experiments.cnn.run_cnn. Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1.3, 1]})
    grid, config = result["selection"]["validation_acc"], result["config"]
    chosen = result["selection"]["chosen"]
    for network, accs in grid.items():
        style = NETWORK_STYLES[network]
        lrs = [float(lr) for lr in accs]
        axes[0].plot(lrs, [np.nan if a is None else a for a in accs.values()], **style)
        failed = [lr for lr, a in zip(lrs, accs.values()) if a is None]
        axes[0].scatter(failed, [0.0] * len(failed), marker="x", color=style["color"], zorder=3)
        axes[0].scatter([chosen[network]], [accs[str(chosen[network])]], s=130,
                        facecolor="none", edgecolor=style["color"], zorder=3)
    axes[0].set_xscale("log")
    axes[0].set_ylim(0, 1.02)
    axes[0].set(xlabel="learning rate", ylabel="validation accuracy")
    axes[0].set_title(f"(a) choice of the rate, {config['steps']} steps\n"
                      "(circle: chosen; x: diverged)", fontsize=9)
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    at_chosen = [run for run in result["runs"] if run["lr"] in set(chosen.values())]
    plot_cnn_curves(axes[1], at_chosen)
    axes[1].set_title(f"(b) test accuracy at the chosen rate, seeds "
                      f"{', '.join(map(str, config['seeds']))}", fontsize=9)
    trained = [run for run in result["runs"] if "diverged_at" not in run]
    for network, style in NETWORK_STYLES.items():
        mine = [run for run in trained if run["network"] == network]
        rates = sorted({run["lr"] for run in mine})
        errors = {lr: [100 * (1 - run["test_acc"][-1]) for run in mine if run["lr"] == lr]
                  for lr in rates}
        for lr, values in errors.items():
            axes[2].scatter([lr] * len(values), values, s=14, color=style["color"], alpha=0.6)
        axes[2].plot(rates, [np.mean(errors[lr]) for lr in rates], **style)
    axes[2].set(xscale="log", yscale="log", xlabel="learning rate",
                ylabel=f"test error after {config['steps']} steps (%)")
    axes[2].set_yticks([1, 2, 5, 10, 20, 50, 100], ["1", "2", "5", "10", "20", "50", "100"])
    axes[2].set_title("(c) test error against the rate\n(dots: seeds; line: their mean)",
                      fontsize=9)
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend(fontsize=8, loc="upper left")
    return fig, axes
