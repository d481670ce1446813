"""The paper's MNIST experiment (Ioffe & Szegedy 2015, Sec. 4.1 and Fig. 1), and its seeds.

A 784-100-100-100-10 sigmoid network, small Gaussian initial weights, minibatches of 60, 50,000
steps, once without and once with BN after each hidden affine layer. The paper does not state
the optimizer, the learning rate or the initial standard deviation; `Fig1Config` holds our
choice, the same for both networks (the README says how it was made).

Commands: `fig1` (both networks, fig1.json and fig1.png) and `fig1_seeds` (the same for
several seeds, fig1_seeds.json).
"""
import concurrent.futures
import dataclasses
import math
import multiprocessing
import os
import queue
import time
from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..model import MLP
from ..train import progress_bar, train
from .common import experiment_data, rounded, seeds_of, write_json

# Test accuracy read from the paper's Fig. 1(a) (arXiv 1502.03167v3), at 5,000 and 50,000 steps.
PAPER_FIG1 = {"bn": {5000: 0.956, 50000: 0.982}, "plain": {5000: 0.787, 50000: 0.972}}
NETWORKS = {"plain": "without BN", "bn": "with BN"}
POPULATION_IMAGES = 6000    # 100 minibatches of 60 for Algorithm 2's population statistics
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MEDIAN_BOUND = 0.3          # "stays near 0": |median input| <= this, for `units_within`


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


def initial_model(use_bn, config):
    """The network of Fig. 1 for `config.seed`, and the generator of its minibatch order.

    One seed gives two independent streams (np.random.SeedSequence.spawn): the initial weights
    and the order of the minibatches. So for a given seed both networks start from the same
    weights and see the same minibatches, whatever the other settings.
    Returns (model, rng): an MLP with config.sizes and config.init_std, with BN if use_bn.
    """
    init_seed, batch_seed = np.random.SeedSequence(config.seed).spawn(2)
    model = MLP(config.sizes, use_bn=use_bn, init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    return model, np.random.default_rng(batch_seed)


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
    model, batch_rng = initial_model(use_bn, config)
    start = time.perf_counter()
    history = train(model, data, config.steps, config.lr, config.momentum, config.batch_size,
                    eval_every=record_steps(config.steps, config.eval_every),
                    rng=batch_rng, unit=config.unit,
                    progress=progress, on_record=on_record, population_x=population_x,
                    unit_medians=True)
    seconds = time.perf_counter() - start
    last_layer = np.array([p[-1] for p in history["percentiles"]])   # (records, 3)
    p15, p50, p85 = (rounded(column) for column in last_layer.T)
    return {"step": history["step"], "test_acc": history["test_acc"],
            "p15": p15, "p50": p50, "p85": p85,
            "p50_units": [rounded(medians, 4) for medians in history["unit_medians"]],
            "loss": [None if math.isnan(v) else round(float(v), 6) for v in history["loss"]],
            "grad_norms": [rounded(norms) for norms in history["grad_norms"]],
            "seconds": round(seconds, 3)}


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
    bar = progress_bar(len(workers) * config.steps, "fig1, both networks", progress)
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


def run_tasks(function, tasks, jobs=1, desc="runs", progress=None):
    """[function(task) for task in tasks], in `jobs` processes at once when jobs > 1.

    Inputs: function, a module-level function (child processes import it by name) taking one
    task; tasks, a list of picklable arguments; jobs: processes training at once (spawned, one
    BLAS thread each since they import bnlib; they load MNIST themselves); desc, progress: the
    progress bar (one tick per finished task; None: shown when a person is watching).
    Returns the results in the order of `tasks`. An error in a child is raised again here.
    """
    with progress_bar(len(tasks), desc, progress) as bar:
        if jobs <= 1:
            results = []
            for task in tasks:
                results.append(function(task))
                bar.update()
            return results
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {pool.submit(function, task): i for i, task in enumerate(tasks)}
            results = [None] * len(tasks)
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    return results


def fig1_findings(result):
    """What a Fig. 1 run shows, as named numbers (those its steps allow): {name: value}.

    - bn_final, plain_final, bn_minus_plain: test accuracy at the last step (when the run
      reached the paper's 50,000 steps);
    - lead_5000: BN's lead in test accuracy at 5,000 steps (when the run reached them);
    - bn_max_abs_median: the largest |median| over the run of the followed unit's input with BN;
    - bn_move, plain_move: how far its percentiles move (max - min over the run, largest of
      the 15th, 50th and 85th), with and without BN.
    """
    bn, plain = result["runs"]["bn"], result["runs"]["plain"]
    move = lambda run: max(max(p) - min(p) for p in (run["p15"], run["p50"], run["p85"]))
    found = {}
    if bn["step"][-1] >= 50000:
        found.update(bn_final=bn["test_acc"][-1], plain_final=plain["test_acc"][-1],
                     bn_minus_plain=bn["test_acc"][-1] - plain["test_acc"][-1])
    if 5000 in bn["step"]:
        at = bn["step"].index(5000)
        found["lead_5000"] = bn["test_acc"][at] - plain["test_acc"][at]
    found.update(bn_max_abs_median=max(abs(v) for v in bn["p50"]),
                 bn_move=move(bn), plain_move=move(plain))
    return {name: round(value, 4) for name, value in found.items()}


def units_within(run, bound=MEDIAN_BOUND):
    """(k, width): k of the `width` last-layer sigmoids keep |median input| <= bound all run."""
    largest = np.abs(np.array(run["p50_units"])).max(axis=0)    # (width,) over the records
    return int(np.sum(largest <= bound)), len(largest)


def fig1_table(result):
    """Text table: this run's test accuracies beside the paper's Fig. 1, then what it shows."""
    lines = [f"{'network':<11} {'step':>6} {'this run':>9} {'paper':>6}"]
    for name in ("bn", "plain"):
        run = result["runs"][name]
        for step in sorted({s for s in (5000, run["step"][-1]) if s in run["step"]}):
            paper = PAPER_FIG1[name].get(step)
            lines.append(f"{NETWORKS[name]:<11} {step:>6} {run['test_acc'][run['step'].index(step)]:>9.4f} "
                         f"{'-' if paper is None else f'{paper:.3f}':>6}")
    found = fig1_findings(result)
    unit = result["config"]["unit"]
    lines.append("")
    if "lead_5000" in found:
        lines.append(f"BN's lead at 5,000 steps: {found['lead_5000']:+.3f}")
    if "bn_minus_plain" in found:
        lines.append(f"BN's lead at the end:     {found['bn_minus_plain']:+.3f}")
    lines.append(f"unit {unit}'s input, largest move of a percentile: {found['bn_move']:.3f} "
                 f"with BN, {found['plain_move']:.3f} without")
    lines.append(f"last-layer sigmoids whose median input stays within ±{MEDIAN_BOUND} all run:")
    for name in ("bn", "plain"):
        k, width = units_within(result["runs"][name])
        lines.append(f"  {NETWORKS[name] + ':':<11} {k:>3} of {width}")
    seconds = {name: result["runs"][name]["seconds"] for name in ("plain", "bn")}
    lines.append(f"\ntime: {seconds['plain']:.1f} s without BN, {seconds['bn']:.1f} s with BN, "
                 f"{result['seconds']:.1f} s in all (jobs={result['jobs']})")
    return "\n".join(lines)


def save_fig1(result, out):
    """Write fig1.json and fig1.png (the three panels) into the folder `out`; return their paths."""
    from ..figures import common, training       # matplotlib is only needed here
    fig, _ = training.plot_fig1(result, paper=PAPER_FIG1)
    return (write_json(result, Path(out) / "fig1.json"),
            common.save_figure(fig, Path(out) / "fig1.png"))


def fig1_command(args):
    """`python -m bnlib.reproduce fig1`: train both networks, write fig1.json/png, print the table."""
    config = Fig1Config(steps=args.steps or Fig1Config.steps, seed=args.seed)
    data = experiment_data(args) if args.subset else None
    result = run_fig1(config, jobs=1 if args.subset else args.jobs, data=data)
    paths = save_fig1(result, args.out)
    print(fig1_table(result))
    print("wrote", *paths)
    return 0


def seed_summary(result):
    """One row of fig1_seeds: a fig1 result's accuracies, findings and typical-unit counts."""
    row = {"seed": result["config"]["seed"], "seconds": result["seconds"]}
    for name in NETWORKS:
        run = result["runs"][name]
        row[f"{name}_5000"] = run["test_acc"][run["step"].index(5000)] if 5000 in run["step"] else None
        row[f"{name}_final"] = run["test_acc"][-1]
        row[f"{name}_units_within"] = units_within(run)[0]
    row["findings"] = fig1_findings(result)
    return row


def seeds_table(rows):
    """Text table of fig1_seeds: one line per seed."""
    number = lambda v, width: f"{'-' if v is None else f'{v:.4f}':>{width}}"
    lines = [f"{'seed':>4} {'BN 5k':>7} {'plain 5k':>8} {'BN end':>7} {'plain end':>9} "
             f"{'BN |median|':>11} {'plain move':>10} {'BN units':>8} {'plain units':>11}"]
    for row in rows:
        found = row["findings"]
        lines.append(f"{row['seed']:>4} {number(row['bn_5000'], 7)} {number(row['plain_5000'], 8)} "
                     f"{number(row['bn_final'], 7)} {number(row['plain_final'], 9)} "
                     f"{found['bn_max_abs_median']:>11.3f} {found['plain_move']:>10.3f} "
                     f"{row['bn_units_within']:>8} {row['plain_units_within']:>11}")
    lines.append(f"(BN |median|: the largest |median| of unit 0's input with BN; plain move: how "
                 f"far its percentiles move without BN;\n units: how many of the 100 last-layer "
                 f"sigmoids keep their median input within ±{MEDIAN_BOUND} all run)")
    return "\n".join(lines)


def fig1_seeds_command(args):
    """`python -m bnlib.reproduce fig1_seeds`: fig1 once per seed; fig1_seeds.json and a table."""
    rows = []
    data = experiment_data(args) if args.subset else None
    for seed in seeds_of(args, default=5):
        print(f"seed {seed}", flush=True)
        config = Fig1Config(steps=args.steps or Fig1Config.steps, seed=seed)
        rows.append(seed_summary(run_fig1(config, jobs=1 if args.subset else args.jobs,
                                          data=data)))
    config = {**dataclasses.asdict(Fig1Config(steps=args.steps or Fig1Config.steps)),
              "seeds": list(seeds_of(args, default=5))}
    config.pop("seed")
    path = write_json({"config": config, "rows": rows}, Path(args.out) / "fig1_seeds.json")
    print(seeds_table(rows))
    print("wrote", path)
    return 0


COMMANDS = {
    "fig1": (fig1_command, "MNIST, 784-100-100-100-10 sigmoid MLP without and with BN: test "
                           "accuracy and a last-layer sigmoid's input over training (Ioffe & "
                           "Szegedy 2015, Fig. 1)"),
    "fig1_seeds": (fig1_seeds_command, "fig1 once per seed (--seeds of them, from --seed): how "
                                       "much its numbers depend on the seed"),
}
