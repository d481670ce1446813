"""What every figure module needs: saving a figure as a PNG file."""
from pathlib import Path

import matplotlib.pyplot as plt


def save_figure(fig, path):
    """Write `fig` as a PNG at `path` (its folder made if needed), close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path

