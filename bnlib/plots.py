"""Figure code for the notebooks and pictures/, kept out of the teaching cells.

Every function draws on a new figure and returns (fig, ax) or (fig, axes); none calls show().
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .layers import sigmoid


def save_figure(fig, path):
    """Write `fig` as a PNG at `path` (its folder made if needed), close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _chain_node(ax, xy, text, color):
    """Draw one node of a computational graph: a rounded box with centred text."""
    ax.text(*xy, text, ha="center", va="center", fontsize=12, zorder=3,
            bbox=dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor=color, lw=2))


def _chain_edge(ax, start, end, label, color, lift=0.0):
    """Draw an arrow from `start` to `end` with its local derivative at the middle (+ `lift` in y)."""
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=2,
                                shrinkA=24, shrinkB=24, mutation_scale=16))
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + lift)
    ax.text(*middle, label, ha="center", va="center", fontsize=10, color=color, zorder=4,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none"))


def draw_chain_rule_graph():
    """Notebook 01's graph y = (w x * sigmoid(x))^2 / 2, in which x reaches y by two paths.

    Boxes are nodes, arrows carry local derivatives. Path 1 (x -> a -> c) is blue, path 2
    (x -> b -> c) orange; the text below multiplies along each path and adds the two.
    Returns (fig, ax).
    """
    blue, orange, grey = "tab:blue", "tab:orange", "0.3"
    pos = {"x": (0.0, 1.0), "w": (0.0, -0.7), "a": (2.6, 0.0), "b": (2.6, 2.0),
           "c": (5.2, 1.0), "y": (7.6, 1.0)}
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for start, end, label, color, lift in [
            ("x", "a", r"$\partial a/\partial x = w$", blue, 0.0),
            ("w", "a", r"$\partial a/\partial w = x$", grey, 0.0),
            ("x", "b", r"$\partial b/\partial x = b\,(1-b)$", orange, 0.0),
            ("a", "c", r"$\partial c/\partial a = b$", blue, 0.0),
            ("b", "c", r"$\partial c/\partial b = a$", orange, 0.0),
            ("c", "y", r"$\partial y/\partial c = c$", grey, 0.3)]:
        _chain_edge(ax, pos[start], pos[end], label, color, lift)
    for name, text, color in [("x", "$x$", "black"), ("w", "$w$", "black"),
                              ("a", r"$a = w\,x$", blue), ("b", r"$b = \sigma(x)$", orange),
                              ("c", r"$c = a\,b$", grey), ("y", r"$y = c^2/2$", grey)]:
        _chain_node(ax, pos[name], text, color)
    ax.text(0.0, -1.55, r"path 1:  $c \cdot b \cdot w$", color=blue, fontsize=12)
    ax.text(0.0, -2.05, r"path 2:  $c \cdot a \cdot b\,(1-b)$", color=orange, fontsize=12)
    ax.text(3.6, -1.8, r"$\frac{dy}{dx}$ = path 1 + path 2 $= c\,(b\,w + a\,b\,(1-b))$",
            fontsize=12, va="center")
    ax.set_xlim(-0.6, 8.4)
    ax.set_ylim(-2.3, 2.6)
    ax.set_axis_off()
    ax.set_title("Multiply local derivatives along each path from x to y, then add the paths")
    return fig, ax


def plot_step_errors(steps, errors, tolerance=None):
    """Log-log plot of the relative error of finite-difference derivatives against the step h.

    Inputs: steps (K,) positive step sizes; errors: dict (rule, precision) -> (K,) relative
    errors |estimate - exact| / |exact|, e.g. ("central", "float64"); zeros are drawn at 1e-17.
    Each precision gets one colour, each rule one line style. tolerance: a level to mark, or None.
    Returns (fig, ax).
    """
    colours = {}
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for (rule, precision), err in errors.items():
        colour = colours.setdefault(precision, f"C{3 * len(colours)}")   # C0, C3, C6, ...
        ax.loglog(steps, np.maximum(err, 1e-17), "-" if rule == "central" else "--",
                  color=colour, marker="o", ms=3, label=f"{rule}, {precision}")
    if tolerance is not None:
        ax.axhline(tolerance, color="0.4", lw=1, ls=":")
        ax.text(steps[-1], tolerance / 1.6, f"tolerance {tolerance:.0e}", color="0.3",
                fontsize=9, ha="right", va="top")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error")
    ax.set_title("Finite-difference derivative: error against the step h")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig, ax


# --- notebook 03: batch norm's computational graph -------------------------------------------

# BN's forward graph for one column: node -> (x, y, formula). Names match batchnorm_backward_staged.
BN_GRAPH_NODES = {
    "x": (0.0, 0.0, "input"),
    "mean": (1.7, -2.1, r"$\Sigma_n\, x_n\, /\, N$"),
    "xc": (3.4, 0.0, r"$x - \mathrm{mean}$"),
    "sq": (4.9, -2.1, r"$\mathrm{xc}^2$"),
    "var": (6.9, -2.1, r"$\Sigma_n\, \mathrm{sq}_n\, /\, N$"),
    "std": (8.9, -2.1, r"$\sqrt{\mathrm{var} + \epsilon}$"),
    "inv_std": (10.9, -2.1, r"$1\,/\,\mathrm{std}$"),
    "x_hat": (10.9, 0.0, r"$\mathrm{xc}\cdot\mathrm{inv\_std}$"),
    "out": (13.4, 0.0, r"$\gamma\,\hat{x} + \beta$"),
    "gamma": (12.5, 2.0, "scale"),
    "beta": (14.3, 2.0, "shift"),
}
# (source, target, colour): the forks of x and of xc are coloured, other edges are grey.
BN_GRAPH_EDGES = [
    ("x", "xc", "C1"), ("x", "mean", "C1"), ("mean", "xc", "0.35"),
    ("xc", "x_hat", "C0"), ("xc", "sq", "C0"), ("sq", "var", "0.35"), ("var", "std", "0.35"),
    ("std", "inv_std", "0.35"), ("inv_std", "x_hat", "0.35"), ("x_hat", "out", "0.35"),
    ("gamma", "out", "0.35"), ("beta", "out", "0.35"),
]


def _bn_graph_node(ax, name, x, y, formula, width=1.7, height=1.0):
    """Draw one node of the graph (name above, formula below) and return its box patch."""
    box = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                         boxstyle="round,pad=0.02,rounding_size=0.15", fc="white", ec="0.2",
                         lw=1.2, zorder=2)
    ax.add_patch(box)
    ax.text(x, y + 0.2, name, ha="center", va="center", fontsize=11, family="monospace",
            fontweight="bold", zorder=3)
    ax.text(x, y - 0.2, formula, ha="center", va="center", fontsize=10, zorder=3)
    return box


def draw_bn_graph():
    """Batch norm's forward computational graph for one column, with its two forks marked.

    Nodes carry the names used in `batchnorm_backward_staged`; the forks (x feeds xc and
    mean; xc feeds sq and x_hat) are coloured: there the backward pass adds two gradients.
    Returns (fig, ax).
    """
    fig, ax = plt.subplots(figsize=(10.5, 4.4))
    boxes = {name: _bn_graph_node(ax, name, x, y, formula)
             for name, (x, y, formula) in BN_GRAPH_NODES.items()}
    for source, target, colour in BN_GRAPH_EDGES:
        ax.add_patch(FancyArrowPatch(
            posA=BN_GRAPH_NODES[source][:2], posB=BN_GRAPH_NODES[target][:2],
            patchA=boxes[source], patchB=boxes[target], arrowstyle="-|>", mutation_scale=14,
            color=colour, lw=1.3 if colour == "0.35" else 2.2, zorder=1,
            gid=f"{source}->{target}"))                      # gid names the edge for tests
    ax.text(0.0, 0.8, "x feeds 2 nodes:\ndx = dxc + dmean / N", color="C1", ha="center",
            va="bottom", fontsize=9.5)
    ax.text(5.8, 0.8, "xc feeds 2 nodes:\ndxc = dx_hat * inv_std + 2 * xc * dsq",
            color="C0", ha="center", va="bottom", fontsize=9.5)
    ax.text(7.1, -3.35, "Backward pass: follow the arrows in reverse; where a node feeds two "
            "others,\nthe gradients arriving along both paths are added (the sum over paths).",
            ha="center", va="top", fontsize=9.5, color="0.25")
    ax.set_title("Batch norm as a computational graph (each column on its own, N rows)")
    ax.set_xlim(-1.0, 15.3)
    ax.set_ylim(-4.3, 2.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


# --- notebook 02: the forward pass ----------------------------------------------------------

def plot_feature_histograms(before, after, labels=None, bins=40):
    """Histograms of each feature (column) before and after batch norm, side by side.

    Inputs:
    - before, after: (N, D) arrays, the layer's input and the batch-norm output.
    - labels: D names for the legend (default "feature 0", ...).
    - bins: number of bins; within a panel all features share the same bins, so their
      offsets and scales can be compared by eye.
    Returns (fig, axes) with the two panels.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError(f"before and after must be (N, D) arrays of the same shape, "
                         f"got {before.shape} and {after.shape}")
    labels = labels or [f"feature {k}" for k in range(before.shape[1])]
    if len(labels) != before.shape[1]:
        raise ValueError(f"need one label per feature ({before.shape[1]}), got {len(labels)}")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    titles = ("before BN: each feature has its own offset and scale",
              "after BN (γ = 1, β = 0): mean 0, variance 1")
    for ax, data, title in zip(axes, (before, after), titles):
        edges = np.linspace(data.min(), data.max(), bins + 1)       # (bins + 1,)
        for k in range(data.shape[1]):
            ax.hist(data[:, k], bins=edges, histtype="stepfilled", alpha=0.4,
                    facecolor=f"C{k}", edgecolor=f"C{k}", label=labels[k])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig, axes


def plot_running_vs_population(batch_values, running_values, population_values,
                               names=("mean", "variance"), feature="one feature"):
    """Running averages against Algorithm 2's population statistics, one panel per statistic.

    Inputs (one entry per statistic, e.g. the mean and the variance of one feature):
    - batch_values: sequence of (steps,) arrays, the statistic of each training batch.
    - running_values: sequence of (steps,) arrays, the running average after each step.
    - population_values: sequence of floats, the population statistic (a dashed line).
    - names: the statistics' names, for titles, labels and legends.
    - feature: what the statistics describe, for the titles (e.g. "unit 2").
    Returns (fig, axes).
    """
    if not len(batch_values) == len(running_values) == len(population_values) == len(names):
        raise ValueError("batch_values, running_values, population_values and names need "
                         "one entry per statistic each")
    fig, axes = plt.subplots(1, len(names), figsize=(9, 3.2), squeeze=False)
    axes = axes[0]
    for ax, batch, running, population, name in zip(
            axes, batch_values, running_values, population_values, names):
        steps = np.arange(1, len(running) + 1)                      # (steps,)
        ax.plot(steps, batch, ".", ms=2, color="0.7", label=f"batch {name}")
        ax.plot(steps, running, color="C0", label=f"running {name}")
        ax.axhline(population, color="C3", ls="--", label=f"population {name} (Alg. 2)")
        ax.set_xlabel("training step (batches seen)")
        ax.set_ylabel(name)
        ax.set_title(f"the {name} of {feature}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, axes


def bn_histograms_picture(seed=0, n=2000):
    """Picture for pictures/: three made-up features of different shapes before and after BN.

    A narrow Gaussian far to the right, a skewed feature and one with two bumps, at very
    different offsets and scales: BN moves and rescales each one but keeps its shape.
    Inputs: seed of the generator; n, the number of samples. Returns (fig, axes).
    """
    from .batchnorm import batchnorm_forward
    rng = np.random.default_rng(seed)
    features = np.column_stack([                                    # (n, 3)
        rng.normal(8.0, 0.4, n),                                     # narrow, far right
        -6.0 + 1.5 * rng.exponential(1.0, n),                        # skewed
        rng.choice([-2.5, 2.5], n) + rng.normal(0.0, 0.7, n)])       # two bumps
    normalised, _ = batchnorm_forward(features, np.ones(3), np.zeros(3))
    return plot_feature_histograms(features, normalised, ["Gaussian", "skewed", "two bumps"])


# --- notebook 04: sigmoid saturation, without and with BN ------------------------------------

SATURATION_COLORS = {"without BN": "C3", "with BN": "C0"}
Z_RANGE = 12.0   # histograms of z show [-12, 12]; values beyond are counted in the edge bins
# (key of bnlib.widgets.deep_signal's result, axis label, log scale?) for the per-layer panels
PER_LAYER_PANELS = [("fraction_saturated", "saturated (%)", False),
                    ("mean_local_gradient", "mean σ'(z)", False),
                    ("grad_median", "median |∂L/∂z|", True)]


def _shade_saturated(ax, threshold, z_range):
    """Shade the saturated regions threshold < |z| < z_range of `ax` in light grey."""
    for low, high, label in ((-z_range, -threshold, f"saturated, |z| > {threshold:g}"),
                             (threshold, z_range, None)):
        ax.axvspan(low, high, color="0.88", zorder=0, lw=0, label=label)


def plot_sigmoid_saturation(threshold):
    """The sigmoid and its derivative, with the saturated regions |z| > threshold shaded.

    Inputs: threshold, the |z| beyond which a sigmoid input counts as saturated.
    Returns (fig, ax).
    """
    z = np.linspace(-8.0, 8.0, 801)                           # (801,)
    s = sigmoid(z)
    s_threshold = float(sigmoid(np.array([threshold]))[0])
    slope_at_threshold = s_threshold * (1 - s_threshold)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    _shade_saturated(ax, threshold, 8.0)
    ax.plot(z, s, color="k", label="σ(z) = 1 / (1 + exp(−z))")
    ax.plot(z, s * (1 - s), color="C2", lw=2, label="σ'(z) = σ(z) (1 − σ(z)), at most 1/4")
    ax.plot([-threshold, threshold], [slope_at_threshold] * 2, "o", color="C2", ms=5)
    for side in (-1, 1):
        ax.text(side * (threshold + 8.0) / 2, 0.45, f"saturated\n|z| > {threshold:g}\n"
                f"σ'(z) < {slope_at_threshold:.3f}", ha="center", va="center", fontsize=9)
    ax.set_xlim(-8.0, 8.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("z, the sigmoid's input")
    ax.legend(loc="upper left", fontsize=9, framealpha=1.0)
    ax.set_title(f"The sigmoid is nearly flat beyond |z| = {threshold:g}: its slope there is at "
                 f"most {slope_at_threshold / 0.25:.1%} of its peak 1/4", fontsize=10)
    return fig, ax


def _inputs_over_sigmoid(ax, result, threshold, label, title):
    """On `ax`: the first layer's sigmoid inputs as a histogram drawn over the sigmoid curve.

    Inputs: result, a dict from bnlib.widgets.deep_signal (uses z_first and the layer-1
    stats); label, "without BN" or "with BN" (picks the colour); title, the panel's title.
    The histogram is scaled so that its tallest bar has height 1.
    """
    edges = np.linspace(-Z_RANGE, Z_RANGE, 49)                # (49,) bins 0.5 wide
    counts, _ = np.histogram(np.clip(result["z_first"], -Z_RANGE, Z_RANGE), bins=edges)
    _shade_saturated(ax, threshold, Z_RANGE)
    ax.stairs(counts / counts.max(), edges, fill=True, alpha=0.55,
              color=SATURATION_COLORS[label], label=f"z, {label}")
    ax.plot(edges, sigmoid(edges), color="k", lw=1.2, label="σ(z)")
    ax.set_xlim(-Z_RANGE, Z_RANGE)
    ax.set_ylim(0.0, 1.08)
    ax.set_title(f"{title}\n{100 * result['fraction_saturated'][0]:.1f}% saturated, "
                 f"mean σ'(z) = {result['mean_local_gradient'][0]:.3f}", fontsize=9)
    ax.set_xlabel(f"z (beyond ±{Z_RANGE:g} counted at the edges)", fontsize=8)


def _per_layer(ax, plain, with_bn, key, ylabel, log):
    """On `ax`: one per-layer quantity of deep_signal's results, without and with BN."""
    layers = np.arange(1, len(plain[key]) + 1)                # (depth,)
    factor = 100.0 if key == "fraction_saturated" else 1.0
    for label, result, marker in (("without BN", plain, "o"), ("with BN", with_bn, "s")):
        ax.plot(layers, factor * result[key], marker=marker, ms=4,
                color=SATURATION_COLORS[label], label=label)
    if log:                                                   # fixed, so slider moves show
        ax.set_yscale("log")
        ax.set_ylim(1e-8, 2.0)
    elif key == "fraction_saturated":
        ax.set_ylim(-4.0, 104.0)
    else:
        ax.set_ylim(0.0, 0.26)
    ax.set_xticks(layers)
    ax.set_xlabel("layer", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(True, alpha=0.3)


def plot_saturation_panel(plain, with_bn, threshold):
    """The saturation demo's figure for one slider setting.

    Inputs: plain and with_bn, the dicts of bnlib.widgets.deep_signal without and with BN;
    threshold, the saturation threshold on |z|.
    Top: the first layer's sigmoid inputs over the sigmoid, without / with BN. Bottom, per
    layer: the saturated share, the mean local gradient and the RMS gradient reaching z.
    Returns (fig, axes) with the 5 axes, top left to bottom right.
    """
    fig = plt.figure(figsize=(9, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, 6, height_ratios=(1.1, 1.0))
    top = [fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3:])]
    bottom = [fig.add_subplot(grid[1, 2 * k:2 * k + 2]) for k in range(3)]
    _inputs_over_sigmoid(top[0], plain, threshold, "without BN",
                         "layer 1 without BN: z = xW + b")
    _inputs_over_sigmoid(top[1], with_bn, threshold, "with BN",
                         "layer 1 with BN: z = γ BN(xW + b) + β")
    titles = ("saturated inputs", "mean local gradient", "gradient a typical unit gets")
    for ax, (key, ylabel, log), title in zip(bottom, PER_LAYER_PANELS, titles):
        _per_layer(ax, plain, with_bn, key, ylabel, log)
        ax.set_title(title, fontsize=9)
    top[0].legend(loc="upper left", fontsize=7, framealpha=0.85)
    bottom[0].legend(fontsize=8)
    return fig, top + bottom


def plot_saturation_static(rows, threshold):
    """The saturation demo for several fixed settings, one row each (for pages without widgets).

    Inputs: rows, a list of (setting label, plain, with_bn) with the dicts of
    bnlib.widgets.deep_signal; threshold, the saturation threshold on |z|.
    Columns: layer 1 without BN, layer 1 with BN, saturated share per layer, RMS gradient per layer.
    Returns (fig, axes) with axes of shape (len(rows), 4).
    """
    fig, axes = plt.subplots(len(rows), 4, figsize=(12, 2.7 * len(rows)), layout="constrained",
                             squeeze=False)
    for row, (setting, plain, with_bn) in zip(axes, rows):
        _inputs_over_sigmoid(row[0], plain, threshold, "without BN", "layer 1 without BN")
        _inputs_over_sigmoid(row[1], with_bn, threshold, "with BN", "layer 1 with BN")
        for ax, (key, ylabel, log) in zip(row[2:], PER_LAYER_PANELS[::2]):
            _per_layer(ax, plain, with_bn, key, ylabel, log)
        row[0].set_ylabel(setting, fontsize=10, fontweight="bold")
    axes[0, 2].set_title("saturated inputs, per layer", fontsize=9)
    axes[0, 3].set_title("gradient a typical unit gets, per layer", fontsize=9)
    axes[0, 0].legend(loc="upper left", fontsize=7, framealpha=0.85)
    axes[0, 2].legend(fontsize=8)
    return fig, axes


# ---- notebook 09: BN for convolutions ----

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
    bnlib.placement.compare_placements returns it; threshold: the |z| beyond which a sigmoid
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
    """The three panels of the paper's Fig. 1, from a `bnlib.reproduce.run_fig1` result.

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

    Input: the dict of `bnlib.reproduce.lr_init_sweep` (accuracy rows per init_std, one column
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

    Input: a `bnlib.reproduce.run_fig1` result (each run's "grad_norms": per record, one
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


def fig1_picture(path=None):
    """pictures/fig1.png: `plot_fig1` of the full run saved in pictures/fig1.json (no training).

    The json is written by `python -m bnlib.reproduce fig1 --out pictures/`. Returns (fig, axes).
    """
    import json
    from pathlib import Path

    from .reproduce import PAPER_FIG1
    path = Path(__file__).resolve().parent.parent / "pictures" / "fig1.json" if path is None else path
    return plot_fig1(json.loads(Path(path).read_text()), paper=PAPER_FIG1)


EVAL_GAP_STYLES = {"population": dict(color="black", lw=2, label="Algorithm 2's statistics"),
                   "batch mode": dict(color="C3", ls="--", label="training mode (batch statistics)")}


def _eval_gap_style(name, index):
    """Line style of one kind of inference in `plot_eval_gap`: running averages get C0, C1, ..."""
    return EVAL_GAP_STYLES.get(name, dict(color=f"C{index}", marker="o", ms=3,
                                          label=f"running averages, {name}"))


def plot_eval_gap(result):
    """The train/eval gap over training, from a `bnlib.eval_gap.run_eval_gap` result.

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
    """Fine-tuning on shifted images, from a `bnlib.eval_gap.run_fine_tuning` result.

    Left: accuracy on the shifted test set during fine-tuning, statistics frozen (dashed) or
    updating (solid), one colour per learning rate; horizontal lines for the network before
    fine-tuning and with its statistics re-estimated on the shifted images (no training).
    Right: every network's accuracy on the original test set afterwards. Returns (fig, axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw=dict(width_ratios=(1.3, 1)))
    lrs = sorted({run.split("lr ")[1] for run in result["runs"]}, key=float)
    for run, history in result["runs"].items():
        colour = f"C{lrs.index(run.split('lr ')[1])}"
        axes[0].plot(history["step"], history["test_acc"], color=colour, marker="o", ms=3,
                     ls="--" if run.startswith("frozen") else "-", label=f"statistics {run}")
    axes[0].axhline(result["re-estimated"], color="0.3", lw=1, ls=":",
                    label="statistics re-estimated, no training")
    axes[0].axhline(result["before"], color="0.6", lw=1, ls="-.", label="before fine-tuning")
    axes[0].set(xlabel="fine-tuning step", ylabel="accuracy, shifted test images", ylim=(0, 1),
                title="(a) on the new (shifted) images")
    axes[0].legend(fontsize=7, loc="center right", handlelength=3.5)
    _original_accuracy_bars(axes[1], result["original"])
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def _saved_eval_gap(path):
    """The full-scale result of `python -m bnlib.reproduce eval_gap --out pictures/` (a dict)."""
    import json
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "pictures" / "eval_gap.json" if path is None else path
    return json.loads(Path(path).read_text())


def eval_gap_picture(path=None):
    """pictures/eval_gap.png: `plot_eval_gap` of the full run saved in pictures/eval_gap.json
    (no training). Returns (fig, axes)."""
    return plot_eval_gap(_saved_eval_gap(path))


def fine_tuning_picture(path=None):
    """pictures/fine_tuning.png: `plot_fine_tuning` of the fine-tuning saved in
    pictures/eval_gap.json (no training). Returns (fig, axes)."""
    return plot_fine_tuning(_saved_eval_gap(path)["fine_tuning"])


# --- notebook 06: why does BN work? (bnlib.noisy_bn, bnlib.landscape) ---------------------------
WHY_BN_STYLES = {"plain": dict(color="tab:orange", label="without BN"),
                 "bn": dict(color="tab:blue", label="with BN"),
                 "noisy": dict(color="tab:green", ls="--", label="noisy BN")}


def plot_noisy_comparison(result):
    """Test accuracy, and the shift of one layer's input distribution, for each network.

    Input: a `bnlib.noisy_bn.run_noisy_comparison` result. Left: test accuracy against steps;
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

    Input: a `bnlib.landscape.compare_landscapes` result; record: which measuring point of
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

    Inputs: result of `bnlib.batch_size.batch_size_sweep`, drawn as test error = 100 * (1 -
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

    Inputs: x_hat_train, x_hat_eval (N, D), as `bnlib.batch_size.normalized_in_both_modes`
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


def batch_size_picture(path=None):
    """pictures/batch_size.png: `plot_batch_size` of the full run saved in
    pictures/batch_size.json (`python -m bnlib.reproduce batchsize --out pictures/`); no
    training. Returns (fig, axes)."""
    import json
    from pathlib import Path

    from .batch_size import PAPER_WU_HE
    path = Path(__file__).resolve().parent.parent / "pictures" / "batch_size.json" \
        if path is None else path
    return plot_batch_size(json.loads(Path(path).read_text()), paper=PAPER_WU_HE)


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
