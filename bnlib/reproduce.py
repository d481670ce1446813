"""The command line of the course's experiments: `python -m bnlib.reproduce NAME`.

`python -m bnlib.reproduce --list` lists what can be reproduced. Each experiment lives in its
own module of bnlib.experiments, which names its commands in COMMANDS; a command receives the
parsed options below and writes its results into the folder `--out`. A run that diverges (its
loss or a batch statistic stops being finite) is reported with its step, not as a traceback:
the sweeps record it in their tables, any other command stops with exit code 1.
"""
import argparse
import os
import sys

from .experiments import (affine_ablation, batch_size, cnn, eval_gap, fig1, fig1_fair,
                          fine_tuning, landscape, noisy_bn, placement, regularization, sweep)
from .train import TrainingDiverged

MODULES = (fig1, fig1_fair, sweep, affine_ablation, noisy_bn, landscape, regularization,
           batch_size, eval_gap, fine_tuning, placement, cnn)
EXPERIMENTS = {name: command for module in MODULES for name, command in module.COMMANDS.items()}


def parse_args(argv=None):
    """The options shared by every experiment; exits with a usage message on bad ones."""
    parser = argparse.ArgumentParser(prog="python -m bnlib.reproduce",
                                     description="Reproduce the course's experiments.")
    parser.add_argument("name", nargs="?", help="the experiment to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--steps", type=int, help="training steps per network (default: the "
                                                  "experiment's own)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    parser.add_argument("--seeds", type=int,
                        help="how many seeds, from --seed on (default: the experiment's own, "
                             "5 for fig1_seeds, 3 for the others that repeat over seeds)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes training at once (default: 2 if there are 2 cores)")
    parser.add_argument("--subset", type=int,
                        help="use only the first N training and N test images (a quick check "
                             "that a command runs; its numbers mean nothing)")
    args = parser.parse_args(argv)
    if not args.list and args.name not in EXPERIMENTS:
        parser.error(f"unknown experiment {args.name!r}; choose from {', '.join(EXPERIMENTS)}")
    for option in ("steps", "subset"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be a positive number, got {getattr(args, option)}")
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    return args


def main(argv=None):
    """Run one experiment (or list them); return the exit code."""
    args = parse_args(argv)
    if args.list:
        for name, (_, description) in EXPERIMENTS.items():
            print(f"{name:<{max(map(len, EXPERIMENTS))}}  {description}")
        return 0
    try:
        return EXPERIMENTS[args.name][0](args)
    except TrainingDiverged as diverged:
        print(f"{args.name}: {diverged}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
