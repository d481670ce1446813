"""Figures of notebooks 10 and 11 (train vs eval, fine-tuning): running averages against
Algorithm 2, single-class batches, fine-tuning with frozen or updating statistics, and the
controls of the collapse of frozen fine-tuning."""
import matplotlib.pyplot as plt
import numpy as np

EVAL_GAP_STYLES = {"population": dict(color="black", lw=2, label="Algorithm 2's statistics"),
                   "batch mode": dict(color="C3", ls="--", label="training mode (batch statistics)")}


def _eval_gap_style(name, index):
    """Line style of one kind of inference in `plot_eval_gap`: running averages get C0, C1, ..."""
    return EVAL_GAP_STYLES.get(name, dict(color=f"C{index}", marker="o", ms=3,
                                          label=f"running averages, {name}"))


def plot_eval_gap(result):
    """The train/eval gap over training, from a `bnlib.experiments.eval_gap.run_eval_gap` result.

    (a) test accuracy of every kind of inference; (b) the fraction of test images whose
    prediction differs from the one made with Algorithm 2's statistics; (c) how far each
    running average's mean is from Algorithm 2's, in units of the standard deviation
    (averaged over all units). Log-scaled steps. Returns (fig, axes).
    """
    steps = result["step"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for i, (name, values) in enumerate(result["accuracy"].items()):
        axes[0].plot(steps, values, **_eval_gap_style(name, i - 1))
    for key, ax in (("disagreement", axes[1]), ("mean_gap", axes[2])):
        for name, values in result[key].items():
            index = list(result["accuracy"]).index(name) - 1
            ax.plot(steps, np.maximum(values, 1e-4), **_eval_gap_style(name, index))
        ax.set_yscale("log")
    axes[0].set(ylabel="test accuracy", title="(a) test accuracy", ylim=(0, 1))
    axes[1].set(ylabel="fraction of test images", title="(b) predictions unlike Alg. 2's")
    axes[2].set(ylabel="|running mean − Alg. 2 mean| / std", title="(c) error of the running mean")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3, which="both")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig, axes


def plot_class_batches(y, predictions, classes=None):
    """Per-class test accuracy of several ways of predicting, as grouped bars.

    Inputs: y (N,) true labels; predictions, a dict name -> (N,) predicted labels (e.g.
    "evaluation mode", "training mode, shuffled batches", "training mode, one class per batch");
    classes: the labels to show (None: those in y). Returns (fig, ax).
    """
    classes = np.unique(y) if classes is None else np.asarray(classes)
    width = 0.8 / len(predictions)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for i, (name, labels) in enumerate(predictions.items()):
        accuracy = [np.mean(labels[y == c] == c) for c in classes]          # (classes,)
        overall = np.mean(labels == y)
        ax.bar(np.arange(len(classes)) + (i - (len(predictions) - 1) / 2) * width, accuracy,
               width, color=f"C{i}", label=f"{name}: {overall:.3f} overall")
    ax.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax.set(xlabel="digit (true class)", ylabel="test accuracy", ylim=(0, 1.25),
           yticks=np.linspace(0, 1, 6))
    ax.legend(fontsize=8, loc="upper center", ncol=len(predictions) if len(predictions) < 3 else 2)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig, ax


def _original_accuracy_bars(ax, original):
    """Panel (b) of `plot_fine_tuning`: one labelled bar per network, its original accuracy."""
    names = {"before": "no fine-tuning", "re-estimated": "statistics re-estimated"}
    values = list(original.values())
    ax.barh(range(len(values)), values, color="0.6")
    for i, value in enumerate(values):
        ax.text(value + 0.01, i, f"{value:.2f}", va="center", fontsize=8)
    ax.set_yticks(range(len(values)), [names.get(key, key) for key in original], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="accuracy, original test images",
           title="(b) afterwards, on the original images")


def plot_fine_tuning(result):
    """Fine-tuning on shifted images, from a `bnlib.experiments.fine_tuning.run_fine_tuning` result.

    Left: accuracy on the shifted test set during fine-tuning, statistics frozen (dashed) or
    updating (solid), one colour per learning rate; the control (statistics frozen, fine-tuned
    and tested on the original images), if the result has one, dotted with squares; horizontal
    lines for the network before fine-tuning and with its statistics re-estimated on the shifted
    images (no training). Right: every network's accuracy on the original test set afterwards.
    Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw=dict(width_ratios=(1.3, 1)))
    lrs = sorted({run.split("lr ")[1] for run in result["runs"]}, key=float)
    for run, history in result["runs"].items():
        colour = f"C{lrs.index(run.split('lr ')[1])}"
        axes[0].plot(history["step"], history["test_acc"], color=colour, marker="o", ms=3,
                     ls="--" if run.startswith("frozen") else "-", label=f"statistics {run}")
    if "control" in result:
        control = result["control"]
        lr = f"{control['lr']:g}"
        axes[0].plot(control["step"], control["test_acc"], color="C2", marker="s", ms=3,
                     ls=":", label=f"control: frozen, lr {lr}, ORIGINAL images and test set")
    axes[0].axhline(result["re-estimated"], color="0.3", lw=1, ls=":",
                    label="statistics re-estimated, no training")
    axes[0].axhline(result["before"], color="0.6", lw=1, ls="-.", label="before fine-tuning")
    axes[0].set(xlabel="fine-tuning step", ylabel="test accuracy", ylim=(0, 1),
                title="(a) during fine-tuning, on the shifted images")
    axes[0].legend(fontsize=7, loc="center right", handlelength=3.5)
    _original_accuracy_bars(axes[1], {k: v for k, v in result["original"].items()
                                      if k != "control"})
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def plot_collapse_controls(rows, seeds, steps=None, lr=None):
    """What the collapse of frozen fine-tuning needs: one row per condition, one dot per seed.

    Inputs: rows, one dict per seed {condition: (accuracy after fine-tuning, first-step mean
    move or None)} (`bnlib.experiments.fine_tuning.controls_rows`); seeds, their seeds;
    steps and lr of the fine-tuning, for the title (None: not shown).
    Left: test accuracy after fine-tuning; right: how far the first SGD step moves the
    first layer's unit means, in frozen standard deviations (log scale). Returns (fig, axes).
    """
    names = list(rows[0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(names) + 1.2), sharey=True,
                             gridspec_kw=dict(width_ratios=(1, 1)))
    for i, (row, seed) in enumerate(zip(rows, seeds)):
        y = np.arange(len(names)) + (i - (len(rows) - 1) / 2) * 0.18
        accuracy = [row[name][0] for name in names]
        axes[0].plot(accuracy, y, "o", color=f"C{i}", ms=5, label=f"seed {seed}")
        moves = [(k, row[name][1]) for k, name in enumerate(names) if row[name][1] is not None]
        axes[1].plot([m for _, m in moves], [y[k] for k, _ in moves], "o", color=f"C{i}", ms=5)
    axes[0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0].invert_yaxis()
    setting = " at ".join(([f"{steps} steps"] if steps else []) + ([f"lr {lr:g}"] if lr else []))
    axes[0].set(xlim=(0, 1), xlabel="test accuracy after fine-tuning",
                title="(a) accuracy after " + (setting or "fine-tuning"))
    axes[1].set_xscale("log")
    axes[1].set(xlabel="|move of the layer-1 unit means| after one step (frozen stds)",
                title="(b) first step: move of the layer-1 means")
    axes[0].legend(fontsize=7, loc="lower left")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig, axes
