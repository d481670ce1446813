"""How fast is bnlib's batch norm? Forward + backward, against its staged backward and PyTorch.

Run from the repository root:
    .venv/bin/python benchmarks/bench_batchnorm.py              # the full table, 1-2 minutes
    .venv/bin/python benchmarks/bench_batchnorm.py --quick      # a smoke run, a few seconds
    .venv/bin/python benchmarks/bench_batchnorm.py --markdown   # the table as markdown

What is timed, for each batch shape (N, D) and dtype, is one training-mode step of batch norm:
- closed: `batchnorm_forward` + `batchnorm_backward` (the closed-form backward);
- staged: the same forward + `batchnorm_backward_staged` (node by node, the readable one);
- torch:  `torch.nn.functional.batch_norm(..., training=True)` + `torch.autograd.grad`, which
          run ATen's CPU kernels native_batch_norm / native_batch_norm_backward, with
          `torch.set_num_threads(2)`. Optional: torch is never a dependency of the course.
The implementations run one after another inside every repeat, in an order that rotates from
repeat to repeat, so a burst of load from other programs slows all of them alike; each runs
twice in a row and its second call is timed (see `time_interleaved`). We report the median
time and the interquartile range (IQR, 25th to 75th percentile) of the repeats.
Before timing, the three are checked to compute the same gradients.
"""
import argparse
import os
import platform
import resource
import time

import numpy as np

from bnlib import BatchNorm1d, batchnorm_backward, batchnorm_backward_staged, batchnorm_forward
from tables import load_line, table  # benchmarks/tables.py, beside this script

SHAPES = [(60, 100), (64, 256), (256, 1024), (1024, 4096)]  # (60, 100): the MNIST experiment
DTYPES = [np.float32, np.float64]
# Agreement before timing: float32 carries ~7 digits, float64 ~16; the two backwards and
# torch sum in different orders, so they differ by rounding only (a bug shows up as O(1)).
AGREE_RTOL = {np.float32: 1e-3, np.float64: 1e-9}


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--seconds", type=float, default=None,
                        help="time budget per table row (default 5, or 0.2 with --quick)")
    return parser.parse_args(argv)


def import_torch(wanted):
    """PyTorch with 2 threads, or None if it is not wanted or not installed."""
    if not wanted:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def blas_description():
    """Which BLAS numpy uses, and with which kernel and threads if threadpoolctl can tell."""
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        text = f"{blas['name']} {blas['version']}"
    except (AttributeError, KeyError, TypeError):
        text = "unknown"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return text + " (install threadpoolctl to see its kernel and threads)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            text += (f"; kernel {pool.get('architecture')}, {pool.get('num_threads')} threads")
    return text


def environment_lines(torch):
    """A few lines saying on what the numbers were measured."""
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
             f"BLAS: {blas_description()}"]
    tuned = {k: v for k, v in os.environ.items()
             if k.startswith(("OPENBLAS_", "OMP_", "MKL_")) and v}
    lines.append("BLAS environment: " + (", ".join(f"{k}={v}" for k, v in sorted(tuned.items()))
                                         or "none set"))
    lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads" if torch
                 else "torch: not installed (or --no-torch)")
    if os.getloadavg()[0] > (os.cpu_count() or 1) / 2:
        lines.append("WARNING: other programs keep the CPUs busy: the timings are slower and "
                     "noisier than on a quiet machine, the multi-threaded ones (torch, BLAS) most")
    return lines


def make_problem(shape, dtype, rng):
    """A batch x (N, D) with an offset, gamma and beta (D,), and an upstream gradient (N, D)."""
    n, d = shape
    x = (3 * rng.standard_normal((n, d)) + 2).astype(dtype)
    gamma = (rng.standard_normal(d) + 1).astype(dtype)
    beta = rng.standard_normal(d).astype(dtype)
    dout = rng.standard_normal((n, d)).astype(dtype)
    return x, gamma, beta, dout


def numpy_step(backward, x, gamma, beta, dout):
    """A zero-argument function: bnlib's forward, then `backward`; returns (dx, dgamma, dbeta)."""
    def step():
        _, cache = batchnorm_forward(x, gamma, beta)
        return backward(dout, cache)
    return step


def torch_step(torch, x, gamma, beta, dout):
    """The same step in PyTorch (functional batch norm + autograd); returns the gradients."""
    tx, tgamma, tbeta = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tdout = torch.tensor(dout)

    def step():
        out = torch.nn.functional.batch_norm(tx, None, None, tgamma, tbeta, training=True,
                                             eps=1e-5)
        return torch.autograd.grad(out, (tx, tgamma, tbeta), tdout)
    return step


def check_agreement(steps, dtype):
    """Raise AssertionError unless every step returns the same (dx, dgamma, dbeta)."""
    results = {name: [np.asarray(g) for g in step()] for name, step in steps.items()}
    reference = results["closed"]
    for name, grads in results.items():
        for got, want, label in zip(grads, reference, ("dx", "dgamma", "dbeta")):
            atol = AGREE_RTOL[dtype] * np.abs(want).max()
            np.testing.assert_allclose(got, want, rtol=AGREE_RTOL[dtype], atol=atol,
                                       err_msg=f"{name} disagrees with closed on {label}")


def time_interleaved(steps, seconds, quick):
    """Time each step many times, interleaved; return ({name: array of seconds per call},
    {name: (minor page faults per call, system CPU seconds per call)}).

    Each repeat runs every step twice and times the second call: after running something
    else, a multi-threaded library (torch, BLAS) first has to wake its sleeping threads, which
    on a busy machine can cost more than the work. A training loop calls the same step again
    and again, so the second call is the one that tells its speed. The number of repeats is
    chosen so that a row takes about `seconds` in all. Page faults and system time are read
    from getrusage around each timed call: both sides run in this one process, under the same
    allocator, and a fresh output array of many MiB costs a page fault per 4 KiB page.
    """
    names = list(steps)
    start = time.perf_counter()
    for name in names:                             # warm up (first calls allocate) and
        steps[name]()                              # estimate the time of one round
    one_round = time.perf_counter() - start
    low, high = (3, 30) if quick else (15, 3000)
    repeats = int(np.clip(seconds / max(2 * one_round, 1e-9), low, high))   # 2 calls each
    times = {name: np.empty(repeats) for name in names}
    memory = {name: np.zeros(2) for name in names}
    for r in range(repeats):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]     # rotate the order every repeat
            steps[name]()                          # untimed: wakes the worker threads
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            steps[name]()
            times[name][r] = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_SELF)
            memory[name] += (after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime)
    return times, {name: tuple(total / repeats) for name, total in memory.items()}


def summary(seconds):
    """Median and interquartile range (25th, 75th percentile) of the timings, in seconds."""
    q25, median, q75 = np.percentile(seconds, [25, 50, 75])
    return median, q25, q75


def format_time(stats):
    """'412 us (398-431)': the median and the IQR, in us below 1 ms and ms above."""
    median, q25, q75 = stats
    unit, scale = ("us", 1e6) if median < 1e-3 else ("ms", 1e3)
    digits = 0 if median * scale >= 100 else 1
    return f"{median * scale:.{digits}f} {unit} ({q25 * scale:.{digits}f}-{q75 * scale:.{digits}f})"


def measure_row(shape, dtype, torch, seconds, quick, rng):
    """Time the three implementations on one (shape, dtype).

    Returns {"load": the 1-minute load average before the row, "memory": {name: (faults,
    system seconds) per call}, name: (median, q25, q75) for each implementation}.
    """
    x, gamma, beta, dout = make_problem(shape, dtype, rng)
    steps = {"closed": numpy_step(batchnorm_backward, x, gamma, beta, dout),
             "staged": numpy_step(batchnorm_backward_staged, x, gamma, beta, dout)}
    if torch is not None:
        steps["torch"] = torch_step(torch, x, gamma, beta, dout)
    check_agreement(steps, dtype)
    load = os.getloadavg()[0]
    times, memory = time_interleaved(steps, seconds, quick)
    return {"load": load, "memory": memory, **{name: summary(t) for name, t in times.items()}}


def layer_steps(torch, shape, rng):
    """Forward + backward of the BatchNorm1d layer as the MNIST training loop calls it."""
    x, _, _, dout = make_problem(shape, np.float32, rng)
    layer = BatchNorm1d(shape[1], dtype=np.float32)
    steps = {"closed": lambda: (layer.forward(x), layer.backward(dout))}
    if torch is not None:
        module = torch.nn.BatchNorm1d(shape[1])    # float32, training mode, like ours
        tx, tdout = torch.tensor(x, requires_grad=True), torch.tensor(dout)
        params = (tx, module.weight, module.bias)
        steps["torch"] = lambda: torch.autograd.grad(module(tx), params, tdout)
    return steps


def ratio(rows, key, top, bottom):
    """Median of `top` over median of `bottom` in row `key`, or None if either is missing."""
    row = rows.get(key, {})
    if top not in row or bottom not in row:
        return None
    return row[top][0] / row[bottom][0]


def memory_body(rows):
    """One row per (shape, dtype): page faults and system time per call of each side."""
    body = []
    for (shape, dtype), row in rows.items():
        cells = []
        for name in ("closed", "torch"):
            if name in row["memory"]:
                faults, system = row["memory"][name]
                cells.append(f"{faults:.0f} faults, {1e3 * system:.2f} ms system")
            else:
                cells.append("-")
        body.append([f"{shape[0]} x {shape[1]}", dtype.__name__, *cells])
    return body


def traffic_floor_lines():
    """What no implementation can beat on a large batch: the bytes it must move.

    Forward + backward must read x twice (statistics, then normalising), write out, read
    dout, read x_hat (or x again) and write dx: six passes over an (N, D) array at least.
    """
    lines = []
    for shape in SHAPES[2:]:
        for dtype in DTYPES:
            megabytes = 6 * shape[0] * shape[1] * np.dtype(dtype).itemsize / 1e6
            lines.append(f"{shape[0]} x {shape[1]} {dtype.__name__}: at least six passes, "
                         f"{megabytes:.0f} MB of memory traffic")
    return lines


def table_body(rows, missing):
    """One table row of strings per (shape, dtype): times, ratios, and the load average before
    it (marked * above 1: on a 2-core machine that means another program shared the cores)."""
    body = []
    for (shape, dtype), row in rows.items():
        closed_torch = ratio(rows, (shape, dtype), "closed", "torch")
        body.append([f"{shape[0]} x {shape[1]}", dtype.__name__, format_time(row["closed"]),
                     format_time(row["staged"]),
                     format_time(row["torch"]) if "torch" in row else missing,
                     "-" if closed_torch is None else f"{closed_torch:.2f}",
                     f"{ratio(rows, (shape, dtype), 'staged', 'closed'):.2f}",
                     f"{row['load']:.2f}" + (" *" if row["load"] > 1 else "")])
    return body


def main(argv=None):
    """Measure every (shape, dtype) and the layer; print the tables."""
    args = parse_args(argv)
    torch = import_torch(not args.no_torch)
    seconds = args.seconds if args.seconds is not None else (0.2 if args.quick else 5.0)
    rng = np.random.default_rng(0)
    print("\n".join(environment_lines(torch)) + "\n")
    rows = {(shape, dtype): measure_row(shape, dtype, torch, seconds, args.quick, rng)
            for dtype in DTYPES for shape in SHAPES}
    missing = "torch not installed" if torch is None else "-"
    header = ["N x D", "dtype", "closed", "staged", "torch", "closed/torch", "staged/closed",
              "load"]
    print("Forward + backward, median (IQR), and the load average before each row:")
    print("\n".join(table(header, table_body(rows, missing), args.markdown)))
    if any(row["load"] > 1 for row in rows.values()):
        print("* load above 1: another program shared the cores; these rows (torch's above "
              "all, with its two threads) are slower and noisier than on a quiet machine")
    print("\nMemory per call (minor page faults, system CPU time), the same allocator for both:")
    print("\n".join(table(["N x D", "dtype", "closed", "torch"], memory_body(rows),
                          args.markdown)))
    print("\nThe floor on large batches, whatever the code:\n" + "\n".join(traffic_floor_lines()))
    times, _ = time_interleaved(layer_steps(torch, SHAPES[0], rng), seconds, args.quick)
    layer = {name: summary(t) for name, t in times.items()}
    print(f"\nBatchNorm1d layer, forward + backward at {SHAPES[0]} float32 (the MNIST loop): "
          f"bnlib {format_time(layer['closed'])}, torch.nn.BatchNorm1d "
          + (format_time(layer["torch"]) if "torch" in layer else missing))
    print("\nat the end: " + load_line())


if __name__ == "__main__":
    main()
