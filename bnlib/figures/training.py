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


FAIR_STYLES = {"paper": "--", "fair": "-"}


def _mean_curve(runs):
    """Steps and mean accuracy over seed runs, up to the shortest run (a diverged run stops)."""
    length = min(len(run["step"]) for run in runs)
    return runs[0]["step"][:length], np.mean([run["accuracy"][:length] for run in runs], axis=0)


def plot_fig1_fair(result):
    """The fair comparison, from a `bnlib.experiments.fig1_fair.run_fig1_fair` result.

    (a) validation accuracy of the grid against the learning rate, each network's choice
    ringed; (b) test accuracy against steps (log scale), mean over the seeds, in the paper's
    setting (dashed, lr 0.1 for both) and at each network's chosen lr (solid), with the
    thresholds as dotted lines; (c) the same from 5,000 steps on, on a linear scale.
    Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name in ("plain", "bn"):
        lrs = [float(lr) for lr in result["scores"][name]]
        scores = [np.nan if v is None else v for v in result["scores"][name].values()]
        axes[0].plot(lrs, scores, "o-", color=FIG1_COLORS[name], label=FIG1_LABELS[name])
        chosen = result["chosen"][name]
        axes[0].plot(chosen, scores[lrs.index(chosen)], "o", ms=13, mfc="none",
                     color=FIG1_COLORS[name], mew=1.5)
    axes[0].set_xscale("log")
    axes[0].set(xlabel="learning rate", ylabel="validation accuracy",
                title="(a) the grid (ringed: the choice)")
    low = min(v for s in result["scores"].values() for v in s.values() if v is not None)
    axes[0].set_ylim(max(0.0, min(low, 0.9) - 0.02), 1.0)
    for ax, log in ((axes[1], True), (axes[2], False)):
        for setting, by_name in result["runs"].items():
            for name, runs in by_name.items():
                steps, mean = _mean_curve(runs)
                lr = result["summary"][setting][name]["lr"]
                keep = [i for i, s in enumerate(steps) if (s > 0 if log else s >= 5000)]
                ax.plot(np.array(steps)[keep], mean[keep], FAIR_STYLES[setting],
                        color=FIG1_COLORS[name], label=f"{FIG1_LABELS[name]}, lr {lr:g}")
        for threshold in result["config"]["thresholds"]:
            ax.axhline(threshold, color="0.5", lw=0.7, ls=":")
        ax.set(xlabel="training step", ylabel="test accuracy (mean over seeds)")
        ax.grid(alpha=0.3)
    axes[1].set_xscale("log")
    axes[1].set_ylim(0.8, 1.0)
    axes[1].set_title("(b) dashed: paper's setting; solid: chosen lr")
    axes[1].legend(fontsize=8, loc="lower right")
    late = [a for by_name in result["runs"].values() for runs in by_name.values()
            for s, a in zip(*_mean_curve(runs)) if s >= 5000]
    axes[2].set_ylim(np.floor(min(late + [0.96]) * 100) / 100, 1.0 if not late else
                     min(1.0, np.ceil(max(late) * 200) / 200 + 0.005))
    axes[2].set_title("(c) from 5,000 steps on")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig, axes


AFFINE_COLORS = {"learned": "tab:blue", "frozen": "tab:purple"}


def plot_affine_ablation(result):
    """The gamma/beta ablation, from a `bnlib.experiments.affine_ablation` result: one row per
    learning rate.

    (a) test accuracy against steps, mean over the seeds (thin lines: each seed), gamma and
    beta learned or frozen at 1 and 0; (b, c) where the learned gamma and beta of each hidden
    layer end, as histograms over all units of all seeds (dotted: the frozen values).
    Returns (fig, axes), axes of shape (learning rates, 3).
    """
    lrs = list(result["runs"])
    fig, axes = plt.subplots(len(lrs), 3, figsize=(13, 3.3 * len(lrs)), squeeze=False)
    for row, lr in zip(axes, lrs):
        _affine_accuracy(row[0], result["runs"][lr], lr)
        _affine_histograms(row[1:], result["runs"][lr]["learned"], lr)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def _affine_accuracy(ax, runs, lr):
    """Panel (a) of `plot_affine_ablation` for one learning rate."""
    labels = {"learned": "γ, β learned", "frozen": "γ = 1, β = 0 frozen"}
    for variant, seed_runs in runs.items():
        for run in seed_runs:
            ax.plot(run["step"][1:], run["test_acc"][1:], color=AFFINE_COLORS[variant],
                    lw=0.6, alpha=0.5)
        length = min(len(run["step"]) for run in seed_runs)
        mean = np.mean([run["test_acc"][:length] for run in seed_runs], axis=0)
        ax.plot(seed_runs[0]["step"][1:length], mean[1:], color=AFFINE_COLORS[variant], lw=2,
                label=labels[variant])
    later = [a for seed_runs in runs.values() for run in seed_runs for a in run["test_acc"][2:]]
    ax.set_ylim(np.floor(min(later) * 50) / 50 if later else 0.0, 1.0)
    ax.set(xlabel="training step", ylabel="test accuracy",
           title=f"(a) lr {lr}: test accuracy (thin: each seed)")
    ax.legend(fontsize=8, loc="lower right")


def _affine_histograms(axes, learned, lr):
    """Panels (b, c) of `plot_affine_ablation`: histograms of the learned gamma and beta."""
    n_layers = len(learned[0]["units"])
    for ax, key, frozen in ((axes[0], "gamma", 1.0), (axes[1], "beta", 0.0)):
        values = [np.concatenate([run["units"][k][key] for run in learned])
                  for k in range(n_layers)]
        bins = np.linspace(min(v.min() for v in values), max(v.max() for v in values), 40)
        for k, v in enumerate(values):
            ax.hist(v, bins=bins, histtype="step", lw=1.5,
                    color=plt.cm.viridis(k / n_layers), label=f"layer {k + 1}")
        ax.axvline(frozen, color="0.3", ls=":", lw=1)
        symbol = "γ" if key == "gamma" else "β"
        ax.set(xlabel=f"learned {symbol} at the end", ylabel="units (all seeds)",
               title=f"({'b' if key == 'gamma' else 'c'}) lr {lr}: where {symbol} ends "
                     f"(dotted: {frozen:g})")
        ax.legend(fontsize=8)


PROBE_COLORS = {"plain": "tab:orange", "bn": "tab:blue", "bn_held": "tab:green"}
PROBE_LABELS = {"plain": "without BN", "bn": "with BN", "bn_held": "BN, norms held"}
INIT_STYLES = ("-", "--", ":")


def plot_large_lr(result):
    """Inside the Fig. 1 networks at a large learning rate, from a
    `bnlib.experiments.sweep.large_lr_probe` result (its first seed).

    Against the training step (log scale), one colour per network and one line style per
    initial std: (a) share of the last hidden layer's units stuck, saturated on the same side
    for every image of the minibatch; (b) share of its sigmoid inputs with |z| > 4; (c) growth
    of the first weight matrix's norm |W1| / |W1 at step 0|; (d) BN's gain gamma / sigma_B in
    the first hidden layer (median over units). Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    stds = list(next(iter(result["runs"].values())))
    for variant, by_std in result["runs"].items():
        for std, style in zip(stds, INIT_STYLES):
            run = by_std[std][0]
            color, steps = PROBE_COLORS[variant], run["step"]
            label = f"{PROBE_LABELS[variant]}, init {std}"
            axes[0].plot(steps, [s[-1] for s in run["stuck"]], style, color=color, label=label)
            axes[1].plot(steps, [s[-1] for s in run["saturated"]], style, color=color)
            axes[2].plot(steps, [g[0] for g in run["growth"]], style, color=color)
            if variant != "plain":
                axes[3].plot(steps, [g[0] for g in run["gain"]], style, color=color)
    layers = len(result["runs"]["plain"][stds[0]][0]["saturated"][0])
    axes[0].set(ylabel="share of units", ylim=(-0.03, 1.03),
                title=f"(a) units stuck on one side, layer {layers}")
    axes[1].set(ylabel="share of inputs", ylim=(-0.03, 1.03),
                title=f"(b) inputs with |z| > 4, layer {layers}")
    axes[2].set(ylabel="|W1| / |W1 at step 0|", yscale="log", title="(c) growth of W1")
    axes[3].set(ylabel="γ / σ_B (median over units)", yscale="log",
                title="(d) BN's gain, layer 1")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(f"training step (lr {result['config']['lr']:g})")
        ax.grid(alpha=0.3, which="both")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(stds) * 1,
               fontsize=8, bbox_to_anchor=(0.5, -0.02 - 0.045 * len(result["runs"])),
               frameon=False)
    fig.tight_layout()
    return fig, axes
