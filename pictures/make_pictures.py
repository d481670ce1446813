"""Redraw the course's own figures into pictures/ (run with `make pictures`).

Each entry of PICTURES maps a file name to a function that returns (fig, ax): the drawings of
bnlib.figures, and the results of the full-scale runs saved beside them as JSON by
`python -m bnlib.reproduce NAME --out pictures/` (drawn here without training again).
"""
import json
from pathlib import Path

import matplotlib
matplotlib.use("Agg")

from bnlib.experiments import fine_tuning  # noqa: E402
from bnlib.experiments.batch_size import PAPER_WU_HE  # noqa: E402
from bnlib.experiments.fig1 import PAPER_FIG1  # noqa: E402
from bnlib.figures import (backward, batch_size, chain_rule, common, convolutions,  # noqa: E402
                           forward, saturation, train_eval, training, why_bn)

HERE = Path(__file__).resolve().parent


def saved(name):
    """The full-scale result saved in pictures/NAME (a dict)."""
    return json.loads((HERE / name).read_text())


PICTURES = {
    "batch_size.png": lambda: batch_size.plot_batch_size(saved("batch_size.json"),
                                                         paper=PAPER_WU_HE),
    "bn_graph.png": backward.draw_bn_graph,
    "bn_histograms.png": forward.bn_histograms_picture,
    "chain_rule_graph.png": chain_rule.draw_chain_rule_graph,
    "cnn.png": lambda: convolutions.plot_cnn(saved("cnn.json")),
    "eval_gap.png": lambda: train_eval.plot_eval_gap(saved("eval_gap.json")),
    "fig1.png": lambda: training.plot_fig1(saved("fig1.json"), paper=PAPER_FIG1),
    "fine_tuning.png": lambda: train_eval.plot_fine_tuning(saved("fine_tuning.json")["full_scale"]),
    "fine_tuning_controls.png": lambda: train_eval.plot_collapse_controls(
        *fine_tuning.controls_by_seed(saved("fine_tuning.json"))),
    "noisy_bn.png": lambda: why_bn.plot_noisy_full(saved("noisy_bn.json")),
    "regularization.png": lambda: why_bn.plot_regularization(saved("regularization.json")),
    "sigmoid_saturation.png": saturation.sigmoid_saturation_figure,
    "saturation_static.png": saturation.static_panel,
}


def main(names=None):
    """Draw the pictures `names` (None: all of them) into pictures/."""
    for name in names or PICTURES:
        fig, _ = PICTURES[name]()
        print("wrote", common.save_figure(fig, HERE / name))


if __name__ == "__main__":
    main()
