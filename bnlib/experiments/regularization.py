"""Is BN a regularizer? Train/test gap with and without BN and dropout (notebook 08).

Ioffe & Szegedy (2015, Sec. 3.4) observe that with BN a training example is seen together with
the other examples of its minibatch, so the network no longer gives a deterministic output for
it; they found this to help generalisation, and removed dropout from their BN-Inception
(Sec. 4.2.1). This module tests that on MNIST. The network of notebook 06 (784-100-100-100-10
sigmoids, batches of 60, plain SGD) is trained on a training subset small enough to memorise,
four ways: without BN, with dropout (inverted, drop probability 0.5 on every hidden layer's
output), with BN, with BN and dropout. Initial weight std 0.5, where the network without BN
learns from the first steps (at notebook 06's 0.05 it first sits on a plateau, and a small
train/test gap would only mean that it has not learned yet).

- Data: `n_train` images drawn once (seed `subset_seed`) from the training set without its
  last `n_val` images, which are the validation set; the test set is MNIST's.
- Learning rate: each network gets its own, the one of `lrs` with the best mean validation
  accuracy over the seeds at the end of training. The test set plays no part in any choice.
- Measured at the end, in evaluation mode (BN with its running averages, no dropout):
  accuracy and cross-entropy on the training subset and on the test set; the gap is
  training accuracy - test accuracy. A control for the networks with BN: the test accuracy
  with Algorithm 2's population statistics of the training subset instead of the running
  averages (if the two differed, BN's result would depend on how it is evaluated).
Command: `regularization`.
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..layers import softmax_cross_entropy
from ..model import MLP, SGD
from ..train import (TrainingDiverged, minibatches, population_statistics, progress_bar,
                     train_step)
from .common import experiment_data, seeds_of, write_json

NETWORKS = {"plain": "without BN", "dropout": "dropout", "bn": "BN", "bn_dropout": "BN + dropout"}


@dataclasses.dataclass(frozen=True)
class RegularizationConfig:
    """Settings of the regularization experiment (see the module's docstring).

    n_train: training images (1,000 is small enough for every network to fit it exactly);
    n_val: validation images, the last ones of the training set; steps: SGD steps per run;
    lrs: the learning rates each network chooses from; seeds: initial weights, batch order and
    dropout masks of each run; dropout: drop probability where dropout is used; record_every:
    steps between measurements of the curves.
    """

    n_train: int = 1000
    n_val: int = 10_000
    steps: int = 5000
    lrs: tuple = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    seeds: tuple = (0, 1, 2)
    dropout: float = 0.5
    init_std: float = 0.5
    batch_size: int = 60
    sizes: tuple = (784, 100, 100, 100, 10)
    subset_seed: int = 1234
    record_every: int = 500


def split(data, config):
    """(train subset, validation, test) as (x, y) pairs, from MNIST as `load_mnist` gives it.

    The validation set is the last `config.n_val` training images; the subset, `n_train`
    images drawn without replacement from the others with seed `config.subset_seed`.
    """
    x_train, y_train, x_test, y_test = data
    pool = len(x_train) - config.n_val
    if pool < config.n_train or config.n_val < 1:
        raise ValueError(f"{len(x_train)} training images cannot give {config.n_train} for "
                         f"training and {config.n_val} for validation")
    subset = np.random.default_rng(config.subset_seed).choice(pool, config.n_train,
                                                              replace=False)   # (n_train,)
    return ((x_train[subset], y_train[subset]), (x_train[pool:], y_train[pool:]),
            (x_test, y_test))


def accuracy_and_loss(model, x, y, batch_size=10_000):
    """Accuracy and mean cross-entropy of `model` on (x, y), in evaluation mode.

    The model's mode is restored. Returns (accuracy, loss), two floats.
    """
    was_training, right, total_loss = model.training, 0, 0.0
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            logits = model.forward(x[start:start + batch_size])     # (n, classes)
            labels = y[start:start + batch_size]
            right += int(np.sum(logits.argmax(axis=1) == labels))
            total_loss += softmax_cross_entropy(logits.astype(np.float64), labels)[0] * len(labels)
    finally:
        model.train() if was_training else model.eval()
    return right / len(x), total_loss / len(x)


def make_network(name, config, seed):
    """The MLP of network `name` (a key of NETWORKS) for `seed`; also its batch-order rng.

    The seed is split into three: initial weights, batch order, dropout masks; the initial
    weights and batch order are therefore the same for the four networks of one seed.
    """
    if name not in NETWORKS:
        raise ValueError(f"network must be one of {list(NETWORKS)}, got {name!r}")
    init_seed, batch_seed, dropout_seed = np.random.SeedSequence(seed).spawn(3)
    model = MLP(config.sizes, use_bn=name.startswith("bn"), init_std=config.init_std,
                rng=np.random.default_rng(init_seed),
                dropout=config.dropout if name.endswith("dropout") else 0.0,
                dropout_rng=np.random.default_rng(dropout_seed))
    return model, np.random.default_rng(batch_seed)


def train_once(name, lr, seed, config, splits, progress=False):
    """Train network `name` at learning rate `lr` with `seed` on the subset of `splits`.

    Returns {"network", "lr", "seed", "diverged_at" (None if it trained), "curve": {"step",
    "train_acc", "test_acc"} every config.record_every steps, and at the end "train_acc",
    "train_loss", "val_acc", "test_acc", "test_loss", "gap" (train_acc - test_acc) and, with
    BN, "test_acc_population" (evaluated with the population statistics of the training
    subset; None without BN)}; after a divergence the end values are None.
    """
    (x_sub, y_sub), (x_val, y_val), (x_test, y_test) = splits
    model, batch_rng = make_network(name, config, seed)
    optimizer = SGD(model.flat_params, model.flat_grads, lr)
    batches = minibatches(len(x_sub), config.batch_size, batch_rng)
    curve = {"step": [], "train_acc": [], "test_acc": []}
    row = {"network": name, "lr": lr, "seed": seed, "diverged_at": None, "curve": curve}
    with progress_bar(config.steps, f"{NETWORKS[name]}, lr {lr:g}", progress) as bar:
        for step in range(config.steps + 1):
            if step % config.record_every == 0 or step == config.steps:
                curve["step"].append(step)
                curve["train_acc"].append(accuracy_and_loss(model, x_sub, y_sub)[0])
                curve["test_acc"].append(accuracy_and_loss(model, x_test, y_test)[0])
            if step == config.steps:
                break
            idx = next(batches)                                           # (batch_size,)
            try:
                train_step(model, optimizer, x_sub[idx], y_sub[idx], step + 1)
            except TrainingDiverged as diverged:
                return {**row, "diverged_at": diverged.step, **dict.fromkeys(END_KEYS)}
            bar.update()
    train_acc, train_loss = accuracy_and_loss(model, x_sub, y_sub)
    test_acc, test_loss = accuracy_and_loss(model, x_test, y_test)
    population = None
    if model.use_bn:
        with population_statistics(model, x_sub):
            population = accuracy_and_loss(model, x_test, y_test)[0]
    return {**row, "train_acc": train_acc, "train_loss": train_loss,
            "val_acc": accuracy_and_loss(model, x_val, y_val)[0], "test_acc": test_acc,
            "test_loss": test_loss, "gap": train_acc - test_acc,
            "test_acc_population": population}


END_KEYS = ("train_acc", "train_loss", "val_acc", "test_acc", "test_loss", "gap",
            "test_acc_population")


def run_regularization(config=RegularizationConfig(), data=None, networks=tuple(NETWORKS),
                       lrs=None, progress=None):
    """Every network of `networks` at every learning rate of `lrs` (None: config.lrs) and seed
    of config.seeds; each network's learning rate chosen on validation (`choose_lr`).

    Returns {"config", "runs": list of `train_once` rows (curves kept for the chosen learning
    rates only), "chosen_lr": {network: lr}, "summary": {network: `summarize` of its runs at
    the chosen lr}}.
    """
    data = experiment_data() if data is None else data
    splits, lrs = split(data, config), tuple(config.lrs if lrs is None else lrs)
    jobs = [(name, lr, seed) for name in networks for lr in lrs for seed in config.seeds]
    runs = []
    with progress_bar(len(jobs) * config.steps, "regularization, all runs", progress) as bar:
        for name, lr, seed in jobs:
            runs.append(train_once(name, lr, seed, config, splits))
            bar.update(config.steps)
    chosen = {name: choose_lr([r for r in runs if r["network"] == name]) for name in networks}
    for run in runs:
        if run["lr"] != chosen[run["network"]]:
            run.pop("curve")
    summary = {name: summarize([r for r in runs if r["network"] == name and r["lr"] == lr])
               for name, lr in chosen.items()}
    return {"config": dataclasses.asdict(config), "runs": runs, "chosen_lr": chosen,
            "summary": summary}


def choose_lr(runs):
    """The learning rate whose runs (one network, all seeds) have the best mean validation
    accuracy; a learning rate at which any seed diverged is skipped; ties go to the smaller."""
    by_lr = {}
    for run in runs:
        by_lr.setdefault(run["lr"], []).append(run["val_acc"])
    usable = {lr: np.mean(accs) for lr, accs in by_lr.items() if None not in accs}
    if not usable:
        raise TrainingDiverged(0, "every learning rate diverged for "
                               f"{NETWORKS[runs[0]['network']]}")
    return max(sorted(usable), key=lambda lr: usable[lr])


def summarize(runs):
    """Mean and standard deviation over seeds of each end value of `runs` (one network, one
    learning rate): {"lr", "seeds", key: [mean, std] for train_acc, test_acc, gap, ...}; a
    value some run lacks (test_acc_population without BN) gives None."""
    found = {"lr": runs[0]["lr"], "seeds": [r["seed"] for r in runs]}
    for key in END_KEYS:
        values = [r[key] for r in runs]
        found[key] = (None if None in values
                      else [float(np.mean(values)), float(np.std(values))])
    return found


def regularization_table(result):
    """Text table: per network its learning rate, training and test accuracy, and the gap
    (mean ± standard deviation over the seeds), then the test loss and, with BN, the test
    accuracy with population statistics (the control)."""
    lines = [f"{'network':<13} {'lr':>4} {'train acc':>15} {'test acc':>15} {'gap':>15} "
             f"{'test loss':>10} {'pop. stats':>10}"]
    cell = lambda pair: f"{pair[0]:.4f} ± {pair[1]:.4f}"
    for name, row in result["summary"].items():
        population = row["test_acc_population"]
        lines.append(f"{NETWORKS[name]:<13} {row['lr']:>4g} {cell(row['train_acc']):>15} "
                     f"{cell(row['test_acc']):>15} {cell(row['gap']):>15} "
                     f"{row['test_loss'][0]:>10.3f} "
                     f"{'-' if population is None else f'{population[0]:.4f}':>10}")
    seeds = result["config"]["seeds"]
    lines.append(f"(mean ± std over seeds {', '.join(map(str, seeds))}; "
                 f"{result['config']['n_train']} training images, "
                 f"{result['config']['steps']} steps)")
    return "\n".join(lines)


def lr_table(result, key="val_acc"):
    """Text table of the whole grid: per network and learning rate, the mean over the seeds
    of `key` (an end value of `train_once`: "val_acc" by default, "test_acc", "gap", ...)."""
    lrs = sorted({run["lr"] for run in result["runs"]})
    lines = [f"{'network':<13}" + "".join(f"{'lr ' + format(lr, 'g'):>10}" for lr in lrs)]
    for name in result["summary"]:
        cells = []
        for lr in lrs:
            values = [r[key] for r in result["runs"] if (r["network"], r["lr"]) == (name, lr)]
            cells.append("diverged" if None in values else f"{np.mean(values):.4f}")
        lines.append(f"{NETWORKS[name]:<13}" + "".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


def regularization_command(args):
    """`python -m bnlib.reproduce regularization`: the four networks, learning rates chosen on
    validation, --seeds seeds from --seed; --steps overrides the steps.

    Writes regularization.json and regularization.png into args.out, prints the tables;
    returns 0. With --subset n (a quick check), n // 2 training and n // 4 validation images.
    """
    from ..figures import common, why_bn       # matplotlib is only needed here
    config = RegularizationConfig(steps=args.steps or RegularizationConfig.steps,
                                  seeds=seeds_of(args))
    if args.subset:
        config = dataclasses.replace(config, n_train=args.subset // 2, n_val=args.subset // 4,
                                     record_every=max(1, config.steps // 2))
    start = time.perf_counter()
    result = run_regularization(config, experiment_data(args))
    result["seconds"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    print(f"mean validation accuracy per learning rate:\n{lr_table(result)}\n")
    print(regularization_table(result))
    common.save_figure(why_bn.plot_regularization(result)[0], out / "regularization.png")
    write_json(result, out / "regularization.json")
    print("wrote", out / "regularization.json", out / "regularization.png")
    return 0


COMMANDS = {"regularization": (regularization_command, "MNIST MLP on 1,000 training images "
                                                       "without and with BN and dropout: "
                                                       "train/test gap and test accuracy "
                                                       "(Ioffe & Szegedy 2015, Sec. 3.4; "
                                                       "notebook 08)")}
