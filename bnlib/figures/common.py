"""What every figure module needs: saving a figure as a PNG file or as PNG bytes."""
import io
from pathlib import Path

import matplotlib.pyplot as plt


def save_figure(fig, path):
    """Write `fig` as a PNG at `path` (its folder made if needed), close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def figure_png(fig, dpi=72):
    """The figure as PNG bytes (dpi 72 keeps the notebook small)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
