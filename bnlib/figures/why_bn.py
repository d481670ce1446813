"""Figures of notebooks 07 and 08 (why BN works): noisy BN, a unit's input, the loss landscape."""
import matplotlib.pyplot as plt
import numpy as np

WHY_BN_STYLES = {"plain": dict(color="tab:orange", label="without BN"),
                 "bn": dict(color="tab:blue", label="with BN"),
                 "noisy": dict(color="tab:green", ls="--", label="noisy BN")}


def plot_noisy_comparison(result):
    """Test accuracy, and the shift of one layer's input distribution, for each network.

    Input: a `bnlib.experiments.noisy_bn.run_noisy_comparison` result. Left: test accuracy against steps;
    right (log scale): `distribution_shift` between consecutive records, drawn at the later
    record's step. Returns (fig, axes).
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

    Input: a `bnlib.experiments.landscape.compare_landscapes` result; record: which measuring point of
    each run to draw (1: the second, e.g. step 100). Columns: initial weight scales. Top:
    L(theta - eta g) - L(theta); bottom (log): ||g(theta - eta g) - g(theta)||; both against
    eta in learning rates, averaged over the measuring batches. Returns (fig, axes).
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
