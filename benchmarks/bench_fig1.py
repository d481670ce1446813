"""How long does the paper's Fig. 1 experiment take with bnlib, and with PyTorch on the CPU?

Run from the repository root:
    .venv/bin/python benchmarks/bench_fig1.py                 # 5,000 steps per network, 3 repeats
    .venv/bin/python benchmarks/bench_fig1.py --full --repeats 1   # the paper's 50,000 steps
    .venv/bin/python benchmarks/bench_fig1.py --markdown      # the table as markdown

The experiment is `python -m bnlib.reproduce fig1`: two 784-100-100-100-10 sigmoid networks,
one without and one with BN, minibatches of 60, plain SGD with the settings of
`bnlib.experiments.fig1.Fig1Config`, and an evaluation on the 10,000 test images (accuracy and the
percentiles of one last-layer sigmoid's input) every 1,000 steps. Timed, per side, is the wall
time to train and evaluate both networks:

- bnlib, jobs=2: `run_fig1(jobs=2)`, the command's default: the two networks train at the
  same time in two processes with one BLAS thread each. Its time includes starting the
  processes and loading MNIST in them.
- bnlib, jobs=1: `run_fig1(jobs=1)`, one network after the other in this process.
- torch: the same experiment written with nn.Linear, nn.BatchNorm1d, nn.Sigmoid,
  nn.CrossEntropyLoss and optim.SGD, with torch.set_num_threads(2) (--torch-threads), one
  network after the other (the usual way to write it). Optional: skipped when torch is not
  installed.

numpy's BLAS runs with --blas-threads threads in this process (default 1: with small
matrices a second thread gains little, and it loses a lot when other programs share the
cores). The sides run one after another inside every repeat, in an order that rotates from
repeat to repeat, so a burst of load from other programs slows all of them alike; we report
the median and the range of the repeats, and the load average of the machine.
"""
import argparse
import os
import sys


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per network (default 5000)")
    parser.add_argument("--full", action="store_true", help="the paper's 50,000 steps per network")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per side (default 3)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--blas-threads", default="1", help="numpy's BLAS threads (default 1)")
    parser.add_argument("--torch-threads", type=int, default=2, help="torch's threads (default 2)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:      # must happen before numpy is imported
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = ARGS.blas_threads

import time  # noqa: E402

import numpy as np  # noqa: E402

from bnlib import load_mnist  # noqa: E402
from bnlib.experiments.fig1 import Fig1Config, record_steps, run_fig1  # noqa: E402
from bnlib.train import PERCENTILES  # noqa: E402
from tables import load_line, table  # noqa: E402  (benchmarks/tables.py, beside this script)


def import_torch(wanted, threads):
    """PyTorch with `threads` threads, or None if it is not wanted or not installed."""
    if not wanted:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def torch_network(torch, config, use_bn, generator):
    """The Fig. 1 network in PyTorch, initialised like bnlib's MLP (N(0, init_std²) weights, zero biases)."""
    nn, layers, sizes = torch.nn, [], config.sizes
    for d_in, d_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(d_in, d_out, bias=not use_bn))
        layers += [nn.BatchNorm1d(d_out)] if use_bn else []
        layers.append(nn.Sigmoid())
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for module in net:
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, config.init_std, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
    return net


def torch_evaluate(torch, net, x_test, y_test, unit):
    """Test accuracy and the percentiles of the last sigmoid's input `unit`, in eval mode."""
    net.eval()
    with torch.no_grad():
        h = x_test
        for module in net:
            if isinstance(module, torch.nn.Sigmoid):
                z_last = h                                   # input of this sigmoid
            h = module(h)
        accuracy = float((h.argmax(dim=1) == y_test).float().mean())
    net.train()
    return accuracy, np.percentile(z_last[:, unit].numpy(), PERCENTILES)


def torch_run(torch, config, data, use_bn):
    """Train and evaluate one network with PyTorch; return its final test accuracy."""
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in data)
    generator = torch.Generator().manual_seed(config.seed)
    net = torch_network(torch, config, use_bn, generator)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum)
    loss_fn, record_at = torch.nn.CrossEntropyLoss(), set(record_steps(config.steps, config.eval_every))
    per_epoch = len(x_train) // config.batch_size
    for step in range(config.steps + 1):
        if step in record_at:
            accuracy, _ = torch_evaluate(torch, net, x_test, y_test, config.unit)
        if step == config.steps:
            return accuracy
        if step % per_epoch == 0:
            order = torch.randperm(len(x_train), generator=generator)
        idx = order[(step % per_epoch) * config.batch_size:(step % per_epoch + 1) * config.batch_size]
        optimizer.zero_grad()
        loss_fn(net(x_train[idx]), y_train[idx]).backward()
        optimizer.step()


def time_side(name, config, data, torch):
    """Run one side once; return (seconds, final accuracies {"plain": ..., "bn": ...})."""
    start = time.perf_counter()
    if name == "torch":
        accuracies = {net: torch_run(torch, config, data, net == "bn") for net in ("plain", "bn")}
    else:
        result = run_fig1(config, jobs=2 if name == "bnlib, jobs=2" else 1, progress=False, data=data)
        accuracies = {net: result["runs"][net]["test_acc"][-1] for net in ("plain", "bn")}
    return time.perf_counter() - start, accuracies


def main():
    args = ARGS
    steps = 50_000 if args.full else args.steps
    config = Fig1Config(steps=steps)
    torch = import_torch(not args.no_torch, args.torch_threads)
    sides = ["bnlib, jobs=2", "bnlib, jobs=1"] + (["torch"] if torch is not None else [])
    data = load_mnist()
    times, accuracies, load_before = {side: [] for side in sides}, {}, os.getloadavg()[0]
    print(f"Fig. 1 experiment, {steps} steps per network, both networks, lr={config.lr}, "
          f"init_std={config.init_std}; {args.repeats} repeats; load average before: "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr)
    for repeat in range(args.repeats):
        order = sides[repeat % len(sides):] + sides[:repeat % len(sides)]   # rotate the order
        for side in order:
            seconds, accuracies[side] = time_side(side, config, data, torch)
            times[side].append(seconds)
            print(f"  repeat {repeat + 1}: {side:<14} {seconds:7.1f} s", file=sys.stderr)
    print_table(times, accuracies, steps, args.markdown, "torch" in times, load_before)
    if torch is not None:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def print_table(times, accuracies, steps, markdown, with_torch, load_before):
    """The table: median and range of the wall times, final accuracies, ratio to torch."""
    torch_median = float(np.median(times["torch"])) if with_torch else None
    header = ["side", f"both networks, {steps} steps each (median s)", "range (s)",
              "torch / side", "final acc. without BN", "final acc. with BN"]
    rows = []
    for side, values in times.items():
        median = float(np.median(values))
        ratio = f"{torch_median / median:.2f}x" if with_torch else "-"
        rows.append([side, f"{median:.1f}", f"{min(values):.1f} to {max(values):.1f}", ratio,
                     f"{accuracies[side]['plain']:.4f}", f"{accuracies[side]['bn']:.4f}"])
    print("\n".join(table(header, rows, markdown)))
    print(f"\nat the start: load average {load_before:.2f}; now: {load_line()}")


if __name__ == "__main__":
    main()
