"""Figures of notebook 01 (the chain rule) and appendix A1 (gradient checks)."""
import matplotlib.pyplot as plt
import numpy as np


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
