"""Tests for bnlib/figures/train_eval.py: the train/eval gap, single-class batches, fine-tuning."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bnlib.figures import train_eval as plots


def _fake_eval_gap():
    """A result shaped like bnlib.experiments.eval_gap.run_eval_gap's, with made-up numbers."""
    runs = ["momentum 0.01", "momentum 0.1"]
    return {"step": [25, 100, 400],
            "accuracy": {"population": [0.7, 0.85, 0.9], runs[0]: [0.1, 0.3, 0.89],
                         runs[1]: [0.6, 0.84, 0.9], "batch mode": [0.69, 0.84, 0.89]},
            "disagreement": {runs[0]: [0.9, 0.7, 0.02], runs[1]: [0.1, 0.0, 0.01],
                             "batch mode": [0.07, 0.05, 0.03]},
            "mean_gap": {runs[0]: [1.0, 0.4, 0.05], runs[1]: [0.1, 0.03, 0.02]},
            "var_gap": {runs[0]: [9.0, 2.0, 0.1], runs[1]: [0.5, 0.05, 0.04]}}


def test_eval_gap_plot_draws_every_kind_of_inference():
    result = _fake_eval_gap()
    fig, axes = plots.plot_eval_gap(result)
    try:
        assert len(axes) == 3
        np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [0.7, 0.85, 0.9])
        assert [len(ax.lines) for ax in axes] == [4, 3, 2]
        # a disagreement of 0 cannot sit on a log axis: it is drawn at the floor 1e-4
        np.testing.assert_allclose(axes[1].lines[1].get_ydata(), [0.1, 1e-4, 0.01])
        assert all(ax.get_xscale() == "log" for ax in axes)
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels == ["Algorithm 2's statistics", "running averages, momentum 0.01",
                          "running averages, momentum 0.1", "training mode (batch statistics)"]
        # the same kind of inference has the same colour in every panel
        assert axes[0].lines[2].get_color() == axes[1].lines[1].get_color() == \
            axes[2].lines[1].get_color()
    finally:
        plt.close(fig)


def test_class_batches_plot_shows_per_class_accuracy(rng):
    y = np.repeat([0, 1, 2], 10)
    good, bad = y.copy(), y.copy()
    bad[:5] = 1                                           # class 0: half wrong
    fig, ax = plots.plot_class_batches(y, {"good": good, "bad": bad})
    try:
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_allclose(heights, [1, 1, 1, 0.5, 1, 1])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["good: 1.000 overall", "bad: 0.833 overall"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    finally:
        plt.close(fig)


def test_fine_tuning_plot_draws_each_run_the_control_and_the_original_accuracies():
    runs = {"frozen, lr 0.01": {"step": [0, 5, 10], "test_acc": [0.1, 0.5, 0.8]},
            "updating, lr 0.01": {"step": [0, 5, 10], "test_acc": [0.1, 0.9, 0.9]}}
    result = {"before": 0.1, "re-estimated": 0.92, "steps": 10, "runs": runs,
              "control": {"lr": 0.1, "step": [0, 5, 10], "test_acc": [0.93, 0.9, 0.91]},
              "original": {"before": 0.93, "re-estimated": 0.3, "frozen, lr 0.01": 0.85,
                           "updating, lr 0.01": 0.35, "control": 0.91}}
    fig, axes = plots.plot_fine_tuning(result)
    try:
        frozen, updating, control = axes[0].lines[:3]
        assert frozen.get_linestyle() == "--" and updating.get_linestyle() == "-"
        np.testing.assert_allclose(updating.get_ydata(), [0.1, 0.9, 0.9])
        np.testing.assert_allclose(control.get_ydata(), [0.93, 0.9, 0.91])
        assert "ORIGINAL" in control.get_label()
        assert [t.get_text() for t in axes[1].get_yticklabels()] == [
            "no fine-tuning", "statistics re-estimated", "frozen, lr 0.01", "updating, lr 0.01"]
        np.testing.assert_allclose([p.get_width() for p in axes[1].patches],
                                   [0.93, 0.3, 0.85, 0.35])
    finally:
        plt.close(fig)


def test_collapse_controls_plot_has_one_dot_per_seed_and_condition():
    rows = [{"frozen, shifted images": (0.1, 3.0), "updating, shifted images": (0.9, None),
             "frozen, original images": (0.92, 0.05)},
            {"frozen, shifted images": (0.2, 2.5), "updating, shifted images": (0.91, None),
             "frozen, original images": (0.9, 0.04)}]
    fig, axes = plots.plot_collapse_controls(rows, seeds=[0, 1], steps=300, lr=0.1)
    try:
        assert [len(line.get_xdata()) for line in axes[0].lines] == [3, 3]
        np.testing.assert_allclose(axes[0].lines[1].get_xdata(), [0.2, 0.91, 0.9])
        # no move for the updating run: two dots per seed on the right
        np.testing.assert_allclose(axes[1].lines[0].get_xdata(), [3.0, 0.05])
        assert axes[1].get_xscale() == "log"
        assert [t.get_text() for t in axes[0].get_yticklabels()] == list(rows[0])
        assert "300 steps at lr 0.1" in axes[0].get_title()
        assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["seed 0", "seed 1"]
    finally:
        plt.close(fig)
