"""Tests for bnlib/figures/saturation.py: the sigmoid's flat regions, the panel, the sliders."""
import base64
import itertools
import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib import SliderParams, saturation_demo_data, saturation_stats
from bnlib.figures.saturation import (FONT_PT, RUN_TO_MOVE, panel_readout,
                                      plot_saturation_panel, plot_saturation_static,
                                      plot_sigmoid_saturation, render_saturation,
                                      saturation_widget)
from bnlib.saturation import SLIDERS

READOUT = re.compile(r"without BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+) \| "
                     r"with BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+)")


@pytest.fixture
def gaussian_data():
    """A small demo batch from Gaussian inputs (no MNIST load): 40 samples of 30 features."""
    x = np.random.default_rng(7).standard_normal((500, 30))
    return saturation_demo_data(x, batch_size=40, width=20, max_depth=6, seed=3)


def test_render_text_and_figure(gaussian_data):
    params = SliderParams(scale=0.8, gamma=2.0, depth=5)
    text, fig = render_saturation(params, gaussian_data)
    try:
        plain, bn_pct = READOUT.fullmatch(text).group(1), READOUT.fullmatch(text).group(3)
        z = gaussian_data.x @ (0.8 * gaussian_data.weights[0])
        assert float(plain) == round(100 * saturation_stats(z)["fraction_saturated"], 1)
        assert float(bn_pct) < float(plain)
        assert len(fig.axes) == 5
        assert len(fig.axes[2].get_lines()[0].get_xdata()) == 5      # one point per layer
    finally:
        plt.close(fig)


def _readout_numbers(panel):
    text = re.sub(r"<[^>]+>", "", panel.readout.value)          # strip the HTML tags
    first = text.splitlines()[0]                                 # layer 1
    assert first.startswith("layer 1: ")
    return [float(v) for v in READOUT.fullmatch(first.removeprefix("layer 1: ")).groups()]


def _png(panel):
    png = bytes(panel.plot.value)
    assert png.startswith(b"\x89PNG")
    return png


def _pixels(png):
    """The PNG's pixels as an (H, W, 3) array of floats in [0, 1]."""
    import io
    return matplotlib.image.imread(io.BytesIO(png))[..., :3]


def test_widget_has_the_contracted_sliders_and_parts(gaussian_data):
    panel = saturation_widget(gaussian_data)
    assert set(panel.sliders) == {"weight scale", "shift", "gamma", "beta", "depth"}
    for name, slider in panel.sliders.items():
        assert slider.description == name
        assert type(slider).__name__ == ("IntSlider" if name == "depth" else "FloatSlider")
        assert (slider.min, slider.max, slider.step) == SLIDERS[name][1:]
    assert "bn-readout" in panel.readout._dom_classes
    assert "bn-plot" in panel.plot._dom_classes
    assert "bn-panel" in panel.box._dom_classes
    assert panel.readout in panel.box.children and panel.plot in panel.box.children
    _readout_numbers(panel)
    _png(panel)
    plt.close("all")


def test_moving_sliders_updates_readout_and_image(gaussian_data):
    panel = saturation_widget(gaussian_data, SliderParams(scale=0.1))
    before, png_before = _readout_numbers(panel), _png(panel)
    panel.sliders["weight scale"].value = 1.0
    after, png_after = _readout_numbers(panel), _png(panel)
    assert after[0] > before[0] + 20             # without BN: many more saturated (percent)
    assert after[2] < 1.0 and before[2] < 1.0    # with BN: still under 1% saturated
    assert png_after != png_before
    panel.sliders["gamma"].value = 6.0           # BN only: its side saturates, the other stays
    gamma_big = _readout_numbers(panel)
    assert gamma_big[:2] == after[:2] and gamma_big[2] > 30
    assert not plt.get_fignums()                 # every figure drawn was closed


def test_depth_changes_the_readout_and_it_covers_every_layer(gaussian_data):
    panel = saturation_widget(gaussian_data, SliderParams(scale=1.0, depth=2))
    lines = re.sub(r"<[^>]+>", "", panel.readout.value).splitlines()
    panel.sliders["depth"].value = 6
    deeper = re.sub(r"<[^>]+>", "", panel.readout.value).splitlines()
    assert deeper[0] == lines[0]                       # layer 1 does not depend on the depth
    assert lines[1].startswith("layers 1-2,") and deeper[1].startswith("layers 1-6,")
    without, with_bn = re.search(r"without BN: ([\d ]+) \| with BN: ([\d ]+)$", deeper[1]).groups()
    assert len(without.split()) == len(with_bn.split()) == 6     # one number per layer


def test_panel_readout_gives_every_layers_saturated_share(rng):
    plain, with_bn = _fake_deep(rng, 3, 20.0), _fake_deep(rng, 3, 1.0)
    first, layers = panel_readout(plain, with_bn).split("\n")
    assert READOUT.fullmatch(first.removeprefix("layer 1: "))
    shares = " ".join(f"{100 * v:.0f}" for v in plain["fraction_saturated"])
    assert layers.startswith("layers 1-3, saturated %: without BN: " + shares + " | with BN: ")


def test_before_the_cell_runs_the_panel_shows_its_picture_and_says_run_the_cell(gaussian_data):
    panel = saturation_widget(gaussian_data)
    bundle = panel._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.box.model_id
    assert bundle["text/plain"] == RUN_TO_MOVE          # not a widget's repr
    stored, live = (_pixels(base64.b64decode(bundle["image/png"])), _pixels(_png(panel)))
    assert stored.shape == live.shape and np.mean(np.abs(stored - live)) < 0.01  # 64 colours
    page = bundle["text/html"]
    assert RUN_TO_MOVE in page and panel.readout.value in page
    assert f"src='data:image/png;base64,{bundle['image/png']}'" in page


def test_panel_text_is_at_least_9_points_where_one_pixel_is_one_css_pixel(gaussian_data):
    panel = saturation_widget(gaussian_data)
    assert panel.figure.fig.dpi == 96 and FONT_PT >= 9
    assert panel.figure.min_font_px() >= 12           # 9 pt = 12 px at 96 px per inch
    assert "font-size: 12px" in panel.readout.value


def test_a_slider_move_redraws_only_what_changes(gaussian_data, monkeypatch):
    panel = saturation_widget(gaussian_data)

    def no_full_draw(*args, **kwargs):
        raise AssertionError("a slider move made a full redraw")
    monkeypatch.setattr(panel.figure.fig.canvas, "draw", no_full_draw)
    panel.sliders["weight scale"].value = 1.0
    panel.sliders["depth"].value = 3
    assert len(panel.redraw_seconds) == 3


def test_blitted_picture_is_the_full_drawing(gaussian_data):
    """After moves, the blitted PNG is what a full drawing of the same setting gives."""
    import io
    panel = saturation_widget(gaussian_data)
    panel.sliders["weight scale"].value = 1.2
    panel.sliders["depth"].value = 4
    panel.sliders["gamma"].value = 5.0
    _, fig = render_saturation(panel.params(), gaussian_data)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=panel.figure.fig.dpi)
    full, blitted = _pixels(buffer.getvalue()), _pixels(_png(panel))
    assert full.shape == blitted.shape
    assert np.mean(np.abs(full - blitted) > 0.1) < 0.002   # anti-aliased edges may differ


def _fake_deep(rng, depth, spread):
    """A result shaped like bnlib.saturation.deep_signal's, with z_first of the given spread."""
    return dict(fraction_saturated=rng.uniform(0, 1, depth),
                mean_local_gradient=rng.uniform(0, 0.25, depth),
                grad_median=10.0 ** rng.uniform(-6, 0, depth),
                z_first=spread * rng.standard_normal((30, 20)))


def test_sigmoid_saturation_shades_beyond_the_threshold():
    fig, ax = plot_sigmoid_saturation(4.0)
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
    fig, axes = plot_saturation_panel(plain, with_bn, 4.0)
    try:
        assert len(axes) == 5
        for ax, result in zip(axes[:2], (plain, with_bn)):
            (stairs,) = [p for p in ax.patches if isinstance(p, matplotlib.patches.StepPatch)]
            heights, edges = stairs.get_data()[:2]
            assert heights.max() == 1.0                          # tallest bar scaled to 1
            # every value is counted: those beyond the range fall in the edge bins
            counts = np.histogram(np.clip(result["z_first"], edges[0], edges[-1]), edges)[0]
            np.testing.assert_allclose(heights, counts / counts.max())
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
    fig, axes = plot_saturation_static(rows, 4.0)
    try:
        assert axes.shape == (3, 4)
        assert [row[0].get_ylabel() for row in axes] == ["setting 0", "setting 1", "setting 2"]
        for row, (_, plain, with_bn) in zip(axes, rows):
            for ax, result in zip(row[:2], (plain, with_bn)):
                assert f"{100 * result['fraction_saturated'][0]:.1f}% saturated" in ax.get_title()
            np.testing.assert_allclose(row[3].get_lines()[0].get_ydata(), plain["grad_median"])
            np.testing.assert_allclose(row[2].get_lines()[1].get_ydata(),
                                       100 * with_bn["fraction_saturated"])
    finally:
        plt.close(fig)
