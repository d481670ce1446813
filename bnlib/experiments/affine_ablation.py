"""Do BN's learned gamma and beta matter? An ablation on the network of Fig. 1 (notebook 06).

BN normalises each unit's input to mean 0 and variance 1 over the batch, then applies a
learned scale gamma and shift beta, "to make sure that the transformation inserted in the
network can represent the identity transform" (Ioffe & Szegedy 2015, Sec. 3). Here the
network with BN of Fig. 1 is trained twice per seed, from the same weights on the same
minibatches: with gamma and beta learned (the usual), and with them frozen at their initial
1 and 0, so that each sigmoid sees exactly the normalised x_hat. Frozen means an SGD that
never moves them (`FrozenAffineSGD`); everything else is Fig1Config's (init std 0.05, batches
of 60, Algorithm 2's statistics for the test accuracy), at two learning rates: Fig1Config's
0.1 and 1, the one `fig1_fair` chose for the network with BN on its validation split.

Recorded: test accuracy over training, the minibatch loss averaged between records, and, at
the end, every unit's gamma and beta with the population mean mu and standard deviation
sigma of its input, to see where the learned values go: if BN were undone, gamma would
approach sigma and beta mu. Command: `affine_ablation`.
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..model import SGD
from ..train import TrainingDiverged, evaluate, minibatches, population_statistics, train_step
from .common import experiment_data, rounded, seeds_of, write_json
from .fig1 import POPULATION_IMAGES, Fig1Config, initial_model, record_steps, run_tasks

VARIANTS = {"learned": "gamma, beta learned", "frozen": "gamma = 1, beta = 0 frozen"}
PERCENTILES = (5, 25, 50, 75, 95)


@dataclasses.dataclass(frozen=True)
class AffineConfig:
    """Settings of the ablation: Fig1Config's network and training, `steps` per run, one run
    per learning rate of `lrs`, variant and seed, test accuracy recorded every `eval_every`
    steps (and at 5,000)."""

    steps: int = 50_000
    lrs: tuple = (Fig1Config.lr, 1.0)
    init_std: float = Fig1Config.init_std
    seeds: tuple = (0, 1, 2)
    eval_every: int = 1000


class FrozenAffineSGD(SGD):
    """Plain SGD over all of an MLP's parameters except BN's gamma and beta, which stay put.

    Before each update the gradient entries of every gamma_k and beta_k (found with
    `model.param_slices`) are set to 0, so the one vectorised update leaves them unchanged.
    """

    def __init__(self, model, lr, momentum=0.0):
        super().__init__(model.flat_params, model.flat_grads, lr, momentum)
        self.frozen = [model.param_slices[f"{kind}{k}"] for k in range(1, model.n_hidden + 1)
                       for kind in ("gamma", "beta") if f"{kind}{k}" in model.param_slices]

    def step(self):
        for where in self.frozen:
            self.grads["all"][where] = 0.0
        super().step()


def unit_statistics(model, x):
    """Per hidden layer, every unit's gamma, beta and the population mean mu and standard
    deviation sigma of its BN input on the training images `x` (Algorithm 2's statistics).
    Returns [{"gamma", "beta", "mu", "sigma"}, ...], one dict of lists per hidden layer."""
    layers = []
    with population_statistics(model, x):
        for bn in model.bns:
            layers.append({"gamma": rounded(bn.gamma, 4), "beta": rounded(bn.beta, 4),
                           "mu": rounded(bn.running_mean, 4),
                           "sigma": rounded(np.sqrt(bn.running_var + bn.eps), 4)})
    return layers


def run_variant(task):
    """One run of the ablation. task: {"variant": "learned" or "frozen", "lr", "seed", "config":
    AffineConfig, "data": MNIST (None: loaded here), "subset": its size if sliced}.

    Returns {"step", "test_acc", "train_loss" (mean minibatch loss of the steps since the
    previous record; None at step 0), "units" (see `unit_statistics`), "seconds",
    "diverged_at" (None, or the step whose loss stopped being finite)}.
    """
    config = task["config"]
    data = task["data"] if task["data"] is not None else _mnist(task["subset"])
    x_train, y_train, x_test, y_test = data
    population_x = x_train[:POPULATION_IMAGES]
    fig1 = Fig1Config(steps=config.steps, lr=task["lr"], init_std=config.init_std,
                      seed=task["seed"])
    model, batch_rng = initial_model(True, fig1)
    optimizer = (FrozenAffineSGD(model, fig1.lr) if task["variant"] == "frozen"
                 else SGD(model.flat_params, model.flat_grads, fig1.lr))
    batches, record_at = minibatches(len(x_train), fig1.batch_size, batch_rng), \
        set(record_steps(config.steps, config.eval_every))
    run = {"step": [], "test_acc": [], "train_loss": [], "diverged_at": None}
    losses, start = [], time.perf_counter()
    for step in range(config.steps + 1):
        if step in record_at:
            with population_statistics(model, population_x):
                accuracy, _ = evaluate(model, x_test, y_test)
            run["step"].append(step)
            run["test_acc"].append(accuracy)
            run["train_loss"].append(round(float(np.mean(losses)), 5) if losses else None)
            losses = []
        if step == config.steps:
            break
        idx = next(batches)                                          # (batch_size,)
        try:
            losses.append(train_step(model, optimizer, x_train[idx], y_train[idx], step + 1))
        except TrainingDiverged as diverged:
            run["diverged_at"] = diverged.step
            break
    run.update(units=unit_statistics(model, population_x),
               seconds=round(time.perf_counter() - start, 2))
    return run


def _mnist(subset):
    """MNIST in a worker: all of it, or the first `subset` training and test images."""
    data = load_mnist()
    return data if not subset else tuple(array[:subset] for array in data)


def run_affine_ablation(config=AffineConfig(), data=None, subset=None, jobs=1, progress=None):
    """Both variants for every learning rate and seed. Inputs as `fig1_fair.run_fig1_fair`.
    Returns {"config", "runs": {lr as str: {variant: [run per seed]}}, "summary": {lr as str:
    see `affine_summary`}, "seconds", "jobs"}."""
    if data is not None and jobs > 1:
        raise ValueError("with jobs > 1 the workers load MNIST themselves: pass data=None")
    start = time.perf_counter()
    tasks = [{"variant": variant, "lr": lr, "seed": seed, "config": config, "data": data,
              "subset": subset} for lr in config.lrs for seed in config.seeds
             for variant in VARIANTS]
    done = run_tasks(run_variant, tasks, jobs, "affine_ablation", progress)
    runs = {f"{lr:g}": {variant: [run for task, run in zip(tasks, done)
                                  if task["variant"] == variant and task["lr"] == lr]
                        for variant in VARIANTS} for lr in config.lrs}
    result = {"config": {**dataclasses.asdict(config), "subset": subset}, "runs": runs,
              "summary": {lr: affine_summary(by_variant) for lr, by_variant in runs.items()}}
    result.update(seconds=round(time.perf_counter() - start, 1), jobs=jobs)
    return result


def _at(run, step):
    """The test accuracy recorded at `step`, or None."""
    return run["test_acc"][run["step"].index(step)] if step in run["step"] else None


NEAR = 0.25     # "near the identity": gamma within 25% of sigma and beta within 0.25 sigma of mu


def layer_distribution(runs, layer):
    """Where the learned gamma and beta of hidden layer `layer` (0-based) end, pooled over the
    runs' units: their percentiles (PERCENTILES), the share of units with gamma > 1 and with
    |beta| > 1, the median gain gamma / sigma (sigma, mu: the std and mean of the unit's BN
    input), and the share of units near undoing BN (gamma = sigma and beta = mu would give
    back the input itself): |gamma / sigma - 1| < NEAR and |beta - mu| < NEAR * sigma."""
    pick = lambda key: np.concatenate([run["units"][layer][key] for run in runs])
    gamma, beta, sigma, mu = pick("gamma"), pick("beta"), pick("sigma"), pick("mu")
    near = (np.abs(gamma / sigma - 1) < NEAR) & (np.abs(beta - mu) < NEAR * sigma)
    return {"gamma": rounded(np.percentile(gamma, PERCENTILES), 4),
            "beta": rounded(np.percentile(beta, PERCENTILES), 4),
            "share_gamma_above_1": round(float(np.mean(gamma > 1)), 4),
            "share_abs_beta_above_1": round(float(np.mean(np.abs(beta) > 1)), 4),
            "median_sigma": round(float(np.median(sigma)), 4),
            "median_gain": round(float(np.median(gamma / sigma)), 3),
            "share_near_identity": round(float(np.mean(near)), 4)}


def affine_summary(runs):
    """What the notebook quotes, from {variant: [run per seed]} at one learning rate: per
    variant the test accuracy per seed at 5,000 steps and at the end (and their means),
    learned minus frozen per seed, and, per hidden layer, where the learned gamma and beta end
    (`layer_distribution`, over all seeds)."""
    summary = {}
    for variant in VARIANTS:
        at_5000 = [_at(run, 5000) for run in runs[variant]]
        final = [run["test_acc"][-1] for run in runs[variant]]
        summary[variant] = {"acc_5000": at_5000, "final": final,
                            "final_mean": round(float(np.mean(final)), 5),
                            "acc_5000_mean": None if None in at_5000
                            else round(float(np.mean(at_5000)), 5)}
    summary["learned_minus_frozen"] = {
        "final": [round(a - b, 5) for a, b in zip(summary["learned"]["final"],
                                                  summary["frozen"]["final"])],
        "acc_5000": [None if None in (a, b) else round(a - b, 5) for a, b in
                     zip(summary["learned"]["acc_5000"], summary["frozen"]["acc_5000"])]}
    n_layers = len(runs["learned"][0]["units"])
    summary["learned_layers"] = [layer_distribution(runs["learned"], k) for k in range(n_layers)]
    return summary


def affine_table(result):
    """Text table: accuracy per learning rate, variant and seed, the differences, and where
    the learned gamma and beta end."""
    config = result["config"]
    show = lambda values: " ".join("-" if v is None else f"{v:.4f}" for v in values)
    lines = [f"test accuracy, seeds {list(config['seeds'])}: at 5,000 steps | at "
             f"{config['steps']} steps"]
    for lr, summary in result["summary"].items():
        lines.append(f"lr {lr}")
        for variant in VARIANTS:
            row = summary[variant]
            lines.append(f"  {VARIANTS[variant]:<27} {show(row['acc_5000'])} | "
                         f"{show(row['final'])}   (mean {row['final_mean']:.4f})")
        diff = summary["learned_minus_frozen"]
        lines.append(f"  {'learned - frozen, per seed':<27} {show(diff['acc_5000'])} | "
                     f"{show(diff['final'])}")
    for lr, summary in result["summary"].items():
        lines.append(f"\nlr {lr}: where the learned gamma and beta end (all seeds; "
                     f"percentiles {PERCENTILES}):")
        for k, layer in enumerate(summary["learned_layers"], start=1):
            lines.append(f"  layer {k}: gamma {layer['gamma']}  beta {layer['beta']}")
            lines.append(f"           gamma > 1: {layer['share_gamma_above_1']:.2f}, |beta| > 1:"
                         f" {layer['share_abs_beta_above_1']:.2f}, median sigma of the input "
                         f"{layer['median_sigma']:.3f}, median gain gamma/sigma "
                         f"{layer['median_gain']:.1f}, near the identity "
                         f"{layer['share_near_identity']:.2f}")
    lines.append(f"\ntime: {result['seconds']:.0f} s (jobs={result['jobs']})")
    return "\n".join(lines)


def affine_ablation_command(args):
    """`python -m bnlib.reproduce affine_ablation`: both variants for every seed; writes
    affine_ablation.json and affine_ablation.png, prints the table."""
    from ..figures import common, training       # matplotlib is only needed here
    config = AffineConfig(steps=args.steps or AffineConfig.steps,
                          seeds=seeds_of(args))
    data = experiment_data(args) if args.subset else None
    result = run_affine_ablation(config, data=data, subset=args.subset,
                                 jobs=1 if args.subset else args.jobs)
    out = Path(args.out)
    paths = (write_json(result, out / "affine_ablation.json"),
             common.save_figure(training.plot_affine_ablation(result)[0],
                                out / "affine_ablation.png"))
    print(affine_table(result))
    print("wrote", *paths)
    return 0


COMMANDS = {"affine_ablation": (affine_ablation_command, "BN's gamma and beta learned against "
                                                         "frozen at 1 and 0; where they end")}
