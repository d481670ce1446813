"""Reproduce the paper's experiments from one command: `python -m bnlib.reproduce NAME`.

`python -m bnlib.reproduce --list` lists what can be reproduced. Each experiment is a function
registered in EXPERIMENTS under its name (with the `experiment` decorator); it receives the
parsed command-line options and writes its results into the folder `--out`.

fig1 is the MNIST experiment of Ioffe & Szegedy 2015, Sec. 4.1 and Fig. 1: a 784-100-100-100-10
sigmoid network, small Gaussian initial weights, minibatches of 60, 50,000 steps, once without
and once with BN after each hidden affine layer. The paper does not state the optimizer, the
learning rate or the initial standard deviation; `Fig1Config` holds our choice, the same for
both networks (the README says how it was made).
"""
import argparse
import dataclasses
import importlib
import json
import math
import multiprocessing
import os
import queue
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .data import load_mnist
from .model import MLP
from .train import show_progress, train

EXPERIMENTS = {}   # name -> (function(args) -> exit code, one-line description)

# Test accuracy read from the paper's Fig. 1(a) (arXiv 1502.03167v3), at 5,000 and 50,000 steps.
PAPER_FIG1 = {"bn": {5000: 0.956, 50000: 0.982}, "plain": {5000: 0.787, 50000: 0.972}}
NETWORKS = {"plain": "without BN", "bn": "with BN"}
POPULATION_IMAGES = 6000    # 100 minibatches of 60 for Algorithm 2's population statistics
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def write_json(result, path):
    """Write an experiment's `result` (JSON-serialisable) to `path`, its folder made if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def experiment(name, description):
    """Decorator: register `function(args)` as the experiment `name` of the command line."""
    def register(function):
        EXPERIMENTS[name] = (function, description)
        return function
    return register


@dataclasses.dataclass(frozen=True)
class Fig1Config:
    """Settings of the Fig. 1 experiment. The paper fixes sizes, batch size and steps (Sec. 4.1).

    lr, momentum and init_std are ours, the same for both networks: plain SGD (momentum 0),
    with the (lr, init_std) of a small grid whose network *without* BN came closest to the
    paper's at 5,000 steps (0.787), on 10,000 training images held out for validation. The
    network with BN played no part in the choice. unit is the sigmoid of the last hidden
    layer whose input Fig. 1(b, c) follows. inference: how the network with BN is evaluated,
    "population" (the paper's Algorithm 2: mean and variance averaged over the minibatches of
    the first POPULATION_IMAGES training images, recomputed before each evaluation) or
    "running" (the running averages kept during training, as PyTorch does).
    """

    steps: int = 50_000
    lr: float = 0.1
    momentum: float = 0.0
    init_std: float = 0.05
    batch_size: int = 60
    eval_every: int = 1000
    seed: int = 0
    sizes: tuple = (784, 100, 100, 100, 10)
    unit: int = 0
    inference: str = "population"


def record_steps(steps, eval_every):
    """Steps at which a run is evaluated: 0, every `eval_every`, 5,000 (the paper's) and the last."""
    return sorted({0, steps, *range(0, steps + 1, eval_every), *([5000] if steps >= 5000 else [])})


def run_network(use_bn, config, data=None, progress=None, on_record=None):
    """Train one network of Fig. 1 and return its record.

    Inputs: use_bn; config, a Fig1Config; data as `load_mnist` returns it (None: load it);
    progress and on_record are passed to `train`.
    Returns a dict of lists with one entry per evaluation: "step", "test_acc", "p15", "p50",
    "p85" (percentiles over the test set of the input of sigmoid `config.unit` of the last
    hidden layer), "p50_units" (the median of every last-layer sigmoid's input, to see how
    typical the followed one is), "loss" (minibatch loss, None at step 0), "grad_norms" (one
    per hidden layer), and "seconds", the wall time of the training. For a given seed both
    networks get the same initial weights and see the same minibatches.
    """
    if config.inference not in ("population", "running"):
        raise ValueError(f"inference must be 'population' or 'running', got {config.inference!r}")
    data = load_mnist() if data is None else data
    population_x = data[0][:POPULATION_IMAGES] if config.inference == "population" else None
    init_seed, batch_seed = np.random.SeedSequence(config.seed).spawn(2)
    model = MLP(config.sizes, use_bn=use_bn, init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    start = time.perf_counter()
    history = train(model, data, config.steps, config.lr, config.momentum, config.batch_size,
                    eval_every=record_steps(config.steps, config.eval_every),
                    rng=np.random.default_rng(batch_seed), unit=config.unit,
                    progress=progress, on_record=on_record, population_x=population_x,
                    unit_medians=True)
    seconds = time.perf_counter() - start
    last_layer = np.array([p[-1] for p in history["percentiles"]])   # (records, 3)
    p15, p50, p85 = (_rounded(column) for column in last_layer.T)
    return {"step": history["step"], "test_acc": history["test_acc"],
            "p15": p15, "p50": p50, "p85": p85,
            "p50_units": [_rounded(medians, 4) for medians in history["unit_medians"]],
            "loss": [None if math.isnan(v) else round(float(v), 6) for v in history["loss"]],
            "grad_norms": [_rounded(norms) for norms in history["grad_norms"]],
            "seconds": round(seconds, 3)}


def _rounded(values, digits=6):
    """Plain Python floats with `digits` significant digits (for a readable JSON file)."""
    return [float(f"{v:.{digits}g}") for v in values]


def run_fig1(config=Fig1Config(), jobs=1, progress=None, data=None):
    """Train both networks of Fig. 1.

    Inputs: config, a Fig1Config; jobs: 1 trains the networks one after the other, 2 trains
    them at the same time in two processes (one BLAS thread each; they load MNIST themselves);
    progress: show a progress bar (None: when a person is watching); data: MNIST for jobs=1.
    Returns {"config": the settings, "runs": {"bn": run, "plain": run} (see `run_network`),
    "seconds": total wall time, "jobs": jobs}.
    """
    start = time.perf_counter()
    if jobs > 1:
        runs = _run_in_processes(config, progress)
    else:
        data = load_mnist() if data is None else data
        runs = {name: run_network(name == "bn", config, data, progress) for name in NETWORKS}
    return {"config": dataclasses.asdict(config), "runs": {"bn": runs["bn"], "plain": runs["plain"]},
            "seconds": round(time.perf_counter() - start, 3), "jobs": jobs}


def _worker(name, config, messages):
    """Train network `name` in a child process; report progress and the result on `messages`."""
    try:
        report = lambda history: messages.put(("step", name, history["step"][-1]))
        run = run_network(name == "bn", config, progress=False, on_record=report)
        messages.put(("run", name, run))
    except Exception as error:     # the parent re-raises it with the network's name
        messages.put(("error", name, f"{type(error).__name__}: {error}"))


def _start_workers(config, messages):
    """Start one spawned process per network, each limited to one BLAS thread."""
    context = multiprocessing.get_context("spawn")
    saved = {key: os.environ.get(key) for key in BLAS_THREAD_VARIABLES}
    os.environ.update({key: "1" for key in BLAS_THREAD_VARIABLES})   # read by the children
    try:
        workers = {name: context.Process(target=_worker, args=(name, config, messages), daemon=True)
                   for name in NETWORKS}
        for worker in workers.values():
            worker.start()
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.update({key: value})
    return workers


def _run_in_processes(config, progress):
    """Train both networks at once in two processes; return {name: run}, or raise RuntimeError."""
    messages = multiprocessing.get_context("spawn").Queue()
    workers = _start_workers(config, messages)
    bar = tqdm(total=len(workers) * config.steps, desc="fig1, both networks",
               disable=not (show_progress() if progress is None else progress))
    runs, done = {}, dict.fromkeys(workers, 0)
    try:
        while len(runs) < len(workers):
            try:
                kind, name, payload = messages.get(timeout=1.0)
            except queue.Empty:
                dead = [n for n, w in workers.items() if n not in runs and not w.is_alive()]
                if dead:
                    raise RuntimeError(f"the process training {dead[0]} stopped without a result")
                continue
            if kind == "error":
                raise RuntimeError(f"training the network {NETWORKS[name]} failed: {payload}")
            if kind == "step":
                bar.update(payload - done[name])
                done[name] = payload
            else:
                runs[name] = payload
    finally:
        bar.close()
        for name, worker in workers.items():   # only the processes started above
            worker.join(timeout=10 if name in runs else 0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    return runs


MEDIAN_TARGET = "with BN, max |median input| <= 0.3"
MOVE_TARGET = "without BN, the percentiles move by > 1.0"


def fig1_targets(result):
    """The targets of the Fig. 1 reproduction, as a list of (description, measured, met).

    The lead at 5,000 steps is checked when the run reached 5,000 steps, the end-of-training
    targets when it reached the paper's 50,000. "Move" is the largest change (max - min over
    the run) of any of the three percentiles.
    """
    bn, plain = result["runs"]["bn"], result["runs"]["plain"]
    bn_final, plain_final = bn["test_acc"][-1], plain["test_acc"][-1]
    targets = []
    if bn["step"][-1] >= 50000:
        targets += [("with BN, final test accuracy >= 0.975", bn_final, bn_final >= 0.975),
                    ("BN ends above the plain network (difference)", bn_final - plain_final,
                     bn_final > plain_final)]
    if 5000 in bn["step"]:
        at = bn["step"].index(5000)
        lead = bn["test_acc"][at] - plain["test_acc"][at]
        targets.append(("BN leads by >= 0.10 at 5,000 steps", lead, lead >= 0.10))
    bn_median = max(abs(v) for v in bn["p50"])
    targets.append((MEDIAN_TARGET, bn_median, bn_median <= 0.3))
    plain_move = max(max(p) - min(p) for p in (plain["p15"], plain["p50"], plain["p85"]))
    targets.append((MOVE_TARGET, plain_move, plain_move > 1.0))
    return targets


def units_within(run, bound=0.3):
    """(k, width): k of the `width` last-layer sigmoids keep |median input| <= bound all run."""
    largest = np.abs(np.array(run["p50_units"])).max(axis=0)    # (width,) over the records
    return int(np.sum(largest <= bound)), len(largest)


def fig1_table(result):
    """Text table: this run's test accuracies beside the paper's Fig. 1, then the targets."""
    lines = [f"{'network':<11} {'step':>6} {'this run':>9} {'paper':>6}"]
    for name in ("bn", "plain"):
        run = result["runs"][name]
        for step in sorted({s for s in (5000, run["step"][-1]) if s in run["step"]}):
            paper = PAPER_FIG1[name].get(step)
            lines.append(f"{NETWORKS[name]:<11} {step:>6} {run['test_acc'][run['step'].index(step)]:>9.4f} "
                         f"{'-' if paper is None else f'{paper:.3f}':>6}")
    lines.append("")
    for description, measured, met in fig1_targets(result):
        lines.append(f"{'met   ' if met else 'MISSED'} {description}: {measured:.3f}")
    if all("p50_units" in result["runs"][name] for name in NETWORKS):   # older results lack it
        lines.append("\nlast-layer sigmoids whose median input stays within ±0.3 all run:")
        for name in ("bn", "plain"):
            k, width = units_within(result["runs"][name])
            lines.append(f"  {NETWORKS[name] + ':':<11} {k:>3} of {width}" + (
                f" (the targets above follow unit {result['config'].get('unit', 0)})"
                if name == "bn" else ""))
    seconds = {name: result["runs"][name]["seconds"] for name in ("plain", "bn")}
    lines.append(f"\ntime: {seconds['plain']:.1f} s without BN, {seconds['bn']:.1f} s with BN, "
                 f"{result['seconds']:.1f} s in all (jobs={result['jobs']})")
    return "\n".join(lines)


def save_fig1(result, out):
    """Write fig1.json and fig1.png (the three panels) into the folder `out`; return their paths."""
    from . import plots          # matplotlib is only needed here
    fig, _ = plots.plot_fig1(result, paper=PAPER_FIG1)
    return (write_json(result, Path(out) / "fig1.json"),
            plots.save_figure(fig, Path(out) / "fig1.png"))


@experiment("fig1", "MNIST, 784-100-100-100-10 sigmoid MLP without and with BN: test accuracy "
                    "and a last-layer sigmoid's input over training (Ioffe & Szegedy 2015, Fig. 1)")
def fig1(args):
    """Command-line entry of fig1: train both networks, write fig1.json/png, print the table."""
    config = Fig1Config(steps=args.steps or Fig1Config.steps, seed=args.seed)
    result = run_fig1(config, jobs=args.jobs)
    paths = save_fig1(result, args.out)
    print(fig1_table(result))
    print("wrote", *paths)
    return 0


def seed_summary(result):
    """One row of fig1_seeds: a fig1 result's accuracies, targets and typical-unit counts."""
    row = {"seed": result["config"]["seed"], "seconds": result["seconds"]}
    for name in NETWORKS:
        run = result["runs"][name]
        row[f"{name}_5000"] = run["test_acc"][run["step"].index(5000)] if 5000 in run["step"] else None
        row[f"{name}_final"] = run["test_acc"][-1]
        row[f"{name}_units_within"] = units_within(run)[0]
    row["targets"] = [[description, round(measured, 4), met]
                      for description, measured, met in fig1_targets(result)]
    return row


def seeds_table(rows):
    """Text table of fig1_seeds: one line per seed, then how often each target was met."""
    number = lambda v, width: f"{'-' if v is None else f'{v:.4f}':>{width}}"
    lines = [f"{'seed':>4} {'BN 5k':>7} {'plain 5k':>8} {'BN end':>7} {'plain end':>9} "
             f"{'BN |median|':>11} {'plain move':>10} {'BN units':>8} {'plain units':>11}"]
    for row in rows:
        measured = {description: value for description, value, _ in row["targets"]}
        lines.append(f"{row['seed']:>4} {number(row['bn_5000'], 7)} {number(row['plain_5000'], 8)} "
                     f"{number(row['bn_final'], 7)} {number(row['plain_final'], 9)} "
                     f"{measured[MEDIAN_TARGET]:>11.3f} {measured[MOVE_TARGET]:>10.3f} "
                     f"{row['bn_units_within']:>8} {row['plain_units_within']:>11}")
    lines.append("(units: how many last-layer sigmoids keep their median input within ±0.3 all run)")
    lines.append("\ntargets met, over the seeds:")
    for i, (description, _, _) in enumerate(rows[0]["targets"]):
        met = sum(row["targets"][i][2] for row in rows)
        lines.append(f"  {met} of {len(rows)}  {description}")
    return "\n".join(lines)


@experiment("fig1_seeds", "fig1 once per seed (--seeds of them, from --seed): how much its "
                          "numbers and targets depend on the seed")
def fig1_seeds(args):
    """Command-line entry of fig1_seeds: run fig1 per seed, write fig1_seeds.json, print a table."""
    rows = []
    for seed in range(args.seed, args.seed + args.seeds):
        print(f"seed {seed}", flush=True)
        config = Fig1Config(steps=args.steps or Fig1Config.steps, seed=seed)
        rows.append(seed_summary(run_fig1(config, jobs=args.jobs)))
    path = write_json({"steps": args.steps or Fig1Config.steps, "rows": rows},
                      Path(args.out) / "fig1_seeds.json")
    print(seeds_table(rows))
    print("wrote", path)
    return 0


def lr_init_sweep(lrs, init_stds, steps, data=None, seed=0, progress=None):
    """Final test accuracy of both networks of Fig. 1 for every (lr, init_std) pair.

    Inputs: lrs and init_stds, sequences of numbers; steps per training run; data as
    `load_mnist` returns it (None: load it); seed; progress: show a bar (None: if watched).
    Returns {"lr", "init_std", "steps", "plain", "bn"}, where result[name][i][j] is the test
    accuracy after `steps` steps with init_stds[i] and lrs[j] (None if the loss diverged).
    """
    data = load_mnist() if data is None else data
    bar = tqdm(total=2 * len(lrs) * len(init_stds), desc="sweep",
               disable=not (show_progress() if progress is None else progress))
    result = {"lr": list(lrs), "init_std": list(init_stds), "steps": steps}
    for name in NETWORKS:
        result[name] = [[_final_accuracy(name == "bn", Fig1Config(steps, lr, init_std=std,
                                                                  eval_every=steps, seed=seed),
                                         data, bar) for lr in lrs] for std in init_stds]
    bar.close()
    return result


def _final_accuracy(use_bn, config, data, bar):
    """Test accuracy at the end of one run, or None if its loss stopped being finite."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # a diverging run may overflow
            accuracy = run_network(use_bn, config, data, progress=False)["test_acc"][-1]
    except RuntimeError:
        accuracy = None
    bar.update()
    return accuracy


SWEEP_LRS, SWEEP_INIT_STDS = (0.1, 1.0, 10.0), (0.01, 0.1, 1.0)


@experiment("sweep", "the networks of fig1 over learning rates x initial weight scales: BN "
                     "trains at every setting (Ioffe & Szegedy 2015, Sec. 3.3)")
def sweep(args):
    """Command-line entry of sweep: write sweep.json and sweep.png, print the accuracies."""
    from . import plots
    result = lr_init_sweep(SWEEP_LRS, SWEEP_INIT_STDS, args.steps or 2000, seed=args.seed)
    out = Path(args.out)
    write_json(result, out / "sweep.json")
    plots.save_figure(plots.plot_sweep(result)[0], out / "sweep.png")
    print(f"test accuracy after {result['steps']} steps (rows: initial std; columns: lr "
          f"{', '.join(f'{lr:g}' for lr in result['lr'])})")
    for name in NETWORKS:
        for std, row in zip(result["init_std"], result[name]):
            cells = "  ".join("div." if a is None else f"{a:.3f}" for a in row)
            print(f"{NETWORKS[name]:<11} std {std:<5g} {cells}")
    print("wrote", out / "sweep.json", out / "sweep.png")
    return 0


# The experiments of notebooks 06-09 live beside the code they run; they are imported only
# when listed or run. name -> (module of bnlib, experiment function, its description constant)
ELSEWHERE = {
    "noisy_bn": ("noisy_bn", "noisy_bn_experiment", "NOISY_BN_DESCRIPTION"),
    "landscape": ("landscape", "landscape_experiment", "LANDSCAPE_DESCRIPTION"),
    "batchsize": ("batch_size", "batch_size_experiment", "BATCH_SIZE_DESCRIPTION"),
    "eval_gap": ("eval_gap", "eval_gap_experiment", "EVAL_GAP_DESCRIPTION"),
    "placement": ("placement", "placement_experiment", "PLACEMENT_DESCRIPTION"),
}


def all_experiments():
    """EXPERIMENTS together with those of ELSEWHERE: name -> (function(args), description)."""
    found = dict(EXPERIMENTS)
    for name, (module_name, function, description) in ELSEWHERE.items():
        module = importlib.import_module(f"bnlib.{module_name}")
        found[name] = (getattr(module, function), getattr(module, description))
    return found


def main(argv=None):
    """Parse the command line and run one experiment (or list them); return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bnlib.reproduce",
                                     description="Reproduce an experiment of Ioffe & Szegedy 2015.")
    parser.add_argument("name", nargs="?", help="the experiment to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--steps", type=int, help="training steps per network (default: the paper's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    parser.add_argument("--seeds", type=int, default=5,
                        help="fig1_seeds: how many seeds, from --seed on (default 5)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes training at once (default: 2 if there are 2 cores)")
    args = parser.parse_args(argv)
    experiments = all_experiments()
    if args.list:
        for name, (_, description) in experiments.items():
            print(f"{name:<10} {description}")
        return 0
    if args.name not in experiments:
        parser.error(f"unknown experiment {args.name!r}; choose from {', '.join(experiments)}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be a positive number of steps, got {args.steps}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    return experiments[args.name][0](args)


if __name__ == "__main__":
    # Run the copy imported under its own name, so that the child processes can find _worker.
    from bnlib.reproduce import main as _main
    sys.exit(_main())
