"""The networks of Fig. 1 over learning rates x initial weight scales, and what happens inside
them at a large learning rate (notebook 06).

`lr_init_sweep`: each cell of the grid trains both networks (without and with BN) from the
same start for a fixed number of steps and records the final test accuracy, or "diverged"
when the loss or a batch statistic stopped being finite (bnlib.train.TrainingDiverged).
Command: `sweep`.

`large_lr_probe`: at one large learning rate (10), for each initial scale, trains the network
without BN, with BN, and with BN whose hidden weight matrices are scaled back to their initial
norm after every step ("BN, norms held": with BN before the sigmoid this changes nothing the
network computes, BN(aWu) = BN(Wu), only the size of later steps relative to W). During
training it records, on each minibatch, per layer: the growth of the weight norms, the share
of saturated sigmoid inputs (|z| > 4, where the sigmoid's slope is below 0.018, against 0.25
at 0), BN's gain gamma / sigma_B (the factor BN's backward applies to the gradient of the
normalised unit, median over the units) and the relative size of the update |dW| / |W|.
Command: `large_lr`.
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..model import SGD
from ..train import (TrainingDiverged, evaluate, minibatches, population_statistics,
                     progress_bar, train_step)
from .common import experiment_data, rounded, seeds_of, write_json
from .fig1 import NETWORKS, POPULATION_IMAGES, Fig1Config, initial_model, run_network, run_tasks


def lr_init_sweep(lrs, init_stds, steps, data=None, seed=0, progress=None):
    """Final test accuracy of both networks of Fig. 1 for every (lr, init_std) pair.

    Inputs: lrs and init_stds, sequences of numbers; steps per training run; data as
    `load_mnist` returns it (None: load it); seed; progress: show a bar (None: if watched).
    Returns {"lr", "init_std", "steps", "plain", "bn"}, where result[name][i][j] is the test
    accuracy after `steps` steps with init_stds[i] and lrs[j] (None if the loss diverged).
    """
    data = experiment_data() if data is None else data
    result = {"lr": list(lrs), "init_std": list(init_stds), "steps": steps, "seed": seed}
    with progress_bar(2 * len(lrs) * len(init_stds), "sweep", progress) as bar:
        for name in NETWORKS:
            result[name] = [[_final_accuracy(name == "bn", Fig1Config(
                steps, lr, init_std=std, eval_every=steps, seed=seed), data, bar)
                for lr in lrs] for std in init_stds]
    return result


def _final_accuracy(use_bn, config, data, bar):
    """Test accuracy at the end of one run, or None if its loss stopped being finite."""
    try:
        accuracy = run_network(use_bn, config, data, progress=False)["test_acc"][-1]
    except TrainingDiverged:
        accuracy = None
    bar.update()
    return accuracy


SWEEP_LRS, SWEEP_INIT_STDS = (0.1, 1.0, 10.0), (0.01, 0.1, 1.0)


def sweep_command(args):
    """`python -m bnlib.reproduce sweep`: write sweep.json and sweep.png, print the accuracies."""
    from ..figures import common, training       # matplotlib is only needed here
    steps = args.steps or 2000
    result = lr_init_sweep(SWEEP_LRS, SWEEP_INIT_STDS, steps, data=experiment_data(args),
                           seed=args.seed)
    config = {**dataclasses.asdict(Fig1Config(steps=steps, seed=args.seed)),
              "lrs": list(SWEEP_LRS), "init_stds": list(SWEEP_INIT_STDS)}
    out = Path(args.out)
    write_json({"config": config, **result}, out / "sweep.json")
    common.save_figure(training.plot_sweep(result)[0], out / "sweep.png")
    print(f"test accuracy after {result['steps']} steps (rows: initial std; columns: lr "
          f"{', '.join(f'{lr:g}' for lr in result['lr'])})")
    for name in NETWORKS:
        for std, row in zip(result["init_std"], result[name]):
            cells = "  ".join("div." if a is None else f"{a:.3f}" for a in row)
            print(f"{NETWORKS[name]:<11} std {std:<5g} {cells}")
    print("wrote", out / "sweep.json", out / "sweep.png")
    return 0


PROBE_VARIANTS = {"plain": "without BN", "bn": "with BN", "bn_held": "BN, norms held"}


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    """Settings of `large_lr_probe`: the Fig. 1 networks at learning rate `lr`, from each
    initial std of `init_stds`, `steps` steps per run, recorded at each of the first `every`
    steps and then every `every` steps; a
    sigmoid input counts as saturated when |z| > `saturated` (slope below 0.018)."""

    lr: float = 10.0
    init_stds: tuple = (0.01, 0.1, 1.0)
    steps: int = 400
    every: int = 25
    seeds: tuple = (0, 1, 2)
    variants: tuple = tuple(PROBE_VARIANTS)
    saturated: float = 4.0


def saturated_share(z, bound):
    """The share of the sigmoid inputs z (N, width) with |z| > bound."""
    return float(np.mean(np.abs(z) > bound))


def stuck_share(z, bound):
    """The share of units (columns of z, (N, width)) saturated on the same side for all N
    rows: z > bound for every row, or z < -bound for every row."""
    return float(np.mean(np.all(z > bound, axis=0) | np.all(z < -bound, axis=0)))


def _norms(model):
    """|W_k| of every weight matrix, hidden layers then the output layer."""
    return [float(np.linalg.norm(model.params[f"W{k}"])) for k in range(1, model.n_hidden + 2)]


def probe_run(task):
    """One run of `large_lr_probe`. task: {"variant" (a PROBE_VARIANTS key), "init_std",
    "seed", "config": ProbeConfig, "data": MNIST (None: loaded here)}.

    Records at every step up to `every`, then every `every` steps (the first steps are where
    things happen at this learning rate), on that step's minibatch, before its update:
    "growth" |W_k| / |W_k at step 0| for every weight matrix; "saturated", per hidden layer
    the share of its 60 x width sigmoid inputs with |z| > config.saturated; "stuck", per hidden
    layer the share of units saturated on the same side for every image of the minibatch (their
    output barely depends on the image, and almost no gradient passes); "gain", per hidden
    layer the median over units of gamma / sqrt(sigma_B^2 + eps) (BN only); "relative_step",
    |update of W_k| / |W_k| of that step; "loss". Returns them as lists over the records, with
    "step", "growth_end" (after the last step), "test_acc" at the end (Algorithm 2's
    statistics with BN), "diverged_at" (None or the step) and "seconds".
    """
    config, variant = task["config"], task["variant"]
    data = task["data"] if task["data"] is not None else load_mnist()
    x_train, y_train, x_test, y_test = data
    fig1 = Fig1Config(steps=config.steps, lr=config.lr, init_std=task["init_std"],
                      seed=task["seed"])
    model, batch_rng = initial_model(variant != "plain", fig1)
    optimizer = SGD(model.flat_params, model.flat_grads, config.lr)
    batches, start = minibatches(len(x_train), fig1.batch_size, batch_rng), time.perf_counter()
    initial = _norms(model)
    record_at = {*range(1, config.every), *range(config.every, config.steps + 1, config.every)}
    run = {key: [] for key in ("step", "growth", "saturated", "stuck", "gain", "relative_step",
                               "loss")}
    run["diverged_at"] = None
    for step in range(1, config.steps + 1):
        idx = next(batches)                                           # (batch_size,)
        if step in record_at:
            before = [model.params[f"W{k}"].copy() for k in range(1, model.n_hidden + 2)]
            gammas = [bn.gamma.copy() for bn in model.bns]
        try:
            loss = train_step(model, optimizer, x_train[idx], y_train[idx], step)
        except TrainingDiverged as diverged:
            run["diverged_at"] = diverged.step
            break
        if step in record_at:
            _record_probe(run, model, step, loss, before, gammas, initial, config)
        if variant == "bn_held":                      # back to the initial norms: same
            for k in range(1, model.n_hidden + 1):    # function (BN), smaller later steps
                model.params[f"W{k}"] *= initial[k - 1] / np.linalg.norm(model.params[f"W{k}"])
    with population_statistics(model, x_train[:POPULATION_IMAGES] if model.use_bn else None):
        accuracy, _ = evaluate(model, x_test, y_test)
    run.update(growth_end=rounded(np.divide(_norms(model), initial), 4), test_acc=accuracy,
               seconds=round(time.perf_counter() - start, 2))
    return run


def _record_probe(run, model, step, loss, before, gammas, initial, config):
    """Append one record of `probe_run` (see there)."""
    norms = [float(np.linalg.norm(w)) for w in before]
    run["step"].append(step)
    run["growth"].append(rounded(np.divide(norms, initial), 4))
    run["saturated"].append(rounded([saturated_share(z, config.saturated)
                                     for z in model.pre_activations], 4))
    run["stuck"].append(rounded([stuck_share(z, config.saturated)
                                 for z in model.pre_activations], 4))
    run["gain"].append(rounded([np.median(g * bn._cache.inv_std)         # this step's sigma_B
                                for g, bn in zip(gammas, model.bns)], 4))
    run["relative_step"].append(rounded(
        [np.linalg.norm(model.params[f"W{k}"] - w) / n
         for k, (w, n) in enumerate(zip(before, norms), start=1)], 4))
    run["loss"].append(round(float(loss), 5))


def large_lr_probe(config=ProbeConfig(), data=None, jobs=1, progress=None):
    """Every variant x initial std x seed of `config` (see `probe_run`).

    Inputs: config, a ProbeConfig; data: MNIST as load_mnist gives it (None: loaded, in each
    process); jobs: processes at once (data must then be None); progress: the bar.
    Returns {"config", "runs": {variant: {init_std as str: [run per seed]}}, "summary"
    (see `probe_summary`), "seconds", "jobs"}.
    """
    if data is not None and jobs > 1:
        raise ValueError("with jobs > 1 the workers load MNIST themselves: pass data=None")
    start = time.perf_counter()
    tasks = [{"variant": v, "init_std": std, "seed": seed, "config": config, "data": data}
             for v in config.variants for std in config.init_stds for seed in config.seeds]
    done = run_tasks(probe_run, tasks, jobs, f"lr {config.lr:g}, inside the networks", progress)
    runs = {v: {f"{std:g}": [] for std in config.init_stds} for v in config.variants}
    for task, run in zip(tasks, done):
        runs[task["variant"]][f"{task['init_std']:g}"].append(run)
    result = {"config": dataclasses.asdict(config), "runs": runs}
    result["summary"] = probe_summary(result)
    result.update(seconds=round(time.perf_counter() - start, 1), jobs=jobs)
    return result


def probe_summary(result):
    """Per variant and initial std, over the seeds: test accuracy (mean, min, max); at the
    end, the growth of each weight matrix (mean); at the last record, the saturated share, the
    stuck share and BN's gain per hidden layer (means); the relative step of each weight
    matrix at the first and the last record (means); the largest saturated share of each hidden layer over
    the run (mean over seeds); the step of the first record at which more than 99% of the
    last hidden layer's units are stuck (per seed; None if never)."""
    summary = {}
    for variant, by_std in result["runs"].items():
        summary[variant] = {}
        for std, runs in by_std.items():
            mean = lambda rows: rounded(np.mean(rows, axis=0), 4)
            accs = [run["test_acc"] for run in runs]
            summary[variant][std] = {
                "test_acc": rounded([np.mean(accs), min(accs), max(accs)], 4),
                "growth_end": mean([run["growth_end"] for run in runs]),
                "saturated_end": mean([run["saturated"][-1] for run in runs]),
                "saturated_max": mean([np.max(run["saturated"], axis=0) for run in runs]),
                "stuck_end": mean([run["stuck"][-1] for run in runs]),
                "relative_step_start": mean([run["relative_step"][0] for run in runs]),
                "gain_start": mean([run["gain"][0] for run in runs]) if variant != "plain"
                else None,
                "gain_end": mean([run["gain"][-1] for run in runs]) if variant != "plain"
                else None,
                "relative_step_end": mean([run["relative_step"][-1] for run in runs]),
                "last_layer_stuck_at": [next((s for s, k in zip(run["step"], run["stuck"])
                                              if k[-1] > 0.99), None) for run in runs]}
    return summary


def probe_table(result):
    """Text table of `large_lr_probe`: one line per variant and initial std."""
    config, summary = result["config"], result["summary"]
    fmt = lambda values: "/".join(f"{v:.2f}" if v < 10 else f"{v:.0f}" for v in values)
    lines = [f"lr {config['lr']:g}, {config['steps']} steps, seeds {list(config['seeds'])} "
             f"(means; layers 1/2/3 for z and gain, W1/W2/W3/W4 for growth)",
             f"{'variant':<15} {'init':>5} {'test acc':>8} {'|W| growth':>18} "
             f"{'|z|>4 at end':>15} {'stuck at end':>15} {'gain start':>15} {'gain end':>15}"]
    for variant, by_std in summary.items():
        for std, row in by_std.items():
            gain = lambda key: "-" if row[key] is None else fmt(row[key])
            lines.append(f"{PROBE_VARIANTS[variant]:<15} {std:>5} {row['test_acc'][0]:>8.3f} "
                         f"{fmt(row['growth_end']):>18} {fmt(row['saturated_end']):>15} "
                         f"{fmt(row['stuck_end']):>15} {gain('gain_start'):>15} "
                         f"{gain('gain_end'):>15}")
    lines.append(f"\ntime: {result['seconds']:.0f} s (jobs={result['jobs']})")
    return "\n".join(lines)


def large_lr_command(args):
    """`python -m bnlib.reproduce large_lr`: write large_lr.json and large_lr.png, print the
    table."""
    from ..figures import common, training       # matplotlib is only needed here
    config = ProbeConfig(steps=args.steps or ProbeConfig.steps,
                         seeds=seeds_of(args, default=5))
    data = experiment_data(args) if args.subset else None
    result = large_lr_probe(config, data=data, jobs=1 if args.subset else args.jobs)
    out = Path(args.out)
    paths = (write_json(result, out / "large_lr.json"),
             common.save_figure(training.plot_large_lr(result)[0], out / "large_lr.png"))
    print(probe_table(result))
    print("wrote", *paths)
    return 0


COMMANDS = {"sweep": (sweep_command, "the networks of fig1 over learning rates x initial weight "
                                     "scales (Ioffe & Szegedy 2015, Sec. 3.3)"),
            "large_lr": (large_lr_command, "inside the fig1 networks at learning rate 10: weight "
                                           "norms, saturated sigmoids, BN's gain gamma/sigma_B")}
