"""Figures of notebook 09 (batch size): accuracy against batch size, x_hat in both modes,
the spread of gradients."""
import matplotlib.pyplot as plt
import numpy as np

BATCH_SIZE_STYLES = {"none": dict(color="0.5", marker="o", label="no norm"),
                     "batch": dict(color="C0", marker="o", label="batch norm"),
                     "layer": dict(color="C2", marker="s", label="layer norm"),
                     "group": dict(color="C1", marker="^", label="group norm")}


def _batch_size_panel(ax, result, prefix=""):
    """Our sweep: test error (%, log scale) against batch size per norm (mean line, seeds as
    dots; for batch norm also in training mode, dashed)."""
    error = lambda accuracies: 100 * (1 - np.asarray(accuracies, dtype=float))
    for norm in result["config"]["norms"]:
        style = BATCH_SIZE_STYLES[norm]
        runs = [r for r in result["runs"] if r["norm"] == norm and r["test_acc"] is not None]
        sizes = sorted({r["batch_size"] for r in runs})
        for key, extra in (("test_acc", dict(ms=5, label=style["label"])),
                           ("train_mode_acc", dict(ls="--", lw=1, ms=3,
                                                   label="batch norm, training mode"))):
            if key == "train_mode_acc" and norm != "batch":
                continue
            means = [np.mean([r[key] for r in runs if r["batch_size"] == b]) for b in sizes]
            ax.plot(sizes, error(means), color=style["color"], marker=style["marker"], **extra)
        ax.scatter([r["batch_size"] for r in runs], error([r["test_acc"] for r in runs]), s=8,
                   color=style["color"], alpha=0.5)
    sizes = result["config"]["batch_sizes"]
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.set_yscale("log")
    ax.set_yticks([3, 5, 10, 20, 50, 100], ["3", "5", "10", "20", "50", "100"])
    ax.set(xlabel="batch size", ylabel="test error (%)",
           title=f"{prefix}MNIST MLP, {result['config']['examples']:,} examples per run")
    ax.grid(alpha=0.3, which="both")


def plot_batch_size(result, paper=None):
    """Test error against batch size for each normalisation, and Wu & He's published errors.

    Inputs: result of `bnlib.experiments.batch_size.batch_size_sweep`, drawn as test error = 100 * (1 -
    accuracy) on a log scale, mean over the seeds (the dashed line: batch norm run in training
    mode on test batches of the training batch size); paper: {norm: {batch size: top-1 error
    %}} (Wu & He 2018's ResNet-50 on ImageNet), drawn in a second panel if given.
    Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2 if paper else 1, figsize=(9, 3.4) if paper else (5.5, 3.4),
                             squeeze=False, gridspec_kw={"width_ratios": [2, 1]} if paper else None)
    axes = axes[0]
    _batch_size_panel(axes[0], result, "(a) ours: " if paper else "")
    if paper:
        for norm, errors in paper.items():
            style = BATCH_SIZE_STYLES[norm]
            sizes = sorted(errors)
            axes[1].plot(sizes, [errors[b] for b in sizes], color=style["color"],
                         marker=style["marker"], label=style["label"])
        axes[1].set_xscale("log", base=2)
        all_sizes = sorted({b for errors in paper.values() for b in errors})
        axes[1].set_xticks(all_sizes, [str(b) for b in all_sizes])
        axes[1].set(xlabel="images per GPU (BN's batch)", ylabel="top-1 error (%)",
                    title="(b) Wu & He 2018: ResNet-50,\nImageNet (published)")
        axes[1].title.set_fontsize(9)
        axes[1].grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=5 if paper else 3,
               fontsize=8, frameon=False)          # below the panels: the lines fill the axes
    fig.tight_layout(rect=(0, 0.08 if paper else 0.15, 1, 1))
    return fig, axes


def plot_two_modes(x_hat_train, x_hat_eval, batch_size):
    """Histograms of a BN layer's normalised values x_hat in training and in evaluation mode.

    Inputs: x_hat_train, x_hat_eval (N, D), as `bnlib.experiments.batch_size.normalized_in_both_modes`
    returns them; batch_size of the training-mode batches (for the title).
    Returns (fig, axes): training mode on the left, evaluation mode on the right, same x axis
    from -4 to 4 (values beyond are left out).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.0), sharex=True)
    bins = np.linspace(-4, 4, 81)
    for ax, values, title in ((axes[0], x_hat_train, f"training mode: batches of {batch_size}"),
                              (axes[1], x_hat_eval, "evaluation mode: running averages")):
        ax.hist(np.ravel(values), bins=bins, color="C0", density=True)   # |x_hat| > 4 left out
        ax.set(title=title, xlabel=r"normalised value $\hat{x}$ (all units, test images)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("density")
    fig.tight_layout()
    return fig, axes


def plot_gradient_spread(abs_grads):
    """Histograms of |dL/dz|, the gradient batch norm passes back to its input, per batch size.

    Input: {batch size: array of |dL/dz| entries} (any shape; zeros are left out). Log-spaced
    bins from 1e-8 to 1e4, log scale on both axes; a dashed line marks each median.
    Returns (fig, ax).
    """
    fig, ax = plt.subplots(figsize=(9, 3.0))
    bins = np.logspace(-8, 4, 97)
    for k, (batch_size, values) in enumerate(sorted(abs_grads.items())):
        values = np.ravel(values)
        values = values[values > 0]
        color = f"C{k}"
        ax.hist(values, bins=bins, histtype="step", lw=1.5, color=color,
                weights=np.full(len(values), 1.0 / len(values)), label=f"batch of {batch_size}")
        ax.axvline(np.median(values), color=color, ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")                   # so that the rare, large entries show
    ax.set(xlabel="|gradient| reaching the input of batch norm (one entry per sample and unit)",
           ylabel="share of entries (log)",
           title="the same inputs and upstream gradient, by batch size (dashed: medians)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig, ax
