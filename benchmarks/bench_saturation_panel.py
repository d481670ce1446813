"""What one redraw of notebook 04's slider panel costs in the kernel.

Run from the repository root:
    .venv/bin/python benchmarks/bench_saturation_panel.py              # about 20 seconds
    .venv/bin/python benchmarks/bench_saturation_panel.py --markdown   # the table as markdown

A redraw is what a slider move runs in the kernel (SaturationPanel.update): deep_signal without
and with BN for the sliders' setting (MNIST batch of 60, up to 10 layers of 100 units), the
figure's changing artists drawn over its background, the PNG encoded, the readout written. It is
timed 20 times at the starting values, then after each of 20 moves of every slider (one step
each, turning back at either end). For comparison, "full redraw" is what the panel did before:
a new figure with its constrained layout, drawn and saved as PNG (5 times).
The browser adds the rest of a move's latency (the key press reaching the kernel, the PNG
reaching the page and being decoded): tests/test_browser.py measures that, key press to paint.
"""
import argparse
import io
import os
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from bnlib.figures.saturation import SaturationPanel, render_saturation  # noqa: E402
from bnlib.saturation import SLIDERS, SliderParams  # noqa: E402
from tables import table  # noqa: E402  (benchmarks/tables.py, beside this script)

REPEATS = 20


def redraws_at_start(panel):
    """REPEATS redraws at the sliders' starting values: their times in seconds."""
    start = len(panel.redraw_seconds)
    for _ in range(REPEATS):
        panel.update()
    return panel.redraw_seconds[start:]


def redraws_moving(panel, description):
    """REPEATS one-step moves of one slider (turning back at either end): their times."""
    slider, (_, low, high, step) = panel.sliders[description], SLIDERS[description]
    direction, start = 1, len(panel.redraw_seconds)
    for _ in range(REPEATS):
        if not low <= slider.value + direction * step <= high:
            direction = -direction
        slider.value = type(slider.value)(round(slider.value + direction * step, 6))
    return panel.redraw_seconds[start:]


def full_redraws(panel, repeats=5):
    """The redraw before the panel kept its figure: new figure, layout, draw, PNG."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, fig = render_saturation(SliderParams(), panel.data)
        fig.savefig(io.BytesIO(), format="png", dpi=panel.figure.fig.dpi)
        times.append(time.perf_counter() - start)
    return times


def row(name, seconds):
    ms = 1e3 * np.array(seconds)
    return [name, str(len(ms)), f"{np.median(ms):.1f}", f"{ms.min():.1f}", f"{ms.max():.1f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    panel = SaturationPanel()               # the notebook's panel: MNIST batch, default setting
    body = [row("starting values", redraws_at_start(panel))]
    body += [row(f"moving {name}", redraws_moving(panel, name)) for name in SLIDERS]
    body.append(row("full redraw (before)", full_redraws(panel)))
    header = ["redraw", "n", "median ms", "min ms", "max ms"]
    print("\n".join(table(header, body, args.markdown)))
    if hasattr(os, "getloadavg"):
        print("load average: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    sys.exit(main())
