"""Figures of notebook 04 (saturation): the sigmoid's flat regions, the slider panel, its
static version."""
import base64
from dataclasses import asdict

import matplotlib.pyplot as plt
import numpy as np

from ..layers import sigmoid
from ..saturation import (
    SATURATION_THRESHOLD,
    SLIDERS,
    SliderParams,
    deep_signal,
    readout_text,
    saturation_demo_data,
    saturation_stats,
)
from .common import figure_png

SATURATION_COLORS = {"without BN": "C3", "with BN": "C0"}


Z_RANGE = 12.0   # histograms of z show [-12, 12]; values beyond are counted in the edge bins


# (key of bnlib.saturation.deep_signal's result, axis label, log scale?) for the per-layer panels
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

    Inputs: result, a dict from bnlib.saturation.deep_signal (uses z_first and the layer-1
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

    Inputs: plain and with_bn, the dicts of bnlib.saturation.deep_signal without and with BN;
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
    bnlib.saturation.deep_signal; threshold, the saturation threshold on |z|.
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


def render_saturation(params, data):
    """Everything the panel shows for one slider setting, without any widget.

    Inputs: params, a SliderParams; data, a DemoData.
    Returns (readout_text, fig): the text of the readout (first layer, both sides) and the
    matplotlib figure (the first layer's histograms, then the deep panel). Close the figure.
    """
    plain, with_bn = deep_signal(data, params, False), deep_signal(data, params, True)
    text = readout_text(saturation_stats(plain["z_first"]), saturation_stats(with_bn["z_first"]))
    fig, _ = plot_saturation_panel(plain, with_bn, SATURATION_THRESHOLD)
    return text, fig


def saturation_widget(data=None, params=None):
    """The interactive panel: sliders, a one-line readout and the figure, redrawn on change.

    Inputs: data, a DemoData (None: saturation_demo_data(), a fixed MNIST batch); params,
    the starting SliderParams. Returns an ipywidgets.VBox; its attributes `sliders`
    (description -> slider), `readout` (HTML, CSS class "bn-readout") and `plot` (Output,
    class "bn-plot") give tests direct access. Moving a slider calls render_saturation()
    and replaces the readout's text and the plot's PNG image.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    data = saturation_demo_data() if data is None else data
    params = asdict(params or SliderParams())
    sliders = {name: _make_slider(widgets, name, params[field], low, high, step)
               for name, (field, low, high, step) in SLIDERS.items()}
    readout = widgets.HTML().add_class("bn-readout")
    plot = widgets.Output().add_class("bn-plot")

    def update(change=None):
        setting = SliderParams(**{SLIDERS[name][0]: s.value for name, s in sliders.items()})
        text, fig = render_saturation(setting, data)
        readout.value = f"<span style='font-family: monospace'>{text}</span>"
        plot.outputs = ({"output_type": "display_data", "metadata": {},
                         "data": {"image/png": base64.b64encode(figure_png(fig)).decode(),
                                  "text/plain": "<saturation panel>"}},)
        plt.close(fig)                            # or pyplot would show it again later

    for slider in sliders.values():
        slider.observe(update, names="value")
    update()
    box = widgets.VBox([_slider_rows(widgets, sliders), readout, plot])
    box.sliders, box.readout, box.plot = sliders, readout, plot
    return box


def _make_slider(widgets, description, value, low, high, step):
    """One slider; it reports its value when released (continuous_update=False)."""
    kind = widgets.IntSlider if isinstance(step, int) else widgets.FloatSlider
    return kind(value=value, min=low, max=high, step=step, description=description,
                continuous_update=False, style={"description_width": "90px"},
                layout=widgets.Layout(width="360px"))


def _slider_rows(widgets, sliders):
    """Lay the sliders out in two columns: those acting on both networks, and BN's own."""
    both = widgets.VBox([widgets.HTML("<b>both networks</b>")]
                        + [sliders[name] for name in ("weight scale", "shift", "depth")])
    bn_only = widgets.VBox([widgets.HTML("<b>BN only</b>")]
                           + [sliders[name] for name in ("gamma", "beta")])
    return widgets.HBox([both, bn_only])


def static_panel(data=None, settings=None):
    """The panel for a few fixed settings, one row each: the page without widgets.

    Inputs: data, a DemoData (None: saturation_demo_data()); settings, a list of SliderParams
    (None: weight scale 0.1, 0.5 and 1.5, then gamma 6 to show BN saturating on purpose).
    Returns (fig, axes) from plot_saturation_static.
    """
    data = saturation_demo_data() if data is None else data
    settings = settings or [SliderParams(scale=0.1), SliderParams(scale=0.5),
                            SliderParams(scale=1.5), SliderParams(scale=0.5, gamma=6.0)]
    rows = [(f"weight scale {s.scale:g}\nγ = {s.gamma:g}, β = {s.beta:g}",
             deep_signal(data, s, False), deep_signal(data, s, True)) for s in settings]
    return plot_saturation_static(rows, SATURATION_THRESHOLD)


def sigmoid_saturation_figure():
    """The sigmoid and its derivative with the saturated regions shaded. Returns (fig, ax)."""
    return plot_sigmoid_saturation(SATURATION_THRESHOLD)
