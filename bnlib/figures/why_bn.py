"""Figures of notebooks 07 and 08 (why BN works): noisy BN, a unit's input, the loss landscape."""
import matplotlib.pyplot as plt
import numpy as np

WHY_BN_STYLES = {"plain": dict(color="tab:orange", label="without BN"),
                 "bn": dict(color="tab:blue", label="with BN"),
                 "noisy": dict(color="tab:green", ls="--", label="noisy BN")}


def plot_noisy_comparison(result):
    """Test accuracy, and the shift of one layer's input distribution, for each network.

    Input: a `bnlib.experiments.noisy_bn.run_noisy_comparison` result. Left: test accuracy
    against steps; right (log scale): `distribution_shift` between consecutive records, drawn
    at the later record's step. Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, run in result["runs"].items():
        axes[0].plot(run["step"], run["test_acc"], **WHY_BN_STYLES[name])
        axes[1].plot(run["step"][1:], run["shift"], marker="o", ms=3, **WHY_BN_STYLES[name])
    axes[0].set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1),
                title="(a) test accuracy")
    axes[1].set_yscale("log")
    axes[1].set(xlabel="training step", ylabel="shift since the previous record",
                title=f"(b) how far layer {result['layer']}'s sigmoid inputs move")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig, axes


def plot_unit_input(result, unit=0):
    """Mean and mean +- one standard deviation of one unit's sigmoid input over training.

    One panel per network of a `run_noisy_comparison` result, on a shared y axis: the input
    distribution (on the probe batch, as training sees it) that the next layer has to follow.
    Returns (fig, axes).
    """
    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(9, 3.2), sharey=True)
    for ax, (name, run) in zip(np.atleast_1d(axes), runs.items()):
        mean, std = np.array(run["mean"])[:, unit], np.array(run["std"])[:, unit]   # (records,)
        style = WHY_BN_STYLES[name]
        ax.fill_between(run["step"], mean - std, mean + std, color=style["color"], alpha=0.25,
                        label="mean ± 1 std")
        ax.plot(run["step"], mean, color=style["color"], marker="o", ms=3, label="mean")
        ax.axhline(0, color="0.5", lw=0.6, ls=":")
        ax.set(xlabel="training step", title=style["label"])
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(f"input z of unit {unit}, layer {result['layer']}")
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig, axes


def plot_landscape(result, record=1):
    """Loss change and gradient change along the gradient, without and with BN, per scale.

    Input: a `bnlib.experiments.landscape.compare_landscapes` result; record: which measuring
    point of each run to draw (1: the second, e.g. step 100). Columns: initial weight scales.
    Top: L(theta - eta g) - L(theta); bottom (log): ||g(theta - eta g) - g(theta)||; both
    against eta in learning rates, averaged over the measuring batches. Returns (fig, axes).
    """
    scales = list(result["runs"])
    fig, axes = plt.subplots(2, len(scales), figsize=(9, 5.2), sharex=True, squeeze=False)
    for column, scale in enumerate(scales):
        for name, run in result["runs"][scale].items():
            points = run["points"][record]
            multiples = run["multiples"]                            # step sizes / lr
            loss_change = np.mean([np.subtract(p["loss"], p["loss0"]) for p in points], axis=0)
            grad_change = np.mean([p["grad_change"] for p in points], axis=0)
            style = dict(marker="o", ms=3, **WHY_BN_STYLES[name])
            axes[0, column].plot(multiples, loss_change, **style)
            axes[1, column].semilogy(multiples, grad_change, **style)
        step = result["runs"][scale]["plain"]["step"][record]
        axes[0, column].set_title(f"initial weight std {scale}, at step {step}")
        axes[1, column].set_xlabel("step size η along the gradient (in learning rates)")
    axes[0, 0].set_ylabel("loss change\nL(θ − ηg) − L(θ)")
    axes[1, 0].set_ylabel("gradient change\n‖g(θ − ηg) − g(θ)‖")
    for ax in axes.flat:
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig, axes


REGULARIZATION_LABELS = {"plain": "without BN", "dropout": "dropout", "bn": "BN",
                         "bn_dropout": "BN + dropout"}


def plot_regularization(result):
    """Training and test accuracy of each network of a regularization result.

    Input: a `bnlib.experiments.regularization.run_regularization` result. Left: at the end,
    each seed's training accuracy (open circle) and test accuracy (dot) per network at its
    chosen learning rate, the mean test accuracy as a bar-less line. Right: test accuracy
    during training, first seed (the training accuracy reaches 1 for all). Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    names = list(result["summary"])
    colors = dict(zip(REGULARIZATION_LABELS, ("tab:orange", "tab:purple", "tab:blue",
                                              "tab:green")))
    for i, name in enumerate(names):
        lr = result["summary"][name]["lr"]
        runs = [r for r in result["runs"] if (r["network"], r["lr"]) == (name, lr)]
        train, test = [r["train_acc"] for r in runs], [r["test_acc"] for r in runs]
        axes[0].plot([i - 0.12] * len(train), train, "o", mfc="none", color=colors[name])
        axes[0].plot([i + 0.12] * len(test), test, "o", color=colors[name])
        axes[0].hlines(np.mean(test), i - 0.05, i + 0.3, color=colors[name])
        curve = runs[0]["curve"]
        axes[1].plot(curve["step"], curve["test_acc"], marker="o", ms=3, color=colors[name],
                     label=f"{REGULARIZATION_LABELS[name]} (lr {lr:g})")
    axes[0].set(xticks=range(len(names)), xlim=(-0.5, len(names) - 0.5),
                ylabel="accuracy at the end",
                title="(a) training (○) and test (●) accuracy, every seed")
    axes[0].set_xticklabels([REGULARIZATION_LABELS[n] for n in names], fontsize=8)
    ends = [r["test_acc"] for r in result["runs"] if "curve" in r]
    axes[1].set(xlabel="training step", ylabel="test accuracy",
                ylim=(min(ends) - 0.04, max(ends) + 0.02),
                title="(b) test accuracy during training, first seed")
    axes[1].legend(fontsize=7, loc="lower right")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def plot_noisy_full(summary):
    """The full noisy-BN runs: test accuracy and input shift, one row per initial scale.

    Input: the JSON of `python -m bnlib.reproduce noisy_bn` ({"runs": {init_std: {network:
    [run per seed]}}}, each run with "step", "test_acc", "shift"). Every seed is drawn, in its
    network's colour. Left: test accuracy; right (log scale): the shift between consecutive
    records. Returns (fig, axes), axes (scales, 2).
    """
    scales = list(summary["runs"])
    fig, axes = plt.subplots(len(scales), 2, figsize=(9, 2.9 * len(scales)), squeeze=False,
                             sharex=True)
    for row, scale in zip(axes, scales):
        for name, seeds in summary["runs"][scale].items():
            style = dict(WHY_BN_STYLES[name], lw=1.0, alpha=0.8)
            for i, run in enumerate(seeds):
                label = style["label"] if i == 0 else None
                row[0].plot(run["step"], run["test_acc"], **{**style, "label": label})
                row[1].plot(run["step"][1:], run["shift"], **{**style, "label": label})
        row[0].set(ylabel="test accuracy", ylim=(0, 1),
                   title=f"initial weight std {scale}: test accuracy")
        row[1].set_yscale("log")
        row[1].set(ylabel="shift since the\nprevious record", title=f"initial weight std "
                   f"{scale}: how far layer {summary['config']['layer']}'s inputs move")
        for ax in row:
            ax.grid(alpha=0.3, which="both")
    for ax in axes[-1]:
        ax.set_xlabel("training step")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig, axes
