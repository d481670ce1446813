"""Training: one SGD step, the loop that records test accuracy and per-layer statistics, and
the one error every diverging run raises.

One step on a minibatch (x, y) of the training set (plain SGD; see bnlib.model.SGD for
momentum):
    loss = L(theta; x, y),   g = dL/dtheta (backprop through the network),   theta <- theta - lr g
A step *diverges* when its loss, or a batch statistic inside batch norm, is no longer a finite
number (a learning rate too large for the network, usually): `train_step` then raises
`TrainingDiverged`, which names the step. Every experiment trains through `train_step`.
"""
import contextlib
import math
import os
import sys

import numpy as np
from tqdm.auto import tqdm

from .batchnorm import BatchNorm1d
from .checks import NonFiniteError
from .inference import recompute_population_statistics
from .model import SGD

PERCENTILES = (15, 50, 85)


class TrainingDiverged(RuntimeError):
    """A training run's loss, or one of its batch-norm statistics, stopped being finite.

    Attributes: step (the step, counted from 1, whose forward pass failed), reason (what was
    not finite), lr (the learning rate, or None).
    """

    def __init__(self, step, reason, lr=None):
        self.step, self.reason, self.lr = step, reason, lr
        at = f" (lr={lr:g})" if lr is not None else ""
        super().__init__(f"training diverged at step {step}{at}: {reason}; the learning rate "
                         "is probably too high for this network, try a lower one")


def train_step(model, optimizer, x, y, step):
    """One SGD step on the minibatch x (N, D_in), y (N,): forward, backward, update.

    Inputs: model, an MLP; optimizer, an SGD over its parameters; step, the number of this
    step (for the error message). Returns the loss of the minibatch before the update (float).
    Raises TrainingDiverged if the loss or a batch statistic is not finite; the parameters
    are then left as they were before the step.
    """
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # detected below, not warned
            loss = model.loss(x, y)
    except NonFiniteError as error:                          # BN's mean or variance overflowed
        raise TrainingDiverged(step, str(error), optimizer.lr) from error
    if not math.isfinite(loss):
        raise TrainingDiverged(step, f"the training loss became {loss}", optimizer.lr)
    optimizer.step()
    return loss


def show_progress():
    """True when a person is watching: a terminal or a live notebook, and not under CI."""
    if os.environ.get("CI") or os.environ.get("BNLIB_PROGRESS") == "0":
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def progress_bar(total, desc, progress=None):
    """A tqdm bar over `total` steps labelled `desc`, shown when `progress` is True, or, with
    progress=None, when a person is watching (`show_progress`). Use it in a `with` block."""
    return tqdm(total=total, desc=desc, disable=not (show_progress() if progress is None
                                                     else progress))


def minibatches(n, batch_size, rng):
    """Yield index arrays (batch_size,) forever: one permutation per epoch, cut into batches.

    The last incomplete batch of an epoch is dropped, so every batch has the same size.
    """
    per_epoch = n // batch_size
    while True:
        order = rng.permutation(n)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
        yield from order


def evaluation_pass(model, x, batch_size=10000):
    """Run `x` (N, D_in) through the model in evaluation mode, `batch_size` rows at a time.

    Returns (labels (N,), pre_activations): the predicted classes and, per hidden layer, the
    input z (N, width) of its nonlinearity, for all N rows. The model's mode is restored.
    """
    was_training = model.training
    model.eval()
    labels, chunks = [], []
    try:
        for start in range(0, len(x), batch_size):
            logits = model.forward(x[start:start + batch_size])             # (n, classes)
            labels.append(logits.argmax(axis=1))
            chunks.append([z.copy() for z in model.pre_activations])         # (n, width) each
    finally:
        model.train() if was_training else model.eval()
    return np.concatenate(labels), [np.concatenate(layer) for layer in zip(*chunks)]


def evaluate(model, x_test, y_test, unit=0):
    """Test accuracy and, per hidden layer, the percentiles of one unit's nonlinearity input.

    Returns (accuracy, percentiles (n_hidden, 3)) with the 15th, 50th and 85th percentile over
    the test set of z[:, unit] in each hidden layer, as in the paper's Fig. 1(b, c).
    """
    accuracy, percentiles, _ = _evaluate(model, x_test, y_test, unit)
    return accuracy, percentiles


def _evaluate(model, x_test, y_test, unit):
    """`evaluate`, also returning the last hidden layer's inputs z (N, width)."""
    labels, pre_activations = evaluation_pass(model, x_test)
    z_unit = np.stack([z[:, unit] for z in pre_activations])                  # (n_hidden, N)
    percentiles = np.percentile(z_unit, PERCENTILES, axis=1).T               # (n_hidden, 3)
    return float(np.mean(labels == y_test)), percentiles, pre_activations[-1]


def train(model, data, steps, lr, momentum=0.0, batch_size=60, eval_every=1000, rng=None,
          unit=0, progress=None, on_record=None, population_x=None, unit_medians=False,
          desc=None):
    """Train `model` with minibatch SGD; record statistics at step 0, every `eval_every` steps
    and at the last step.

    Inputs:
    - model: an MLP; data: (x_train, y_train, x_test, y_test) as `load_mnist` returns it.
    - steps: number of SGD updates; lr, momentum: for SGD.
    - eval_every: steps between records (int), or an explicit sorted list of steps.
    - rng: np.random.Generator for the minibatch order; unit: which unit's input to follow.
    - progress: show a tqdm bar (None: when a person is watching), labelled `desc` (None:
      "with BN" or "without BN").
    - on_record: optional function called with `history` after each record (for example to
      report progress from another process).
    - population_x: training inputs (M, D_in). If given, a network with BN is evaluated with
      the population statistics of Algorithm 2 computed on them (`population_statistics`);
      None: with its running averages, as PyTorch does.
    - unit_medians: also record the median over the test set of the input of *every* unit of
      the last hidden layer (to see whether the followed unit is typical).

    Returns a dict of lists, one entry per record: "step", "test_acc", "loss" (training loss of
    the minibatch at that step, NaN at step 0), "percentiles" (n_hidden, 3) arrays,
    "grad_norms" (one norm per hidden weight matrix), and with unit_medians "unit_medians"
    (width of the last hidden layer,) arrays.
    Raises TrainingDiverged, naming the step, if the loss or a BN statistic stops being finite.
    """
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(0) if rng is None else rng
    record_at = set(range(0, steps + 1, eval_every) if np.isscalar(eval_every) else eval_every)
    record_at |= {0, steps}
    optimizer = SGD(model.flat_params, model.flat_grads, lr, momentum)   # one update for all
    batches = minibatches(len(x_train), batch_size, rng)
    history = {"step": [], "test_acc": [], "loss": [], "percentiles": [], "grad_norms": [],
               **({"unit_medians": []} if unit_medians else {})}
    loss = float("nan")
    desc = desc or ("with BN" if model.use_bn else "without BN")
    with progress_bar(steps, desc, progress) as bar:
        for step in range(steps + 1):
            if step in record_at:
                with population_statistics(model, population_x):
                    _record(history, model, step, loss, x_test, y_test, unit)
                if on_record is not None:
                    on_record(history)
            if step == steps:
                break
            idx = next(batches)                                     # (batch_size,)
            loss = train_step(model, optimizer, x_train[idx], y_train[idx], step + 1)
            bar.update()
    return history


@contextlib.contextmanager
def population_statistics(model, x):
    """Inside this block, BN layers hold Algorithm 2's population statistics, computed on `x`.

    Ioffe & Szegedy (2015, Alg. 2) run inference with the mean and the unbiased variance of
    each BN input averaged over training minibatches (see bnlib.inference). On leaving, the
    running averages come back and the model returns to its mode, so training continues as if
    nothing happened. Does nothing if `x` is None or the model has no BatchNorm1d layer (no
    BN, or layer norm / group norm, which keep no statistics).
    Inputs: model, an MLP; x (M, D_in) training inputs, at least one batch of 60.
    """
    if x is None or not any(isinstance(bn, BatchNorm1d) for bn in model.bns):
        yield model
        return
    saved = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.bns]
    was_training = model.training
    try:
        yield recompute_population_statistics(model, x)
    finally:
        for bn, (mean, var) in zip(model.bns, saved):
            bn.running_mean[...], bn.running_var[...] = mean, var
        model.train() if was_training else model.eval()


def _record(history, model, step, loss, x_test, y_test, unit):
    """Append one record to `history` (see `train`)."""
    accuracy, percentiles, last_layer = _evaluate(model, x_test, y_test, unit)
    if "unit_medians" in history:
        history["unit_medians"].append(np.median(last_layer, axis=0))
    history["step"].append(step)
    history["test_acc"].append(accuracy)
    history["loss"].append(loss)
    history["percentiles"].append(percentiles)
    history["grad_norms"].append([float(np.linalg.norm(model.grads[f"W{k}"]))
                                  for k in range(1, model.n_hidden + 1)])
