"""Redraw the course's own figures into pictures/ (run with `make pictures`).

Each entry of PICTURES maps a file name to a function of bnlib.plots that returns (fig, ax).
"""
from pathlib import Path

import matplotlib
matplotlib.use("Agg")

from bnlib import plots  # noqa: E402
from bnlib import widgets  # noqa: E402  (the saturation figures compute with bnlib.widgets)

HERE = Path(__file__).resolve().parent
PICTURES = {
    "batch_size.png": plots.batch_size_picture,   # from batch_size.json (... batchsize --out pictures/)
    "bn_graph.png": plots.draw_bn_graph,
    "bn_histograms.png": plots.bn_histograms_picture,
    "chain_rule_graph.png": plots.draw_chain_rule_graph,
    "eval_gap.png": plots.eval_gap_picture,   # from eval_gap.json (... reproduce eval_gap --out pictures/)
    "fig1.png": plots.fig1_picture,   # from fig1.json (python -m bnlib.reproduce fig1 --out pictures/)
    "fine_tuning.png": plots.fine_tuning_picture,   # from eval_gap.json, like eval_gap.png
    "sigmoid_saturation.png": widgets.sigmoid_saturation_figure,
    "saturation_static.png": widgets.static_panel,
}


def main():
    for name, draw in PICTURES.items():
        fig, _ = draw()
        print("wrote", plots.save_figure(fig, HERE / name))


if __name__ == "__main__":
    main()
