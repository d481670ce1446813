"""Training mode against evaluation mode: where batch norm's two behaviours part (notebook 10).

Batch norm computes two different functions. In training mode it normalises each feature with
the statistics of the current batch (Ioffe & Szegedy 2015, Alg. 1); in evaluation mode with
fixed statistics: Algorithm 2's population averages over training batches or, as frameworks
do, running averages (PyTorch: running = (1 - momentum) * running + momentum * batch value,
momentum 0.1 by default). `run_eval_gap` trains the MNIST network of notebooks 05 and 06
once, keeps the running averages of several momenta side by side and, at chosen steps, compares
them with Algorithm 2's statistics and with training mode on shuffled test batches.
`trained_network` trains the same network without the measurements (notebook 11 fine-tunes it).
Command: `eval_gap`.
"""
import contextlib
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..inference import (batch_mode_predictions, bn_statistics, load_bn_statistics,
                         recompute_population_statistics, shuffled_batches)
from ..model import MLP, SGD
from ..train import minibatches, progress_bar, train_step
from .common import experiment_data, write_json
from .fig1 import POPULATION_IMAGES, Fig1Config


RECORD_STEPS = (25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


@dataclasses.dataclass(frozen=True)
class EvalGapConfig:
    """Settings of the train-vs-eval experiment.

    Network, batch size, learning rate and initial scale are those of notebook 06's Fig1Config
    (the paper's MNIST network, Sec. 4.1; plain SGD). momenta: the running averages kept side
    by side; bn_momentum: the one left in the returned model (PyTorch's default 0.1).
    population_images: the first training images whose batches give Algorithm 2's statistics.
    """

    steps: int = 2000
    momenta: tuple = (0.01, 0.1, 0.5)
    bn_momentum: float = 0.1
    lr: float = Fig1Config.lr
    init_std: float = Fig1Config.init_std
    batch_size: int = Fig1Config.batch_size
    sizes: tuple = Fig1Config.sizes
    population_images: int = POPULATION_IMAGES
    seed: int = 0


def record_steps(steps):
    """Roughly log-spaced steps at which `run_eval_gap` measures: those of RECORD_STEPS below
    `steps`, and `steps` itself."""
    return sorted({s for s in RECORD_STEPS if s < steps} | {steps})


@contextlib.contextmanager
def last_batch_statistics(model):
    """Inside this block every BN layer has momentum 1: its running mean and variance are
    exactly the last training batch's mean and unbiased variance. Restored on leaving."""
    momenta = [bn.momentum for bn in model.bns]
    try:
        for bn in model.bns:
            bn.momentum = 1.0
        yield model
    finally:
        for bn, momentum in zip(model.bns, momenta):
            bn.momentum = momentum


class RunningAverages:
    """Running averages of every BN layer's batch statistics, one set per momentum.

    BN in training mode never reads its running averages, so their momentum cannot change the
    training: one run can keep the averages of several momenta side by side. Each set starts
    at mean 0 and variance 1 and follows PyTorch's update (momentum weights the new value).
    Inputs: bns, the model's BatchNorm1d layers; momenta, numbers in (0, 1].
    `statistics[momentum]` is a list of (mean (D,), var (D,)), as `bn_statistics` returns.
    """

    def __init__(self, bns, momenta):
        if not momenta or any(not 0.0 < m <= 1.0 for m in momenta):
            raise ValueError(f"momenta must be numbers in (0, 1], got {momenta!r}")
        self.statistics = {m: [(np.zeros_like(bn.running_mean), np.ones_like(bn.running_var))
                               for bn in bns] for m in momenta}

    def update(self, bns):
        """Fold in the last batch's statistics, read from BN layers with momentum 1."""
        if any(bn.momentum != 1.0 for bn in bns):
            raise RuntimeError("RunningAverages.update reads the last batch's statistics from "
                               "BN layers with momentum 1: train inside last_batch_statistics")
        for momentum, layers in self.statistics.items():
            for (mean, var), bn in zip(layers, bns):
                mean *= 1 - momentum
                mean += momentum * bn.running_mean
                var *= 1 - momentum
                var += momentum * bn.running_var       # unbiased, as the layer stores it


def statistics_gap(statistics, reference, eps=1e-5):
    """How far BN statistics are from reference ones, averaged over every unit of every layer.

    Inputs: two lists of (mean (D,), var (D,)) per BN layer; eps as in BN.
    Returns (mean_gap, var_gap): the average |mean - reference mean| / sqrt(reference var + eps)
    (in units of the standard deviation BN divides by) and the average |var / reference var - 1|.
    """
    mean_gaps, var_gaps = [], []
    for (mean, var), (ref_mean, ref_var) in zip(statistics, reference, strict=True):
        mean_gaps.append(np.abs(mean - ref_mean) / np.sqrt(ref_var + eps))   # (D,)
        var_gaps.append(np.abs(var / ref_var - 1))                           # (D,)
    return float(np.mean(np.concatenate(mean_gaps))), float(np.mean(np.concatenate(var_gaps)))


def _new_result(config):
    """An empty result of `run_eval_gap`, with one list per measured quantity."""
    runs = [f"momentum {m:g}" for m in config.momenta]
    return {"config": dataclasses.asdict(config), "step": [],
            "accuracy": {name: [] for name in ["population", *runs, "batch mode"]},
            "disagreement": {name: [] for name in [*runs, "batch mode"]},
            "mean_gap": {name: [] for name in runs}, "var_gap": {name: [] for name in runs}}


def _record(result, model, averages, x_test, y_test, population_x, test_batches):
    """Measure every kind of inference on the test set and append it to `result`.

    Accuracy with Algorithm 2's statistics (over the batches of `population_x`), with the
    running averages of every momentum, and in training mode (`test_batches`); the fraction of
    predictions unlike Algorithm 2's; each running average's `statistics_gap` to Algorithm 2's.
    """
    population = bn_statistics(recompute_population_statistics(
        model, population_x, result["config"]["batch_size"]))
    reference = model.predict(x_test)                   # (N,) with Algorithm 2's statistics
    predictions = {"batch mode": batch_mode_predictions(model, x_test, test_batches)}
    for momentum, statistics in averages.statistics.items():
        name = f"momentum {momentum:g}"
        if name in result["mean_gap"]:
            load_bn_statistics(model, statistics)
            predictions[name] = model.predict(x_test)
            mean_gap, var_gap = statistics_gap(statistics, population)
            result["mean_gap"][name].append(mean_gap)
            result["var_gap"][name].append(var_gap)
    result["accuracy"]["population"].append(float(np.mean(reference == y_test)))
    for name, labels in predictions.items():
        result["accuracy"][name].append(float(np.mean(labels == y_test)))
        result["disagreement"][name].append(float(np.mean(labels != reference)))
    model.train()


def _train(config, data, progress, on_step=None, desc="train vs eval"):
    """Train the network of `config` on `data`, keeping running averages of every momentum.

    The one training loop of `run_eval_gap` and `trained_network`: the BN layers sit at
    momentum 1 (`last_batch_statistics`) and `RunningAverages` folds in each batch's statistics,
    so the parameters and the running averages of a momentum are the same, bit for bit,
    whatever is measured on the way. on_step(step, model, averages) is called after each step;
    desc labels the progress bar.
    Returns (model in evaluation mode with the running averages of `config.bn_momentum`,
    averages, seconds of training).
    """
    x_train, y_train = data[0], data[1]
    init_seed, batch_seed, _ = np.random.SeedSequence(config.seed).spawn(3)
    model = MLP(config.sizes, use_bn=True, init_std=config.init_std,
                rng=np.random.default_rng(init_seed), bn_momentum=config.bn_momentum)
    averages = RunningAverages(model.bns, sorted({*config.momenta, config.bn_momentum}))
    optimizer = SGD(model.flat_params, model.flat_grads, config.lr)
    batches = minibatches(len(x_train), config.batch_size, np.random.default_rng(batch_seed))
    start = time.perf_counter()
    with last_batch_statistics(model), progress_bar(config.steps, desc, progress) as bar:
        for step in range(1, config.steps + 1):
            idx = next(batches)                                         # (batch_size,)
            train_step(model, optimizer, x_train[idx], y_train[idx], step)
            averages.update(model.bns)          # the last batch's statistics, read at momentum 1
            if on_step is not None:
                on_step(step, model, averages)
            bar.update()
    load_bn_statistics(model, averages.statistics[config.bn_momentum])
    return model.eval(), averages, time.perf_counter() - start


def run_eval_gap(config=EvalGapConfig(), data=None, progress=None):
    """Train the MNIST network with BN once, measuring the train/eval gap at `record_steps`.

    Inputs: config, an EvalGapConfig; data as `load_mnist` returns it (None: load it);
    progress: show a bar (None: when a person is watching). What is measured: see `_record`.
    The minibatches, and so the training, do not depend on the records.
    Returns (result, model): result, a dict with "config", "step" and, per quantity, a dict of
    lists per kind of inference; model, the trained MLP in evaluation mode with the running
    averages of momentum `config.bn_momentum`, as if it had been trained with that momentum.
    """
    x_train, y_train, x_test, y_test = experiment_data() if data is None else data
    test_seed = np.random.SeedSequence(config.seed).spawn(3)[2]
    test_batches = shuffled_batches(len(x_test), config.batch_size,
                                    np.random.default_rng(test_seed))
    result, record_at = _new_result(config), set(record_steps(config.steps))

    def measure(step, model, averages):
        if step in record_at:
            result["step"].append(step)
            _record(result, model, averages, x_test, y_test,
                    x_train[:config.population_images], test_batches)

    model, _, seconds = _train(config, (x_train, y_train), progress, measure)
    result["seconds"] = round(seconds, 3)
    return result, model


def trained_network(config=EvalGapConfig(), data=None, progress=None):
    """The network `run_eval_gap(config, data)` trains, without measuring on the way.

    The same parameters and running averages, bit for bit (the same loop, `_train`), in a
    little more than half the time. Notebook 11 starts from it. Returns the MLP in evaluation
    mode, with the running averages of momentum `config.bn_momentum`.
    """
    data = experiment_data() if data is None else data
    return _train(config, data, progress, desc=f"training the network, {config.steps} steps")[0]


def eval_gap_table(result):
    """The measurements of `run_eval_gap` as a text table: one row per record step."""
    names = list(result["accuracy"])
    lines = ["test accuracy", "step    " + "".join(f"{name:>15}" for name in names)]
    for i, step in enumerate(result["step"]):
        lines.append(f"{step:<8}" + "".join(f"{result['accuracy'][n][i]:>15.4f}" for n in names))
    gaps = list(result["mean_gap"])
    lines += ["", "distance to Algorithm 2: mean = |running mean - Alg. 2's| / std, "
              "var = |running var / Alg. 2's - 1|,",
              "differ = share of the test predictions unlike those with Alg. 2's statistics",
              "        " + "".join(f"{name:>24}" for name in gaps) + f"{'batch mode':>13}",
              "step    " + f"{'mean':>8}{'var':>8}{'differ':>8}" * len(gaps) + f"{'differ':>13}"]
    for i, step in enumerate(result["step"]):
        cells = "".join(f"{result['mean_gap'][n][i]:>8.3f}{result['var_gap'][n][i]:>8.3f}"
                        f"{result['disagreement'][n][i]:>8.4f}" for n in gaps)
        lines.append(f"{step:<8}{cells}{result['disagreement']['batch mode'][i]:>13.4f}")
    return "\n".join(lines)


def eval_gap_command(args):
    """Command-line entry (python -m bnlib.reproduce): the train/eval gap over `args.steps`
    steps (default 20,000). Writes eval_gap.json and eval_gap.png into `args.out`, prints the
    table and returns 0. args: an argparse.Namespace with steps (None: the default), seed, out.
    """
    from ..figures import common, train_eval       # matplotlib is only needed here
    config = EvalGapConfig(steps=args.steps or 20000, seed=args.seed)
    result, _ = run_eval_gap(config, experiment_data(args))
    out = Path(args.out)
    write_json(result, out / "eval_gap.json")
    common.save_figure(train_eval.plot_eval_gap(result)[0], out / "eval_gap.png")
    print(eval_gap_table(result))
    print(f"time: {result['seconds']:.1f} s for the training run; wrote eval_gap.json and "
          f"eval_gap.png into {out}")
    return 0


COMMANDS = {"eval_gap": (eval_gap_command, "MNIST BN network: running averages (momentum "
                                           "0.01/0.1/0.5) against Algorithm 2's statistics over "
                                           "training (notebook 10)")}
