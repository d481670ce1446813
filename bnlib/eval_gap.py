"""Training mode against evaluation mode: where batch norm's two behaviours part, measured.

Batch norm computes two different functions. In training mode it normalises each feature with
the statistics of the current batch (Ioffe & Szegedy 2015, Alg. 1); in evaluation mode with
fixed statistics: Algorithm 2's population averages over training batches or, as frameworks
do, running averages (PyTorch: running = (1 - momentum) * running + momentum * batch value,
momentum 0.1 by default). This module measures the gap on the MNIST network of notebook 05:

- `run_eval_gap`: one training run that keeps the running averages of several momenta side
  by side and, at chosen steps, compares them with Algorithm 2's statistics (notebook 08);
- `batch_mode_predictions`, `shuffled_batches`, `class_batches`: what a network left in
  training mode predicts, depending on which images share its batch;
- `fold_mlp`: the network with every BN folded into the affine layer before it;
- `FrozenBatchNorm1d`, `freeze_batchnorm`, `fine_tune`: fine-tuning with fixed statistics;
- `eval_gap_experiment(args)`: all of it at full scale, for `python -m bnlib.reproduce`.
"""
import contextlib
import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from .batchnorm import BatchNorm1d, NormLayer, batchnorm_eval_forward
from .checks import as_float_array, check_backward, check_shape
from .data import load_mnist
from .inference import fold_batchnorm, recompute_population_statistics
from .model import MLP, SGD
from .reproduce import POPULATION_IMAGES, Fig1Config
from .train import minibatches, show_progress, train

EVAL_GAP_DESCRIPTION = ("MNIST BN network: running averages (momentum 0.01/0.1/0.5) against "
                        "Algorithm 2's statistics over training, and fine-tuning with frozen "
                        "statistics (notebook 08)")
RECORD_STEPS = (25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
FINE_TUNING_STEPS = 1000   # of `eval_gap_experiment` (notebook 08 runs 300)


@dataclasses.dataclass(frozen=True)
class EvalGapConfig:
    """Settings of the train-vs-eval experiment.

    Network, batch size, learning rate and initial scale are those of notebook 05's Fig1Config
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


def bn_statistics(model):
    """Copies of every BN layer's (running_mean (D,), running_var (D,)), first layer first."""
    return [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.bns]


def load_bn_statistics(model, statistics):
    """Write `statistics` (a list of (mean (D,), var (D,)), as `bn_statistics` returns) into
    the model's BN layers, in place."""
    if len(statistics) != len(model.bns):
        raise ValueError(f"got statistics for {len(statistics)} BN layers, the model has "
                         f"{len(model.bns)}")
    for bn, (mean, var) in zip(model.bns, statistics):
        check_shape(np.asarray(mean), bn.running_mean.shape, "running mean")
        check_shape(np.asarray(var), bn.running_var.shape, "running var")
        bn.running_mean[...], bn.running_var[...] = mean, var


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


def shuffled_batches(n, batch_size, rng):
    """Split the indices 0..n-1, shuffled by `rng`, into ceil(n / batch_size) batches of
    nearly equal size (they differ by at most 1). Returns a list of index arrays."""
    return np.array_split(rng.permutation(n), math.ceil(n / batch_size))


def class_batches(y, batch_size):
    """Batches that each hold images of one class only: every class's indices, in order, split
    into ceil(count / batch_size) batches of nearly equal size. Returns a list of index arrays."""
    y = np.asarray(y)
    batches = []
    for label in np.unique(y):
        indices = np.flatnonzero(y == label)
        batches += np.array_split(indices, math.ceil(len(indices) / batch_size))
    return batches


def batch_mode_predictions(model, x, batches):
    """Predicted classes (N,) of a network run in *training* mode, one forward per batch.

    Each image is normalised with the statistics of the batch it is in, so the prediction
    depends on its neighbours. Inputs: x (N, D_in); batches, index arrays that cover 0..N-1
    exactly once. The model's running statistics and mode are restored afterwards (training
    forwards would otherwise overwrite them).
    """
    if not np.array_equal(np.sort(np.concatenate(batches)), np.arange(len(x))):
        raise ValueError("batches must cover every index of x exactly once")
    saved, was_training = bn_statistics(model), model.training
    labels = np.empty(len(x), np.int64)                 # (N,)
    try:
        model.train()
        for idx in batches:
            labels[idx] = model.forward(x[idx]).argmax(axis=1)
    finally:
        load_bn_statistics(model, saved)
        model.train() if was_training else model.eval()
    return labels


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


def _train_step(model, optimizer, averages, x, y, step):
    """One SGD step on the batch (x, y), then the running averages. Raises RuntimeError,
    naming the step, if the loss or a batch statistic stops being finite."""
    try:
        loss = model.loss(x, y)
    except ValueError as error:          # e.g. BN's check of an overflowed batch variance
        raise RuntimeError(f"training failed at step {step}: {error}") from error
    if not math.isfinite(loss):
        raise RuntimeError(f"the training loss became {loss} at step {step}; lower the lr")
    optimizer.step()
    averages.update(model.bns)


def run_eval_gap(config=EvalGapConfig(), data=None, progress=None):
    """Train the MNIST network with BN once, measuring the train/eval gap at `record_steps`.

    Inputs: config, an EvalGapConfig; data as `load_mnist` returns it (None: load it);
    progress: show a bar (None: when a person is watching). What is measured: see `_record`.
    The minibatches, and so the training, do not depend on the records.
    Returns (result, model): result, a dict with "config", "step" and, per quantity, a dict of
    lists per kind of inference; model, the trained MLP in evaluation mode with the running
    averages of momentum `config.bn_momentum`, as if it had been trained with that momentum.
    """
    x_train, y_train, x_test, y_test = load_mnist() if data is None else data
    init_seed, batch_seed, test_seed = np.random.SeedSequence(config.seed).spawn(3)
    model = MLP(config.sizes, use_bn=True, init_std=config.init_std,
                rng=np.random.default_rng(init_seed), bn_momentum=config.bn_momentum)
    averages = RunningAverages(model.bns, sorted({*config.momenta, config.bn_momentum}))
    optimizer = SGD(model.flat_params, model.flat_grads, config.lr)
    batches = minibatches(len(x_train), config.batch_size, np.random.default_rng(batch_seed))
    measure = functools.partial(
        _record, averages=averages, x_test=x_test, y_test=y_test,
        population_x=x_train[:config.population_images], test_batches=shuffled_batches(
            len(x_test), config.batch_size, np.random.default_rng(test_seed)))
    result, record_at, start = _new_result(config), record_steps(config.steps), time.perf_counter()
    with last_batch_statistics(model), tqdm(total=config.steps, desc="train vs eval", disable=not (
            show_progress() if progress is None else progress)) as bar:
        for step in range(1, config.steps + 1):
            idx = next(batches)                                         # (batch_size,)
            _train_step(model, optimizer, averages, x_train[idx], y_train[idx], step)
            if step in record_at:
                result["step"].append(step)
                measure(result, model)
            bar.update()
    load_bn_statistics(model, averages.statistics[config.bn_momentum])
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result, model.eval()


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


def clone_mlp(model):
    """An independent copy of an MLP: parameters, BN statistics and settings, frozen BN layers
    and mode are copied; nothing is shared with `model`. Its norm layers must be BatchNorm1d."""
    bns = model.bns
    if not all(isinstance(bn, BatchNorm1d) for bn in bns):
        raise TypeError("clone_mlp copies networks whose norm layers are BatchNorm1d, got "
                        f"{sorted({type(bn).__name__ for bn in bns})}")
    copy = MLP(model.sizes, model.use_bn, model.activation, init_std=0.0, dtype=model.dtype,
               bn_momentum=bns[0].momentum if bns else 0.1, bn_eps=bns[0].eps if bns else 1e-5,
               bn_position=model.bn_position)
    copy.flat_params[...] = model.flat_params
    load_bn_statistics(copy, bn_statistics(model))
    for k, bn in enumerate(bns):
        copy.bns[k].momentum = bn.momentum
        if isinstance(bn, FrozenBatchNorm1d):
            copy.bns[k] = FrozenBatchNorm1d.from_layer(copy.bns[k])
    return copy.train() if model.training else copy.eval()


def fold_mlp(model):
    """The network without BN layers that computes what `model` computes in evaluation mode.

    Every BN (in evaluation mode) is folded into the affine layer before it with
    `fold_batchnorm`: hidden layer k becomes x @ W_k' + b_k'. Input: an MLP with BN.
    Returns a new MLP with use_bn=False (in evaluation mode); `model` is left unchanged.
    """
    if not model.use_bn:
        raise ValueError("the model has no BN layers to fold (use_bn=False)")
    if model.bn_position != "before":
        raise ValueError("fold_mlp folds BN into the affine layer before it, so BN must come "
                         f"before the nonlinearity; this model has it {model.bn_position} it")
    if model.training:
        raise RuntimeError("fold_mlp needs the model in evaluation mode (call model.eval()): "
                           "only then is each BN a fixed affine map")
    folded = MLP(model.sizes, use_bn=False, activation=model.activation, init_std=0.0,
                 dtype=model.dtype)
    for k, bn in enumerate(model.bns, start=1):
        folded.params[f"W{k}"][...], folded.params[f"b{k}"][...] = fold_batchnorm(
            model.params[f"W{k}"], None, bn)
    last = model.n_hidden + 1
    folded.params[f"W{last}"][...] = model.params[f"W{last}"]
    folded.params[f"b{last}"][...] = model.params[f"b{last}"]
    return folded.eval()


class FrozenBatchNormCache(NamedTuple):
    """What `frozen_batchnorm_forward` keeps for the backward pass."""

    x_hat: np.ndarray    # (N, D) normalised input
    gamma: np.ndarray    # (D,)  scale
    inv_std: np.ndarray  # (D,)  1 / sqrt(running_var + eps), a constant


def frozen_batchnorm_forward(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """BN with fixed statistics (evaluation mode's formula) that can also be trained.

    Inputs: x (N, D), any N >= 1; gamma, beta, running_mean, running_var (D,); eps > 0.
    Returns (out (N, D), cache): out = gamma * x_hat + beta, where
    x_hat = (x - running_mean) / sqrt(running_var + eps), the same as `batchnorm_eval_forward`.
    """
    out = batchnorm_eval_forward(x, gamma, beta, running_mean, running_var, eps)  # validates
    inv_std = 1.0 / np.sqrt(running_var + eps)          # (D,)
    x_hat = (x - running_mean) * inv_std                # (N, D)
    return out, FrozenBatchNormCache(x_hat, np.asarray(gamma), inv_std)


def frozen_batchnorm_backward(dout, cache):
    """Backward of `frozen_batchnorm_forward`: the statistics are constants, so no sums over
    the batch reach dx (unlike Algorithm 1's backward).

        dx = dout * gamma * inv_std,  dgamma = sum_n dout * x_hat,  dbeta = sum_n dout

    Inputs: dout (N, D); cache from `frozen_batchnorm_forward`.
    Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    dout = check_backward(dout, cache, FrozenBatchNormCache, "frozen_batchnorm_forward")
    dx = dout * (cache.gamma * cache.inv_std)           # (N, D)
    return dx, np.einsum("nd,nd->d", dout, cache.x_hat), dout.sum(axis=0)


class FrozenBatchNorm1d(BatchNorm1d):
    """A BatchNorm1d whose statistics stay fixed in both modes while gamma and beta learn.

    forward always normalises with running_mean and running_var and never updates them;
    backward treats them as constants. This is BN "in eval mode" during fine-tuning.
    """

    @classmethod
    def from_layer(cls, bn):
        """Freeze `bn`: the new layer uses bn's gamma and beta arrays themselves (so an MLP's
        parameter views keep working) and a copy of its running statistics."""
        frozen = cls(bn.num_features, bn.eps, bn.momentum, bn.running_mean.dtype)
        frozen.gamma, frozen.beta = bn.gamma, bn.beta
        frozen.running_mean[...], frozen.running_var[...] = bn.running_mean, bn.running_var
        frozen.training = bn.training
        return frozen

    def forward(self, x):
        """Normalise `x` (N, D) with the frozen statistics; keep what backward needs."""
        out, self._cache = frozen_batchnorm_forward(x, self.gamma, self.beta, self.running_mean,
                                                    self.running_var, self.eps)
        return out

    missing_forward = NormLayer.missing_forward
    _backward = staticmethod(frozen_batchnorm_backward)

    def __repr__(self):
        return f"FrozenBatchNorm1d({self.num_features}, eps={self.eps})"


def freeze_batchnorm(model):
    """Replace every BN layer of `model` by a FrozenBatchNorm1d with its current statistics,
    in place; gamma and beta stay trainable. Returns the model."""
    if not model.bns:
        raise ValueError("the model has no BN layers to freeze")
    model.bns[:] = [FrozenBatchNorm1d.from_layer(bn) for bn in model.bns]
    return model


def shift_contrast(x, scale=0.5, offset=0.5):
    """The images `x` (N, D) with their contrast scaled and a constant added: scale * x + offset.

    With the defaults the background turns mid-grey and the strokes keep half their contrast.
    Returns a float32 array (N, D); its values stay in [0, 1] when offset and scale + offset
    both do (scale=-1, offset=1 inverts the images).
    """
    x = as_float_array(x, "x", ndim=2)
    shifted = np.multiply(x, scale, dtype=np.float32)   # (N, D), the one new array
    shifted += offset
    return shifted


def fine_tune(model, data, steps, lr, freeze, eval_every=50, rng=None, progress=False):
    """Fine-tune a copy of `model` with SGD, its BN statistics frozen or updating.

    Inputs: model, a trained MLP with BN; data (x_train, y_train, x_test, y_test) of the new
    task; steps, lr; freeze: True keeps the statistics fixed (FrozenBatchNorm1d), False trains
    in ordinary training mode (batch statistics; running averages follow the new data);
    eval_every and rng as in `bnlib.train`.
    Returns (tuned copy in evaluation mode, history of `bnlib.train` on the new task's test set).
    """
    tuned = clone_mlp(model)
    if freeze:
        freeze_batchnorm(tuned)
    history = train(tuned.train(), data, steps, lr, eval_every=eval_every,
                    rng=np.random.default_rng(0) if rng is None else rng, progress=progress)
    return tuned.eval(), history


def run_fine_tuning(model, data, steps=300, lrs=(0.01, 0.1), eval_every=50, seed=0,
                    progress=False):
    """Adapt a trained network with BN to images of shifted contrast (`shift_contrast`).

    Compares, on the shifted test set: the network as it is ("before"); its statistics
    recomputed on shifted training images with Algorithm 2, no gradient step ("re-estimated",
    over the batches of the first 6,000 images); and `steps` of fine-tuning at each learning
    rate, with the statistics frozen or updating. Inputs: model, a trained MLP with BN in
    evaluation mode; data as `load_mnist` returns it; steps, lrs, eval_every for `fine_tune`;
    seed for the minibatches (the same for every run).
    Returns a dict: "before", "re-estimated" (accuracies); "runs": {"frozen, lr 0.01": {"step",
    "test_acc", "loss" (of the minibatch before each record; None at step 0)}, ...};
    "original": every network's accuracy on the unshifted test set.
    """
    x_train, y_train, x_test, y_test = data
    shifted = (shift_contrast(x_train), y_train, shift_contrast(x_test), y_test)
    adapted = recompute_population_statistics(clone_mlp(model), shifted[0][:POPULATION_IMAGES])
    result = {"before": float(np.mean(model.predict(shifted[2]) == y_test)),
              "re-estimated": float(np.mean(adapted.predict(shifted[2]) == y_test)),
              "original": {"before": float(np.mean(model.predict(x_test) == y_test)),
                           "re-estimated": float(np.mean(adapted.predict(x_test) == y_test))},
              "steps": steps, "runs": {}}
    for name, lr in [(name, lr) for name in ("frozen", "updating") for lr in lrs]:
        tuned, history = fine_tune(model, shifted, steps, lr, freeze=name == "frozen",
                                   eval_every=eval_every, rng=np.random.default_rng(seed),
                                   progress=progress)
        run = f"{name}, lr {lr:g}"
        result["runs"][run] = {"step": history["step"], "test_acc": history["test_acc"],
                               "loss": [None if math.isnan(v) else v for v in history["loss"]]}
        result["original"][run] = float(np.mean(tuned.predict(x_test) == y_test))
    return result


def fine_tuning_table(result):
    """The accuracies of `run_fine_tuning` as a text table: shifted and original test sets."""
    rows = [("trained on the original images", "before"),
            ("statistics re-estimated, no training", "re-estimated")]
    rows += [(f"{result['steps']} steps, statistics {run}", run) for run in result["runs"]]
    lines = [f"{'network':<44}{'shifted test':>13}{'original test':>15}"]
    for label, key in rows:
        shifted = result["runs"][key]["test_acc"][-1] if key in result["runs"] else result[key]
        lines.append(f"{label:<44}{shifted:>13.4f}{result['original'][key]:>15.4f}")
    return "\n".join(lines)


def eval_gap_experiment(args):
    """Command-line entry (python -m bnlib.reproduce): the train/eval gap over `args.steps`
    steps (default 20,000), then FINE_TUNING_STEPS of fine-tuning on shifted images. Writes
    eval_gap.json, eval_gap.png and fine_tuning.png into `args.out`, prints both tables and
    returns 0. args: an argparse.Namespace with steps (None: the default), seed and out."""
    from . import plots          # matplotlib is only needed here
    from .reproduce import write_json
    config = EvalGapConfig(steps=args.steps or 20000, seed=args.seed)
    data = load_mnist()
    result, model = run_eval_gap(config, data)
    result["fine_tuning"] = run_fine_tuning(model, data, steps=FINE_TUNING_STEPS,
                                            eval_every=max(1, FINE_TUNING_STEPS // 10),
                                            seed=args.seed, progress=None)
    out = Path(args.out)
    write_json(result, out / "eval_gap.json")
    plots.save_figure(plots.plot_eval_gap(result)[0], out / "eval_gap.png")
    plots.save_figure(plots.plot_fine_tuning(result["fine_tuning"])[0], out / "fine_tuning.png")
    print(eval_gap_table(result), "", fine_tuning_table(result["fine_tuning"]), sep="\n")
    print(f"time: {result['seconds']:.1f} s for the training run; wrote eval_gap.json, "
          f"eval_gap.png and fine_tuning.png into {out}")
    return 0
