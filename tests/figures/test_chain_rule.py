"""Tests for bnlib/figures/chain_rule.py: notebook 01's graph and the step-size errors."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bnlib.figures import chain_rule as plots


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
