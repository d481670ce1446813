"""Figures of notebook 06 (the training comparison): the paper's Fig. 1, the learning-rate x
initial-scale sweep, gradient norms per layer."""
import matplotlib.pyplot as plt
import numpy as np

FIG1_COLORS = {"plain": "tab:orange", "bn": "tab:blue"}


FIG1_LABELS = {"plain": "without BN", "bn": "with BN"}


def _fig1_accuracy(ax, runs, paper):
    """Panel (a) of Fig. 1: test accuracy against steps, with the paper's values as crosses."""
    for name in ("plain", "bn"):
        run = runs[name]
        ax.plot(run["step"], run["test_acc"], color=FIG1_COLORS[name], label=FIG1_LABELS[name])
        for step, accuracy in (paper or {}).get(name, {}).items():
            if step <= run["step"][-1]:
                ax.plot(step, accuracy, "x", color=FIG1_COLORS[name], ms=9, mew=2)
    if any(step <= runs[name]["step"][-1] for name in (paper or {}) for step in paper[name]):
        ax.plot([], [], "x", color="0.3", ms=9, mew=2, label="paper's Fig. 1(a)")
    later = [a for name in runs for a in runs[name]["test_acc"][1:]] or [0.0]
    finals = [runs[name]["test_acc"][-1] for name in runs]
    # like the paper's panel, 0.7 to 1 once both networks end above 0.9; else show everything
    ax.set_ylim(0.7 if min(finals) >= 0.9 else np.floor(min(later) * 10) / 10, 1.0)
    ax.set(xlabel="training step", ylabel="test accuracy", title="(a) test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)


def _fig1_percentiles(ax, run, title):
    """Panels (b, c) of Fig. 1: 15th/50th/85th percentiles of one sigmoid's input over training."""
    steps = run["step"]
    ax.fill_between(steps, run["p15"], run["p85"], color="0.85", label="15th to 85th")
    for key, style in (("p85", "--"), ("p50", "-"), ("p15", "--")):
        ax.plot(steps, run[key], style, color="black", lw=1.2 if key == "p50" else 0.9,
                label={"p85": "85th", "p50": "50th (median)", "p15": "15th"}[key])
    ax.axhline(0, color="0.5", lw=0.6, ls=":")
    ax.set(xlabel="training step", title=title)
    ax.grid(alpha=0.3)


def plot_fig1(result, paper=None):
    """The three panels of the paper's Fig. 1, from a `bnlib.experiments.fig1.run_fig1` result.

    (a) test accuracy against steps without and with BN (the paper's values as crosses, if
    `paper` = {"bn": {step: accuracy}, "plain": {...}} is given); (b, c) the 15th, 50th and
    85th percentiles over the test set of the input of one sigmoid of the last hidden layer,
    without and with BN, on a shared y axis. Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    runs, unit = result["runs"], result["config"].get("unit", 0)
    layer = len(result["config"].get("sizes", (0, 0, 0, 0, 0))) - 2
    _fig1_accuracy(axes[0], runs, paper)
    for ax, name, letter in ((axes[1], "plain", "b"), (axes[2], "bn", "c")):
        _fig1_percentiles(ax, runs[name], f"({letter}) {FIG1_LABELS[name]}: input of sigmoid "
                                          f"{unit}, layer {layer}")
    low = min(min(runs[name]["p15"]) for name in runs)      # one y range for (b) and (c)
    high = max(max(runs[name]["p85"]) for name in runs)
    pad = 0.05 * max(high - low, 0.5)
    axes[1].set_ylim(low - pad, high + pad)
    axes[2].set_ylim(low - pad, high + pad)
    axes[1].set_ylabel("sigmoid input z (test set)")
    axes[1].legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig, axes


def plot_sweep(sweep):
    """Heat maps of test accuracy over learning rate x initial weight scale, without and with BN.

    Input: the dict of `bnlib.experiments.sweep.lr_init_sweep` (accuracy rows per init_std, one column
    per lr; None where training diverged, drawn as "div."). Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, name in zip(axes, ("plain", "bn")):
        grid = np.array([[np.nan if a is None else a for a in row] for row in sweep[name]])
        image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0, origin="lower")
        for (i, j), accuracy in np.ndenumerate(grid):
            text = "div." if np.isnan(accuracy) else f"{accuracy:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=10,
                    color="black" if accuracy > 0.6 else "white")
        ax.set_xticks(range(len(sweep["lr"])), [f"{lr:g}" for lr in sweep["lr"]])
        ax.set_yticks(range(len(sweep["init_std"])), [f"{s:g}" for s in sweep["init_std"]])
        ax.set(xlabel="learning rate", title=FIG1_LABELS[name])
    axes[0].set_ylabel("initial weight std")
    fig.colorbar(image, ax=axes, label=f"test accuracy after {sweep['steps']} steps", shrink=0.9)
    return fig, axes


def plot_grad_norms(result):
    """Norm of each hidden layer's weight gradient over training, without and with BN.

    Input: a `bnlib.experiments.fig1.run_fig1` result (each run's "grad_norms": per record, one
    norm per hidden layer, for the minibatch just before the record). Log scale; step 0,
    before any gradient, is left out. Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, name in zip(axes, ("plain", "bn")):
        run = result["runs"][name]
        norms = np.array(run["grad_norms"][1:])             # (records - 1, hidden layers)
        for layer in range(norms.shape[1]):
            ax.plot(run["step"][1:], norms[:, layer], color=plt.cm.viridis(layer / norms.shape[1]),
                    label=f"layer {layer + 1}: ‖∂L/∂W{layer + 1}‖")
        ax.set_yscale("log")
        ax.set(xlabel="training step", title=FIG1_LABELS[name])
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("gradient norm (one minibatch)")
    axes[1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig, axes
