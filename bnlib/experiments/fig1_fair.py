"""Fig. 1 made fair: each network at its own best learning rate (notebook 06).

`Fig1Config` gives both networks lr 0.1 and initial std 0.05, the setting whose network
*without* BN came closest to the paper's plain curve. That network then sits on a plateau for
thousands of steps, so BN's early lead partly measures the setting. Here each network gets
the learning rate that suits it, chosen as one would in practice, never on the test set:

1. grid: both networks at every lr of `FairConfig.lrs` (initial std 0.05 as in Fig1Config),
   trained on the first 50,000 training images and scored on the last 10,000 (the validation
   split), seed `grid_seed`. Each network's chosen lr has the highest validation accuracy
   averaged over the records of the last tenth of training (one record alone is noisy).
2. seeds: each network at its chosen lr and, for reference, both at the paper-matching lr 0.1,
   trained on all 60,000 training images once per seed, scored on the test set every 100
   steps up to 5,000 and every 500 after. Reported per seed: the first recorded step at which
   the test accuracy reaches 0.95 and 0.97, and the final test accuracy.

Everything else is Fig1Config's: plain SGD, batches of 60, BN evaluated with Algorithm 2's
population statistics, seeding as `fig1.initial_model` (both networks of a seed start from
the same weights and see the same minibatches). Command: `fig1_fair`.
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..train import TrainingDiverged, train
from .common import experiment_data, rounded, seeds_of, write_json
from .fig1 import NETWORKS, POPULATION_IMAGES, Fig1Config, initial_model, run_tasks

SETTINGS = {"paper": "paper's setting (lr 0.1 for both)", "fair": "each at its chosen lr"}


@dataclasses.dataclass(frozen=True)
class FairConfig:
    """Settings of the fair comparison (see the module's docstring for the protocol).

    lrs: the grid, two decades around the plain network's useful range in steps of about
    x3 (0.1 is Fig1Config's; at 10 the plain network stalls in notebook 06's sweep), so a
    best value at an edge of the grid would show. init_std: Fig1Config's, held fixed so that
    only the learning rate changes. validation: training images held out (the last ones) for
    the choice. tail: the share of the run, at its end, over which validation accuracy is
    averaged for the choice. dense_until, dense_every, sparse_every: when the accuracy is
    recorded (finely early, where the thresholds are crossed). thresholds: the test
    accuracies whose first crossing is reported.
    """

    lrs: tuple = (0.1, 0.3, 1.0, 3.0, 10.0)
    init_std: float = 0.05
    steps: int = 50_000
    seeds: tuple = (0, 1, 2)
    grid_seed: int = 0
    validation: int = 10_000
    tail: float = 0.1
    dense_until: int = 5000
    dense_every: int = 100
    sparse_every: int = 500
    thresholds: tuple = (0.95, 0.97)
    reference_lr: float = Fig1Config.lr


def schedule(config):
    """Steps at which a run is scored: every dense_every up to dense_until, then every
    sparse_every, and the last step."""
    dense = range(0, min(config.steps, config.dense_until) + 1, config.dense_every)
    sparse = range(config.dense_until, config.steps + 1, config.sparse_every)
    return sorted({*dense, *sparse, config.steps})


def validation_split(data, held_out):
    """(x_fit, y_fit, x_val, y_val): the last `held_out` training images become the
    validation set (at most a sixth of them, for small test slices); the test set is unused."""
    x_train, y_train = data[0], data[1]
    n_val = min(held_out, len(x_train) // 6)
    cut = len(x_train) - n_val
    return x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]


def _mnist(subset):
    """MNIST in a worker: all of it, or the first `subset` training and test images."""
    data = load_mnist()
    return data if not subset else tuple(array[:subset] for array in data)


def train_run(task):
    """Train one network of a task; return its record.

    task: {"bn": bool, "lr", "seed", "split": "validation" or "test", "config": FairConfig,
    "data": MNIST as load_mnist gives it (None: loaded here), "subset": its size if sliced}.
    Returns {"step", "accuracy" (on the split's held-out images), "p15", "p50", "p85" (unit 0
    of the last hidden layer, as Fig. 1(b, c)), "seconds", "diverged_at" (None, or the step
    at which the loss stopped being finite; the lists then stop before it)}.
    """
    config = task["config"]
    data = task["data"] if task["data"] is not None else _mnist(task["subset"])
    if task["split"] == "validation":
        data = validation_split(data, config.validation)
    fig1 = Fig1Config(steps=config.steps, lr=task["lr"], init_std=config.init_std,
                      seed=task["seed"])
    model, batch_rng = initial_model(task["bn"], fig1)
    start, record = time.perf_counter(), {"diverged_at": None}

    def keep(history):        # called after each record: what is kept if the run diverges
        record["history"] = history

    try:
        train(model, data, config.steps, task["lr"], batch_size=fig1.batch_size,
              eval_every=schedule(config), rng=batch_rng, progress=False, on_record=keep,
              population_x=data[0][:POPULATION_IMAGES])
    except TrainingDiverged as diverged:
        record["diverged_at"] = diverged.step
    history = record.pop("history")
    last_layer = np.array([p[-1] for p in history["percentiles"]])      # (records, 3)
    p15, p50, p85 = (rounded(column, 4) for column in last_layer.T)
    return {"step": history["step"], "accuracy": rounded(history["test_acc"], 5),
            "p15": p15, "p50": p50, "p85": p85,
            "seconds": round(time.perf_counter() - start, 2), **record}


def validation_score(run, config):
    """Mean validation accuracy over the records of the last `config.tail` of the steps
    (None for a run that diverged)."""
    if run["diverged_at"] is not None:
        return None
    start = config.steps * (1 - config.tail)
    return float(np.mean([a for s, a in zip(run["step"], run["accuracy"]) if s >= start]))


def choose_lr(scores):
    """The lr with the highest score, from {lr: score or None}; None if every run diverged."""
    finite = {lr: score for lr, score in scores.items() if score is not None}
    return max(finite, key=finite.get) if finite else None


def steps_to(run, threshold):
    """The first recorded step at which the accuracy reaches `threshold`, or None."""
    return next((s for s, a in zip(run["step"], run["accuracy"]) if a >= threshold), None)


def _task(bn, lr, seed, split, config, data, subset):
    return {"bn": bn, "lr": lr, "seed": seed, "split": split, "config": config,
            "data": data, "subset": subset}


def run_fig1_fair(config=FairConfig(), data=None, subset=None, jobs=1, progress=None):
    """The grid on the validation split, the choice, then every seed at the chosen and the
    paper's learning rates (see the module's docstring).

    Inputs: config, a FairConfig; data: MNIST as load_mnist gives it (None: loaded, in each
    process); subset: slice of MNIST the workers load (with data=None); jobs: processes at
    once (data must then be None); progress: show a bar (None: when a person is watching).
    Returns {"config", "grid": {name: {lr: run}}, "scores": {name: {lr: validation score}},
    "chosen": {name: lr}, "runs": {"paper" | "fair": {name: [run per seed]}},
    "summary" (see `fair_summary`), "seconds", "jobs"}; lrs are written as strings ("0.3").
    """
    if data is not None and jobs > 1:
        raise ValueError("with jobs > 1 the workers load MNIST themselves: pass data=None")
    start = time.perf_counter()
    grid_tasks = [_task(name == "bn", lr, config.grid_seed, "validation", config, data, subset)
                  for name in NETWORKS for lr in config.lrs]
    paper_tasks = [_task(name == "bn", config.reference_lr, seed, "test", config, data, subset)
                   for name in NETWORKS for seed in config.seeds]
    done = run_tasks(train_run, grid_tasks + paper_tasks, jobs, "fig1_fair: grid", progress)
    grid = {name: {} for name in NETWORKS}
    runs = {"paper": {name: [] for name in NETWORKS}, "fair": {name: [] for name in NETWORKS}}
    for task, run in zip(grid_tasks + paper_tasks, done):
        name = "bn" if task["bn"] else "plain"
        if task["split"] == "validation":
            grid[name][f"{task['lr']:g}"] = run
        else:
            runs["paper"][name].append(run)
    scores = {name: {lr: validation_score(run, config) for lr, run in grid[name].items()}
              for name in NETWORKS}
    chosen = {name: float(choose_lr(scores[name])) for name in NETWORKS}
    fair_tasks = [_task(name == "bn", chosen[name], seed, "test", config, data, subset)
                  for name in NETWORKS for seed in config.seeds
                  if chosen[name] != config.reference_lr]
    fair_done = iter(run_tasks(train_run, fair_tasks, jobs, "fig1_fair: chosen lr", progress))
    for name in NETWORKS:         # a network whose chosen lr is 0.1 reuses the paper's runs
        runs["fair"][name] = (list(runs["paper"][name]) if chosen[name] == config.reference_lr
                              else [next(fair_done) for _ in config.seeds])
    result = {"config": {**dataclasses.asdict(config), "subset": subset},
              "grid": grid, "scores": {n: {lr: None if v is None else round(v, 5)
                                          for lr, v in s.items()} for n, s in scores.items()},
              "chosen": chosen, "runs": runs}
    result["summary"] = fair_summary(result)
    result.update(seconds=round(time.perf_counter() - start, 1), jobs=jobs)
    return result


def _spread_growth(run):
    """How many times the 15th-85th percentile spread of unit 0's input grew over the run."""
    first, last = run["p85"][0] - run["p15"][0], run["p85"][-1] - run["p15"][-1]
    return last / first if first > 0 else None


def fair_summary(result):
    """What the notebook quotes, per setting ("paper", "fair") and network: the lr; per seed
    the steps to each threshold (None: never reached), the test accuracy at 5,000 steps (if
    recorded) and at the end, the growth of unit 0's input spread; and the means."""
    config, summary = result["config"], {}
    for setting, by_name in result["runs"].items():
        summary[setting] = {}
        for name, seed_runs in by_name.items():
            row = {"lr": config["reference_lr"] if setting == "paper" else result["chosen"][name]}
            for threshold in config["thresholds"]:
                row[f"steps_to_{threshold:g}"] = [steps_to(r, threshold) for r in seed_runs]
            row["acc_5000"] = [r["accuracy"][r["step"].index(5000)] if 5000 in r["step"]
                               else None for r in seed_runs]
            row["final"] = [r["accuracy"][-1] for r in seed_runs]
            row["final_mean"] = round(float(np.mean(row["final"])), 5)
            row["spread_growth"] = [None if g is None else round(g, 2)
                                    for g in map(_spread_growth, seed_runs)]
            summary[setting][name] = row
    return summary


def fair_table(result):
    """Text table: the grid's validation scores, the choice, then both settings over seeds."""
    config, summary = result["config"], result["summary"]
    lrs = list(result["scores"]["plain"])
    lines = [f"validation accuracy (mean over the last {config['tail']:.0%} of "
             f"{config['steps']} steps, seed {config['grid_seed']}); lr: "
             + "  ".join(f"{lr:>6}" for lr in lrs)]
    for name in NETWORKS:
        cells = "  ".join(f"{'div.':>6}" if v is None else f"{v:>6.4f}"
                          for v in result["scores"][name].values())
        lines.append(f"  {NETWORKS[name]:<11} {cells}   chosen lr {result['chosen'][name]:g}")
    show = lambda values: " ".join("-" if v is None else f"{v}" for v in values)
    lines.append(f"\ntest set, seeds {list(config['seeds'])}: steps to first reach "
                 + " / ".join(f"{t:g}" for t in config["thresholds"]) + ", final accuracy")
    for setting in ("paper", "fair"):
        for name in NETWORKS:
            row = summary[setting][name]
            steps = "  ".join(f"to {t:g}: {show(row[f'steps_to_{t:g}']):<18}"
                              for t in config["thresholds"])
            lines.append(f"  {setting:<5} {NETWORKS[name]:<11} lr {row['lr']:<4g} {steps} "
                         f"final {show(f'{a:.4f}' for a in row['final'])} "
                         f"(mean {row['final_mean']:.4f})")
    lines.append(f"\ntime: {result['seconds']:.0f} s (jobs={result['jobs']})")
    return "\n".join(lines)


def fig1_fair_command(args):
    """`python -m bnlib.reproduce fig1_fair`: the grid, the choice and the seeds; writes
    fig1_fair.json and fig1_fair.png, prints the table."""
    from ..figures import common, training       # matplotlib is only needed here
    config = FairConfig(steps=args.steps or FairConfig.steps,
                        seeds=seeds_of(args),
                        grid_seed=args.seed)
    data = experiment_data(args) if args.subset else None
    result = run_fig1_fair(config, data=data, subset=args.subset,
                           jobs=1 if args.subset else args.jobs)
    out = Path(args.out)
    paths = (write_json(result, out / "fig1_fair.json"),
             common.save_figure(training.plot_fig1_fair(result)[0], out / "fig1_fair.png"))
    print(fair_table(result))
    print("wrote", *paths)
    return 0


COMMANDS = {"fig1_fair": (fig1_fair_command, "fig1 with each network at its own best learning "
                                             "rate, chosen on a validation split; seeds")}
