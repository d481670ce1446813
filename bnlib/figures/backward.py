"""Figures of notebook 03 (the backward pass): batch norm's computational graph."""
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

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
