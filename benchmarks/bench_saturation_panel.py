"""What one redraw of notebook 04's slider panel costs in the kernel.

Run from the repository root:
    .venv/bin/python benchmarks/bench_saturation_panel.py              # about 20 seconds
    .venv/bin/python benchmarks/bench_saturation_panel.py --markdown   # the table as markdown

A redraw is what a slider move runs in the kernel (SaturationPanel.update): deep_signal without
and with BN for the sliders' setting (MNIST batch of 60, up to 10 layers of 100 units), the
figure's changing artists drawn over its background, the PNG encoded, the readout written. It is
timed 20 times at the starting values, then after each of 20 moves of every slider (one step
each, turning back at either end); the CPU time beside it changes little when other programs
load the machine, the wall time a lot. For comparison, "full redraw" is what the panel did before:
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


def timed(action):
    """(wall seconds, CPU seconds of this process) of action()."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def redraws_at_start(panel):
    """REPEATS redraws at the sliders' starting values: their (wall, CPU) times in seconds."""
    return [timed(panel.update) for _ in range(REPEATS)]


def redraws_moving(panel, description):
    """REPEATS one-step moves of one slider (turning back at either end): their times."""
    slider, (_, low, high, step) = panel.sliders[description], SLIDERS[description]
    direction, times = 1, []
    for _ in range(REPEATS):
        if not low <= slider.value + direction * step <= high:
            direction = -direction
        value = type(slider.value)(round(slider.value + direction * step, 6))
        times.append(timed(lambda: setattr(slider, "value", value)))
    return times


def full_redraws(panel, repeats=5):
    """The redraw before the panel kept its figure: new figure, layout, draw, PNG."""
    def redraw():
        _, fig = render_saturation(SliderParams(), panel.data)
        fig.savefig(io.BytesIO(), format="png", dpi=panel.figure.fig.dpi)
    return [timed(redraw) for _ in range(repeats)]


def row(name, times):
    wall, cpu = (1e3 * np.array(column) for column in zip(*times))
    return [name, str(len(wall)), f"{np.median(wall):.1f}", f"{wall.max():.1f}",
            f"{np.median(cpu):.1f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    panel = SaturationPanel()               # the notebook's panel: MNIST batch, default setting
    body = [row("starting values", redraws_at_start(panel))]
    body += [row(f"moving {name}", redraws_moving(panel, name)) for name in SLIDERS]
    body.append(row("full redraw (before)", full_redraws(panel)))
    header = ["redraw", "n", "median ms", "max ms", "median CPU ms"]
    print("\n".join(table(header, body, args.markdown)))
    if hasattr(os, "getloadavg"):
        print("load average: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    sys.exit(main())
