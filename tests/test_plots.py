"""Tests for bnlib/plots.py: figures draw what they claim, readably."""
import inspect
import itertools

import numpy as np
import pytest

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402

import bnlib  # noqa: E402
from bnlib import plots  # noqa: E402


def _graph_parts():
    """Draw the BN graph; return (fig, ax, node boxes by node name, arrows by "source->target")."""
    fig, ax = plots.draw_bn_graph()
    fig.canvas.draw()
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    names = [t for t in ax.texts if t.get_text() in plots.BN_GRAPH_NODES]
    by_name = {t.get_text(): box for t, box in zip(names, boxes)}
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    return fig, ax, by_name, arrows


def _arrow_path(arrow):
    """The arrow's path in data coordinates, its CLOSEPOLY vertices set to where they close.

    (matplotlib stores a placeholder vertex with CLOSEPOLY, which `intersects_bbox` would
    otherwise take as a real point.)
    """
    path = arrow.get_path()
    vertices, start = path.vertices.copy(), None
    for i, code in enumerate(path.codes):
        if code == Path.MOVETO:
            start = vertices[i]
        elif code == Path.CLOSEPOLY:
            vertices[i] = start
    return Path(vertices, path.codes)


def test_bn_graph_has_every_node_and_edge():
    fig, ax, boxes, arrows = _graph_parts()
    assert set(boxes) == set(plots.BN_GRAPH_NODES)
    assert set(arrows) == {f"{s}->{t}" for s, t, _ in plots.BN_GRAPH_EDGES}
    assert len(arrows) == 12
    plt.close(fig)


def test_bn_graph_names_match_the_staged_backward():
    # Every node's gradient appears under the name d<node> in the node-by-node code.
    source = inspect.getsource(bnlib.batchnorm_backward_staged)
    for name in plots.BN_GRAPH_NODES:
        assert f"d{name}" in source, name


def test_bn_graph_marks_the_two_forks():
    fig, ax, boxes, arrows = _graph_parts()
    colour = {gid: matplotlib.colors.to_hex(a.get_edgecolor()) for gid, a in arrows.items()}
    fork_x = {colour["x->xc"], colour["x->mean"]}
    fork_xc = {colour["xc->sq"], colour["xc->x_hat"]}
    plain = {c for gid, c in colour.items()
             if gid not in ("x->xc", "x->mean", "xc->sq", "xc->x_hat")}
    assert len(fork_x) == len(fork_xc) == len(plain) == 1   # one colour per group
    assert len(fork_x | fork_xc | plain) == 3               # three distinct groups
    plt.close(fig)


def test_bn_graph_is_readable():
    fig, ax, boxes, arrows = _graph_parts()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text()]
    extents = [t.get_window_extent(renderer) for t in texts]
    for (a, ea), (b, eb) in itertools.combinations(zip(texts, extents), 2):
        assert not ea.overlaps(eb), f"{a.get_text()!r} overlaps {b.get_text()!r}"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not box_a.get_bbox().overlaps(box_b.get_bbox()), f"{a} overlaps {b}"
    for name, box in boxes.items():      # a node's name and formula sit inside its box
        outer = box.get_window_extent(renderer)
        x, y, _ = plots.BN_GRAPH_NODES[name]
        inside = [e for t, e in zip(texts, extents) if abs(t.get_position()[0] - x) < 1e-9
                  and abs(t.get_position()[1] - y) < 0.5]
        assert len(inside) == 2, name
        for e in inside:
            assert outer.x0 < e.x0 and e.x1 < outer.x1 and outer.y0 < e.y0 and e.y1 < outer.y1, name
    for gid, arrow in arrows.items():    # an arrow touches only its own two nodes
        path = _arrow_path(arrow)
        for name, box in boxes.items():
            if name not in gid.split("->"):
                assert not path.intersects_bbox(box.get_bbox(), filled=False), (gid, name)
        for t in texts:                  # and crosses no text
            bbox = t.get_window_extent(renderer).transformed(ax.transData.inverted())
            assert not path.intersects_bbox(bbox, filled=False), (gid, t.get_text())
    plt.close(fig)


# --- notebook 02: feature histograms and running statistics ---------------------------------

def test_feature_histograms_draw_one_filled_histogram_per_feature(rng):
    before = rng.normal([5.0, -1.0, 0.0], [0.1, 1.0, 10.0], size=(200, 3))   # (N, D)
    after = (before - before.mean(0)) / before.std(0)
    fig, axes = plots.plot_feature_histograms(before, after, labels=["a", "b", "c"], bins=20)
    try:
        assert len(axes) == 2
        for ax, data in zip(axes, (before, after)):
            assert len(ax.patches) == 3                 # one stepfilled polygon per feature
            lo, hi = ax.get_xlim()
            assert lo <= data.min() and hi >= data.max()  # every value is on the axis
        assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["a", "b", "c"]
        assert "before" in axes[0].get_title() and "after" in axes[1].get_title()
    finally:
        plt.close(fig)


def test_feature_histograms_reject_mismatched_input():
    with pytest.raises(ValueError, match="same shape"):
        plots.plot_feature_histograms(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="one label per feature"):
        plots.plot_feature_histograms(np.zeros((5, 2)), np.zeros((5, 2)), labels=["only one"])


def test_running_vs_population_plots_the_given_values(rng):
    batch_means, batch_vars = rng.normal(size=50), rng.uniform(1, 2, size=50)
    running_means, running_vars = np.cumsum(batch_means) / 50, np.linspace(1, 1.5, 50)
    fig, axes = plots.plot_running_vs_population(
        (batch_means, batch_vars), (running_means, running_vars), (0.1, 1.4), feature="unit 7")
    try:
        assert len(axes) == 2
        for ax, batch, running, population in zip(
                axes, (batch_means, batch_vars), (running_means, running_vars), (0.1, 1.4)):
            dots, curve, line = ax.get_lines()
            np.testing.assert_array_equal(dots.get_ydata(), batch)
            np.testing.assert_array_equal(curve.get_ydata(), running)
            np.testing.assert_array_equal(curve.get_xdata(), np.arange(1, 51))
            assert set(line.get_ydata()) == {population}       # a horizontal line
        assert axes[0].get_ylabel() == "mean" and axes[1].get_ylabel() == "variance"
        assert axes[0].get_title() == "the mean of unit 7"
    finally:
        plt.close(fig)


def test_running_vs_population_needs_one_entry_per_statistic():
    with pytest.raises(ValueError, match="one entry per statistic"):
        plots.plot_running_vs_population(([1.0],), ([1.0], [2.0]), (1.0,))


# --- notebook 01: the chain-rule graph and finite-difference errors ---------------------------

def test_chain_rule_graph_draws_six_edges_and_both_paths():
    fig, ax = plots.draw_chain_rule_graph()
    try:
        texts = [t.get_text() for t in ax.texts]
        arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
        assert len(arrows) == 6                    # x->a, w->a, x->b, a->c, b->c, c->y
        for node in ["$x$", "$w$", r"$a = w\,x$", r"$b = \sigma(x)$", r"$c = a\,b$"]:
            assert node in texts
        assert any(t.startswith("path 1") for t in texts)
        assert any(t.startswith("path 2") for t in texts)
    finally:
        plt.close(fig)


def test_step_errors_one_line_per_series_on_log_axes():
    steps = np.logspace(-8, -1, 8)
    errors = {("central", "float64"): steps ** 2, ("forward", "float64"): np.zeros(8),
              ("central", "float32"): steps}
    fig, ax = plots.plot_step_errors(steps, errors, tolerance=1e-7)
    try:
        lines = ax.get_lines()
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert [line.get_label() for line in lines[:3]] == [
            "central, float64", "forward, float64", "central, float32"]
        assert len(lines) == 4                     # three series and the tolerance line
        assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
        assert lines[0].get_linestyle() != lines[1].get_linestyle()   # rule by line style
        assert np.min(lines[1].get_ydata()) == 1e-17   # zeros clipped, not -inf
    finally:
        plt.close(fig)


def _histogram_mean_var(patch):
    """Mean and variance of the data drawn as a stepfilled histogram, from its outline.

    The area under the outline is the histogram, so its centroid is the binned data's mean
    (shoelace formulas for the first and second moments of a polygon).
    """
    x, y = np.vstack([patch.get_path().vertices, patch.get_path().vertices[:1]]).T
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    mean = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
    second = ((x[:-1] ** 2 + x[:-1] * x[1:] + x[1:] ** 2) * cross).sum() / (12 * area)
    return mean, second - mean ** 2


def test_bn_histograms_picture_shows_features_normalised():
    fig, axes = plots.bn_histograms_picture()
    try:
        before = [_histogram_mean_var(p) for p in axes[0].patches]
        after = [_histogram_mean_var(p) for p in axes[1].patches]
        assert len(before) == len(after) == 3
        # Before: three clearly separated offsets (about 8, -4.5 and 0) and different spreads.
        assert max(m for m, _ in before) - min(m for m, _ in before) > 10
        # After: mean 0 and variance 1. The binning adds about width**2 / 12 (< 0.01 here)
        # to the variance, hence the tolerance of 0.03.
        for mean, var in after:
            assert abs(mean) < 0.03 and abs(var - 1) < 0.03
    finally:
        plt.close(fig)


# --- notebook 04: the sigmoid's saturated regions and the saturation panel --------------------

def _fake_deep(rng, depth, spread):
    """A result shaped like bnlib.widgets.deep_signal's, with z_first of the given spread."""
    return dict(fraction_saturated=rng.uniform(0, 1, depth),
                mean_local_gradient=rng.uniform(0, 0.25, depth),
                grad_median=10.0 ** rng.uniform(-6, 0, depth),
                z_first=spread * rng.standard_normal((30, 20)))


def test_sigmoid_saturation_shades_beyond_the_threshold():
    fig, ax = plots.plot_sigmoid_saturation(4.0)
    try:
        spans = sorted((round(p.get_x(), 6), round(p.get_x() + p.get_width(), 6))
                       for p in ax.patches)
        assert spans == [(-8.0, -4.0), (4.0, 8.0)]
        curve, slope, dots = ax.get_lines()
        z = curve.get_xdata()
        np.testing.assert_allclose(curve.get_ydata(), 1 / (1 + np.exp(-z)), rtol=1e-12)
        np.testing.assert_allclose(slope.get_ydata(), np.exp(-z) / (1 + np.exp(-z)) ** 2,
                                   rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(dots.get_ydata(), 0.0177, atol=1e-4)   # sigma'(+-4)
    finally:
        plt.close(fig)


def test_saturation_panel_draws_the_given_results(rng):
    plain, with_bn = _fake_deep(rng, 6, 20.0), _fake_deep(rng, 6, 1.0)
    fig, axes = plots.plot_saturation_panel(plain, with_bn, 4.0)
    try:
        assert len(axes) == 5
        for ax, result in zip(axes[:2], (plain, with_bn)):
            (stairs,) = [p for p in ax.patches if isinstance(p, matplotlib.patches.StepPatch)]
            heights, edges = stairs.get_data()[:2]
            assert heights.max() == 1.0                          # tallest bar scaled to 1
            # every value is counted: those beyond the range fall in the edge bins
            counts = np.histogram(np.clip(result["z_first"], edges[0], edges[-1]), edges)[0]
            np.testing.assert_allclose(heights, counts / counts.max())
            assert f"{100 * result['fraction_saturated'][0]:.1f}% saturated" in ax.get_title()
        for ax, key, factor in zip(axes[2:], ("fraction_saturated", "mean_local_gradient",
                                              "grad_median"), (100, 1, 1)):
            for line, result in zip(ax.get_lines(), (plain, with_bn)):
                np.testing.assert_allclose(line.get_ydata(), factor * result[key])
        assert axes[4].get_yscale() == "log"
        fig.canvas.draw()
        boxes = [ax.get_tightbbox() for ax in axes]              # with titles and labels
        for a, b in itertools.combinations(range(5), 2):
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    finally:
        plt.close(fig)


def test_saturation_static_has_one_labelled_row_per_setting(rng):
    rows = [(f"setting {k}", _fake_deep(rng, 4, 5.0), _fake_deep(rng, 4, 1.0)) for k in range(3)]
    fig, axes = plots.plot_saturation_static(rows, 4.0)
    try:
        assert axes.shape == (3, 4)
        assert [row[0].get_ylabel() for row in axes] == ["setting 0", "setting 1", "setting 2"]
        for row, (_, plain, with_bn) in zip(axes, rows):
            np.testing.assert_allclose(row[3].get_lines()[0].get_ydata(), plain["grad_median"])
            np.testing.assert_allclose(row[2].get_lines()[1].get_ydata(),
                                       100 * with_bn["fraction_saturated"])
    finally:
        plt.close(fig)


# ---- notebook 09: BN for convolutions ----

def test_per_channel_vs_per_position_shows_the_chosen_maps(rng):
    maps = rng.standard_normal((3, 2, 5, 4))
    fig, axes = plots.plot_per_channel_vs_per_position(maps, 2 * maps, 3 * maps, rows=[0, 2],
                                                       labels=["first", "third"], channel=1)
    try:
        assert axes.shape == (2, 3)
        assert [ax.get_ylabel() for ax in axes[:, 0]] == ["first", "third"]
        assert "per channel" in axes[0, 1].get_title()
        assert "per position" in axes[0, 2].get_title()
        for j, factor in enumerate((1, 2, 3)):
            np.testing.assert_array_equal(axes[1, j].get_images()[0].get_array(),
                                          factor * maps[2, 1])
        assert axes[0, 1].get_images()[0].get_clim() == (-4.0, 4.0)   # shared colour range
    finally:
        plt.close(fig)


def test_placement_plot_has_one_dot_per_seed_and_a_legend():
    from matplotlib.collections import PathCollection
    runs = lambda acc, sat: [dict(test_acc=acc + d, saturation=sat) for d in (0, 0.01, 0.02)]
    results = {("sigmoid", "none"): runs(0.88, 0.013), ("sigmoid", "before"): runs(0.91, 0.0),
               ("sigmoid", "after"): runs(0.93, 0.04), ("relu", "before"): runs(0.93, 0.5)}
    fig, axes = plots.plot_placement(results, 4.0)
    try:
        scatters = [c for c in axes[0].collections if isinstance(c, PathCollection)]
        assert [len(c.get_offsets()) for c in scatters] == [3, 3, 3, 3]     # one per seed
        np.testing.assert_allclose(scatters[1].get_offsets()[:, 1], [91, 92, 93])  # percent
        assert scatters[3].get_offsets()[0, 0] == pytest.approx(1.0)   # relu's group at x = 1
        labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
        assert labels == ["no BN", "BN before", "BN after"]
        assert axes[1].get_yscale() == "symlog" and axes[1].get_ylim() == (0, 100)
        assert "|z| > 4" in axes[1].get_title()
    finally:
        plt.close(fig)


def _fake_eval_gap():
    """A result shaped like bnlib.eval_gap.run_eval_gap's, with made-up numbers."""
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


def test_fine_tuning_plot_draws_each_run_and_the_original_accuracies():
    runs = {"frozen, lr 0.01": {"step": [0, 5, 10], "test_acc": [0.1, 0.5, 0.8]},
            "updating, lr 0.01": {"step": [0, 5, 10], "test_acc": [0.1, 0.9, 0.9]}}
    result = {"before": 0.1, "re-estimated": 0.92, "steps": 10, "runs": runs,
              "original": {"before": 0.93, "re-estimated": 0.3, "frozen, lr 0.01": 0.85,
                           "updating, lr 0.01": 0.35}}
    fig, axes = plots.plot_fine_tuning(result)
    try:
        frozen, updating = axes[0].lines[:2]
        assert frozen.get_linestyle() == "--" and updating.get_linestyle() == "-"
        np.testing.assert_allclose(updating.get_ydata(), [0.1, 0.9, 0.9])
        assert [t.get_text() for t in axes[1].get_yticklabels()] == [
            "no fine-tuning", "statistics re-estimated", "frozen, lr 0.01", "updating, lr 0.01"]
        np.testing.assert_allclose([p.get_width() for p in axes[1].patches],
                                   [0.93, 0.3, 0.85, 0.35])
    finally:
        plt.close(fig)


def test_eval_gap_pictures_read_the_saved_run(tmp_path):
    import json
    saved = _fake_eval_gap()
    saved["fine_tuning"] = {"before": 0.2, "re-estimated": 0.9, "steps": 5,
                            "runs": {"frozen, lr 0.1": {"step": [0, 5], "test_acc": [0.2, 0.1]}},
                            "original": {"before": 0.9, "frozen, lr 0.1": 0.1}}
    path = tmp_path / "eval_gap.json"
    path.write_text(json.dumps(saved))
    fig, axes = plots.eval_gap_picture(path)
    try:
        np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [0.7, 0.85, 0.9])
    finally:
        plt.close(fig)
    fig, axes = plots.fine_tuning_picture(path)
    try:
        np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [0.2, 0.1])
    finally:
        plt.close(fig)


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
    from bnlib.batch_size import PAPER_WU_HE
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
        np.testing.assert_allclose(paper["batch norm"].get_ydata(), [34.7, 23.6])
        np.testing.assert_allclose(paper["group norm"].get_ydata(), [24.1, 24.1])
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


def test_batch_size_picture_reads_the_saved_run(tmp_path):
    import json
    path = tmp_path / "batch_size.json"
    path.write_text(json.dumps(_fake_batch_size_result()))
    fig, axes = plots.batch_size_picture(path)
    try:
        assert len(axes) == 2 and len(axes[0].lines) == 4        # 3 norms + BN training mode
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


def _noisy_result(rng, records=4, units=3):
    """A synthetic `run_noisy_comparison` result (no training)."""
    runs = {}
    for name in ("plain", "bn", "noisy"):
        mean, std = rng.normal(size=(records, units)), rng.uniform(0.5, 1.5, (records, units))
        runs[name] = {"step": list(range(0, 100 * records, 100)),
                      "test_acc": rng.uniform(0.1, 0.9, records).tolist(),
                      "mean": mean.tolist(), "std": std.tolist(),
                      "shift": bnlib.distribution_shift(mean, std).tolist()}
    return {"layer": 3, "runs": runs}


def test_noisy_comparison_plot_draws_accuracy_and_shift_per_network(rng):
    result = _noisy_result(rng)
    fig, axes = plots.plot_noisy_comparison(result)
    try:
        assert len(axes[0].lines) == 3 and len(axes[1].lines) == 3
        np.testing.assert_allclose(axes[1].lines[2].get_ydata(), result["runs"]["noisy"]["shift"])
        np.testing.assert_array_equal(axes[1].lines[0].get_xdata(), [100, 200, 300])
        assert axes[1].get_yscale() == "log" and "layer 3" in axes[1].get_title()
        assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
            "without BN", "with BN", "noisy BN"]
    finally:
        plt.close(fig)


def test_unit_input_plot_shows_the_chosen_unit_of_each_network(rng):
    result = _noisy_result(rng)
    fig, axes = plots.plot_unit_input(result, unit=2)
    try:
        assert [ax.get_title() for ax in axes] == ["without BN", "with BN", "noisy BN"]
        np.testing.assert_allclose(axes[1].lines[0].get_ydata(),
                                   np.array(result["runs"]["bn"]["mean"])[:, 2])
        assert "unit 2, layer 3" in axes[0].get_ylabel()
    finally:
        plt.close(fig)


def test_landscape_plot_draws_both_networks_per_scale():
    def run(offset):
        points = [[{"loss0": 2.0, "loss": [2.0 - offset * k for k in range(1, 4)],
                    "grad_change": [offset * k for k in range(1, 4)]}] for _ in range(2)]
        return {"step": [0, 100], "multiples": [0.5, 1.0, 1.5], "points": points}
    result = {"which": "hidden", "runs": {"0.05": {"plain": run(0.01), "bn": run(0.1)},
                                          "0.5": {"plain": run(0.2), "bn": run(0.02)}}}
    fig, axes = plots.plot_landscape(result, record=1)
    try:
        assert axes.shape == (2, 2)
        assert axes[0, 1].get_title() == "initial weight std 0.5, at step 100"
        np.testing.assert_allclose(axes[0, 0].lines[1].get_ydata(), [-0.1, -0.2, -0.3])
        np.testing.assert_allclose(axes[1, 1].lines[0].get_ydata(), [0.2, 0.4, 0.6])
        np.testing.assert_array_equal(axes[1, 0].lines[0].get_xdata(), [0.5, 1.0, 1.5])
        assert axes[1, 0].get_yscale() == "log"
    finally:
        plt.close(fig)
