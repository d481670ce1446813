"""Redraw the course's own figures into pictures/ (run with `make pictures`).

Each entry of PICTURES maps a file name to a function of bnlib.plots that returns (fig, ax).
"""
from pathlib import Path

import matplotlib
matplotlib.use("Agg")

from bnlib import plots  # noqa: E402

HERE = Path(__file__).resolve().parent
PICTURES = {
}


def main():
    for name, draw in PICTURES.items():
        fig, _ = draw()
        fig.savefig(HERE / name, dpi=110, bbox_inches="tight")
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
