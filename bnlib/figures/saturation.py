"""Figures of notebook 04 (saturation): the sigmoid's flat regions, the slider panel, its
static version.

The slider panel keeps one figure and redraws only what a slider changes (SaturationFigure);
ipywidgets is imported only when a panel is made, so that the figures need no widgets.
"""
import base64
import html
import io
import time
from dataclasses import asdict

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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
SATURATION_COLORS = {"without BN": "C3", "with BN": "C0"}
Z_RANGE = 12.0   # histograms of z show [-12, 12]; values beyond are counted in the edge bins
Z_EDGES = np.linspace(-Z_RANGE, Z_RANGE, 49)                  # (49,) bins 0.5 wide
FONT_PT = 9      # the panel's smallest text; at PANEL_DPI = 96 it is 12 px, 9 pt on a screen
PANEL_DPI = 96
PANEL_SIZE = (9.2, 5.8)   # inches: 883 x 557 px at 96 dpi, fits a notebook beside the sidebar
TOP_TITLES = ("layer 1 without BN: z = xW + b", "layer 1 with BN: z = γ BN(xW + b) + β")
PER_LAYER_TITLES = ("saturated inputs", "mean local gradient", "gradient a typical unit gets")


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


def _inputs_over_sigmoid(ax, threshold, label, fontsize=FONT_PT):
    """On `ax`: the frame for layer 1's sigmoid inputs drawn over the sigmoid curve.

    Returns (histogram, curve): the StepPatch that _show_inputs fills and the sigmoid's Line2D
    (drawn again over the histogram). Label picks the colour ("without BN" or "with BN").
    """
    _shade_saturated(ax, threshold, Z_RANGE)
    histogram = ax.stairs(np.zeros(len(Z_EDGES) - 1), Z_EDGES, fill=True, alpha=0.55,
                          color=SATURATION_COLORS[label], label=f"z, {label}")
    (curve,) = ax.plot(Z_EDGES, sigmoid(Z_EDGES), color="k", lw=1.2, label="σ(z)")
    ax.set_xlim(-Z_RANGE, Z_RANGE)
    ax.set_ylim(0.0, 1.08)
    ax.set_xlabel(f"z (beyond ±{Z_RANGE:g} counted at the edges)", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    return histogram, curve


def _show_inputs(ax, histogram, result, title=None, fontsize=FONT_PT):
    """Fill `histogram` with layer 1's sigmoid inputs of `result` (tallest bar at height 1).

    With a title, also title `ax` with it and the saturated share and mean sigma'(z) of layer 1.
    """
    counts, _ = np.histogram(np.clip(result["z_first"], -Z_RANGE, Z_RANGE), bins=Z_EDGES)
    histogram.set_data(counts / counts.max())
    if title is not None:
        ax.set_title(f"{title}\n{100 * result['fraction_saturated'][0]:.1f}% saturated, "
                     f"mean σ'(z) = {result['mean_local_gradient'][0]:.3f}", fontsize=fontsize)


def _per_layer(ax, key, ylabel, log, max_depth, fontsize=FONT_PT):
    """On `ax`: the frame for one per-layer quantity, layers 1..max_depth on the x axis.

    Returns {"without BN": Line2D, "with BN": Line2D}, empty until _show_per_layer fills them.
    """
    lines = {label: ax.plot([], [], marker=marker, ms=4, color=SATURATION_COLORS[label],
                            label=label)[0]
             for label, marker in (("without BN", "o"), ("with BN", "s"))}
    if log:                                                   # fixed, so slider moves show
        ax.set_yscale("log")
        ax.set_ylim(1e-8, 2.0)
    elif key == "fraction_saturated":
        ax.set_ylim(-4.0, 104.0)
    else:
        ax.set_ylim(0.0, 0.26)
    ax.set_xlim(0.5, max_depth + 0.5)                         # fixed: depth adds points
    ax.set_xticks(np.arange(1, max_depth + 1))
    ax.set_xlabel("layer", fontsize=fontsize)
    ax.set_ylabel(ylabel, fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    ax.grid(True, alpha=0.3)
    return lines


def _show_per_layer(lines, key, plain, with_bn):
    """Set the points of one per-layer panel: one per layer of deep_signal's results."""
    factor = 100.0 if key == "fraction_saturated" else 1.0
    for label, result in (("without BN", plain), ("with BN", with_bn)):
        values = factor * result[key]                         # (depth,)
        lines[label].set_data(np.arange(1, len(values) + 1), values)


class SaturationFigure:
    """The slider panel's figure: laid out once, then only what a slider changes is redrawn.

    Top: layer 1's sigmoid inputs over the sigmoid, without / with BN (their numbers are in
    the panel's readout). Bottom, per layer (up to max_depth): the saturated share, the mean
    local gradient, the median gradient reaching z. The figure is not pyplot's (no inline
    display, nothing to close) and draws on Agg.

    show(plain, with_bn) puts one setting's results (dicts of bnlib.saturation.deep_signal) in
    the artists; png() returns the picture. The first png() draws everything, fixes the
    constrained layout and keeps the unchanging part (axes, ticks, shading, labels, titles,
    the legend) as a background; every later png() pastes that background and draws only the
    changing artists: the histograms, the sigmoid curves over them and the per-layer points
    (blitting, about 10x cheaper than a full redraw). One legend, below the axes, hides no
    data. Text is FONT_PT (9 pt) at dpi 96: one PNG pixel is one CSS pixel, and 9 pt text is
    12 pixels high where the PNG is shown at its size.
    """

    def __init__(self, threshold=SATURATION_THRESHOLD, max_depth=10, dpi=PANEL_DPI):
        self.fig = Figure(figsize=PANEL_SIZE, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)
        grid = self.fig.add_gridspec(2, 6, height_ratios=(1.1, 1.0))
        self.axes = [self.fig.add_subplot(grid[0, :3]), self.fig.add_subplot(grid[0, 3:])]
        self.axes += [self.fig.add_subplot(grid[1, 2 * k:2 * k + 2]) for k in range(3)]
        top, bottom = self.axes[:2], self.axes[2:]
        self.histograms, curves = zip(*(_inputs_over_sigmoid(ax, threshold, label)
                                        for ax, label in zip(top, ("without BN", "with BN"))))
        self.per_layer = [_per_layer(ax, key, ylabel, log, max_depth)
                          for ax, (key, ylabel, log) in zip(bottom, PER_LAYER_PANELS)]
        for ax, title in zip(self.axes, TOP_TITLES + PER_LAYER_TITLES):
            ax.set_title(title, fontsize=FONT_PT)
        # one legend for all five axes, below them, where it hides no data
        shading = [p for p in top[0].patches if str(p.get_label()).startswith("saturated")]
        handles = [*shading, curves[0], *self.per_layer[0].values()]
        self.fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center",
                        ncol=len(handles), fontsize=FONT_PT, frameon=False)
        # drawn over the background in this order: histograms, the curves over them, points
        self.changing = [*self.histograms, *curves,
                         *(line for lines in self.per_layer for line in lines.values())]
        for artist in self.changing:
            artist.set_animated(True)       # left out of full draws, kept for savefig
        self._background = None

    def show(self, plain, with_bn):
        """Put one setting's results in the figure (nothing is drawn until png())."""
        for ax, histogram, result in zip(self.axes, self.histograms, (plain, with_bn)):
            _show_inputs(ax, histogram, result)
        for lines, (key, _, _) in zip(self.per_layer, PER_LAYER_PANELS):
            _show_per_layer(lines, key, plain, with_bn)

    def draw(self):
        """Draw into the canvas: everything the first time, then only the changing artists."""
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()                             # constrained layout, once
            self.fig.set_layout_engine("none")        # the axes stay where they are now
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.changing:
            self.fig.draw_artist(artist)

    def png(self, compress_level=1):
        """The figure as PNG bytes, drawn as draw() says (compression 1: fast, about 70 kB)."""
        self.draw()
        canvas = self.fig.canvas
        image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=compress_level)
        return buffer.getvalue()

    def min_font_px(self):
        """The height in pixels of the smallest text of the figure (its points x dpi / 72)."""
        sizes = [text.get_fontsize() for text in self.fig.findobj(matplotlib.text.Text)
                 if text.get_text() and text.get_visible()]
        return min(sizes) * self.fig.dpi / 72


def plot_saturation_panel(plain, with_bn, threshold, max_depth=None):
    """The saturation demo's figure for one slider setting.

    Inputs: plain and with_bn, the dicts of bnlib.saturation.deep_signal without and with BN;
    threshold, the saturation threshold on |z|; max_depth, the last layer on the per-layer
    axes (None: the depth of the results).
    Returns (fig, axes) with the 5 axes, top left to bottom right (see SaturationFigure).
    """
    figure = SaturationFigure(threshold, max_depth or len(plain["fraction_saturated"]))
    figure.show(plain, with_bn)
    return figure.fig, figure.axes


def plot_saturation_static(rows, threshold):
    """The saturation demo for several fixed settings, one row each (for pages without widgets).

    Inputs: rows, a list of (setting label, plain, with_bn) with the dicts of
    bnlib.saturation.deep_signal; threshold, the saturation threshold on |z|.
    Columns: layer 1 without BN, layer 1 with BN, saturated share per layer, RMS gradient per layer.
    Returns (fig, axes) with axes of shape (len(rows), 4).
    """
    fig, axes = plt.subplots(len(rows), 4, figsize=(12, 2.7 * len(rows)), layout="constrained",
                             squeeze=False)
    max_depth = max(len(plain["fraction_saturated"]) for _, plain, _ in rows)
    for row, (setting, plain, with_bn) in zip(axes, rows):
        for ax, label, result in zip(row[:2], ("without BN", "with BN"), (plain, with_bn)):
            histogram, _ = _inputs_over_sigmoid(ax, threshold, label)
            _show_inputs(ax, histogram, result, title=f"layer 1 {label}")
        for ax, (key, ylabel, log) in zip(row[2:], PER_LAYER_PANELS[::2]):
            _show_per_layer(_per_layer(ax, key, ylabel, log, max_depth), key, plain, with_bn)
        row[0].set_ylabel(setting, fontsize=10, fontweight="bold")
    axes[0, 2].set_title("saturated inputs, per layer", fontsize=FONT_PT)
    axes[0, 3].set_title("gradient a typical unit gets, per layer", fontsize=FONT_PT)
    axes[0, 0].legend(loc="upper left", fontsize=FONT_PT, framealpha=0.85)
    axes[0, 2].legend(fontsize=FONT_PT)
    return fig, axes


def render_saturation(params, data):
    """Everything the panel shows for one slider setting, without any widget.

    Inputs: params, a SliderParams; data, a DemoData.
    Returns (readout_text, fig): the text of layer 1's readout (both sides) and the matplotlib
    figure (the first layer's histograms, then the deep panel).
    """
    plain, with_bn = deep_signal(data, params, False), deep_signal(data, params, True)
    text = readout_text(saturation_stats(plain["z_first"]), saturation_stats(with_bn["z_first"]))
    fig, _ = plot_saturation_panel(plain, with_bn, SATURATION_THRESHOLD, len(data.weights))
    return text, fig


def panel_readout(plain, with_bn):
    """The panel's readout, two lines: layer 1 (the histograms), then every layer's saturated
    share (the lower left panel), without and with BN. Inputs: deep_signal's dicts."""
    first = readout_text(saturation_stats(plain["z_first"]), saturation_stats(with_bn["z_first"]))
    depth = len(plain["fraction_saturated"])

    def shares(result):
        return " ".join(f"{100 * share:.0f}" for share in result["fraction_saturated"])
    layers = "layer 1" if depth == 1 else f"layers 1-{depth}"
    return (f"layer 1: {first}\n"
            f"{layers}, saturated %: without BN: {shares(plain)} | with BN: {shares(with_bn)}")


RUN_TO_MOVE = "Run this cell to move the sliders (here: the panel at its starting values)."


class SaturationPanel:
    """The interactive panel of notebook 04: sliders, a readout and the figure.

    Show it by ending a cell with it. Attributes: `sliders` (description -> slider), `readout`
    (HTML, CSS class "bn-readout"), `plot` (Image, class "bn-plot"), `box` (the VBox shown,
    class "bn-panel"), `figure` (the SaturationFigure), `redraw_seconds` (the time of every
    update, computing included). Moving a slider recomputes deep_signal on both sides and
    redraws what changed (SaturationFigure), then sends the new PNG and readout together.
    Until its cell has run in a live kernel (on a page, in a saved notebook), it shows the
    figure as a picture with one line saying to run the cell, instead of the widgets.
    """

    def __init__(self, data=None, params=None):
        import ipywidgets as widgets
        self.data = saturation_demo_data() if data is None else data
        start = asdict(params or SliderParams())
        self.sliders = {name: _make_slider(widgets, name, start[field], low, high, step)
                        for name, (field, low, high, step) in SLIDERS.items()}
        self.readout = widgets.HTML().add_class("bn-readout")
        self.plot = widgets.Image(format="png").add_class("bn-plot")
        self.figure = SaturationFigure(SATURATION_THRESHOLD, len(self.data.weights))
        self.redraw_seconds = []
        for slider in self.sliders.values():
            slider.observe(self.update, names="value")
        self.update()
        self.box = widgets.VBox([_slider_rows(widgets, self.sliders), self.readout, self.plot])
        self.box.add_class("bn-panel")

    def params(self):
        """The sliders' setting, as a SliderParams."""
        return SliderParams(**{SLIDERS[name][0]: s.value for name, s in self.sliders.items()})

    def update(self, change=None):
        """Recompute and redraw for the sliders' current setting."""
        start = time.perf_counter()
        params = self.params()
        plain, with_bn = deep_signal(self.data, params, False), deep_signal(self.data, params, True)
        self.figure.show(plain, with_bn)
        self.plot.value = self.figure.png()       # the picture first: it takes longer to show
        self.readout.value = (f"<pre style='margin: 0; font-size: 12px'>"
                              f"{html.escape(panel_readout(plain, with_bn), quote=False)}</pre>")
        self.redraw_seconds.append(time.perf_counter() - start)

    def _repr_mimebundle_(self, **kwargs):
        """The widgets where they can run; else the figure and one line to say "run the cell"."""
        bundle = self.box._repr_mimebundle_(**kwargs)
        picture = base64.b64encode(_small_png(self.plot.value)).decode()
        bundle["text/plain"] = RUN_TO_MOVE
        bundle["image/png"] = picture
        bundle["text/html"] = (f"<p><b>{RUN_TO_MOVE}</b></p>\n{self.readout.value}\n"
                               f"<img src='data:image/png;base64,{picture}' "
                               "alt='The saturation panel at its starting values'>")
        return bundle


def _small_png(png):
    """The PNG again with 64 colours: a third of the size, to keep in the saved notebook."""
    buffer = io.BytesIO()
    PIL.Image.open(io.BytesIO(png)).quantize(64).save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def saturation_widget(data=None, params=None):
    """The interactive panel of notebook 04 (a SaturationPanel); end a cell with it to show it.

    Inputs: data, a DemoData (None: saturation_demo_data(), a fixed MNIST batch); params,
    the starting SliderParams.
    """
    return SaturationPanel(data, params)


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
