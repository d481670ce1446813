"""Tests for bnlib/figures/batch_size.py: accuracy against batch size, x_hat in both modes, gradient spread."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bnlib.experiments.batch_size import PAPER_WU_HE  # noqa: E402
from bnlib.figures import batch_size as plots  # noqa: E402


def _fake_batch_size_result():
    runs = []
    for seed, shift in ((0, 0.0), (1, 0.02)):
        for b, accs in ((2, (0.5, 0.9, 0.3)), (32, (0.9, 0.85, 0.88))):
            for norm, acc in zip(("batch", "layer", "group"), accs):
                runs.append(dict(norm=norm, batch_size=b, seed=seed, steps=10, lr=0.1,
                                 test_acc=acc + shift,
                                 train_mode_acc=acc + shift - 0.2 if norm == "batch" else None))
    runs.append(dict(norm="group", batch_size=32, seed=2, test_acc=None, train_mode_acc=None,
                     diverged="the training loss became nan at step 3"))
    return {"config": {"norms": ["batch", "layer", "group"], "batch_sizes": [2, 32],
                       "examples": 640}, "runs": runs}


def test_batch_size_plot_draws_the_mean_of_each_norm_and_the_papers_numbers():
    fig, axes = plots.plot_batch_size(_fake_batch_size_result(), paper=PAPER_WU_HE)
    try:
        lines = {line.get_label(): line for line in axes[0].lines}
        # test error in %, mean over the seeds
        np.testing.assert_allclose(lines["batch norm"].get_ydata(), [49, 9])
        np.testing.assert_allclose(lines["batch norm, training mode"].get_ydata(), [69, 29])
        np.testing.assert_allclose(lines["group norm"].get_ydata(), [69, 11])  # diverged left out
        assert axes[0].get_yscale() == "log" and "error" in axes[0].get_ylabel()
        assert [t.get_text() for t in axes[0].get_xticklabels()] == ["2", "32"]
        paper = {line.get_label(): line for line in axes[1].lines}
        np.testing.assert_allclose(paper["batch norm"].get_xdata(), [2, 4, 8, 16, 32])
        np.testing.assert_allclose(paper["batch norm"].get_ydata(), [34.7, 27.3, 24.8, 23.7, 23.6])
        np.testing.assert_allclose(paper["group norm"].get_ydata(), [24.1] * 5)
        assert "(a) ours" in axes[0].get_title() and "Wu & He" in axes[1].get_title()
        assert "640 examples" in axes[0].get_title()
        assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["batch norm",
                                                                        "batch norm, training mode"]
    finally:
        plt.close(fig)
    fig, axes = plots.plot_batch_size(_fake_batch_size_result())
    try:
        assert len(axes) == 1                                     # no paper: one panel
    finally:
        plt.close(fig)


def test_two_modes_plot_shows_both_histograms(rng):
    train_mode = rng.choice([-1.0, 1.0], (50, 4))
    eval_mode = rng.standard_normal((50, 4))
    fig, axes = plots.plot_two_modes(train_mode, eval_mode, batch_size=2)
    try:
        heights = [p.get_height() for p in axes[0].patches]
        assert sum(h > 0 for h in heights) == 2                    # two spikes, at -1 and +1
        assert sum(p.get_height() > 0 for p in axes[1].patches) > 5
        assert "batches of 2" in axes[0].get_title()
    finally:
        plt.close(fig)


def test_gradient_spread_plot_has_one_histogram_and_median_per_batch_size(rng):
    values = {2: 10.0 ** rng.uniform(-6, 2, 300), 64: 10.0 ** rng.uniform(-1, 1, 300)}
    fig, ax = plots.plot_gradient_spread(values)
    try:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["batch of 2",
                                                                        "batch of 64"]
        medians = sorted(line.get_xdata()[0] for line in ax.lines)
        np.testing.assert_allclose(medians, sorted(np.median(v) for v in values.values()))
        assert ax.get_xscale() == "log"
    finally:
        plt.close(fig)
