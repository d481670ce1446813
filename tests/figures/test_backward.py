"""Tests for bnlib/figures/backward.py: batch norm's computational graph."""
import inspect
import itertools

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402

import bnlib  # noqa: E402
from bnlib.figures import backward as plots  # noqa: E402


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
