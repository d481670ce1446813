"""The training loop: minibatch SGD that records test accuracy and per-layer statistics."""
import contextlib
import math
import os
import sys

import numpy as np
from tqdm.auto import tqdm

from .inference import recompute_population_statistics
from .model import SGD

PERCENTILES = (15, 50, 85)


def show_progress():
    """True when a person is watching: a terminal or a live notebook, and not under CI."""
    if os.environ.get("CI") or os.environ.get("BNLIB_PROGRESS") == "0":
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def minibatches(n, batch_size, rng):
    """Yield index arrays (batch_size,) forever: one permutation per epoch, cut into batches.

    The last incomplete batch of an epoch is dropped, so every batch has the same size.
    """
    per_epoch = n // batch_size
    while True:
        order = rng.permutation(n)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
        yield from order


def evaluate(model, x_test, y_test, unit=0):
    """Test accuracy and, per hidden layer, the percentiles of one unit's nonlinearity input.

    Returns (accuracy, percentiles (n_hidden, 3)) with the 15th, 50th and 85th percentile over
    the test set of z[:, unit] in each hidden layer, as in the paper's Fig. 1(b, c).
    """
    accuracy = float(np.mean(model.predict(x_test) == y_test))
    # predict() ran the whole test set in one pass; its pre-activations are still stored
    z_unit = [z[:, unit] for z in model.pre_activations]
    return accuracy, np.percentile(np.stack(z_unit), PERCENTILES, axis=1).T


def train(model, data, steps, lr, momentum=0.0, batch_size=60, eval_every=1000, rng=None,
          unit=0, progress=None, on_record=None, population_x=None, unit_medians=False):
    """Train `model` with minibatch SGD; record statistics at step 0, every `eval_every` steps
    and at the last step.

    Inputs:
    - model: an MLP; data: (x_train, y_train, x_test, y_test) as `load_mnist` returns them.
    - steps: number of SGD updates; lr, momentum: for SGD.
    - eval_every: steps between records (int), or an explicit sorted list of steps.
    - rng: np.random.Generator for the minibatch order; unit: which unit's input to follow.
    - progress: show a tqdm bar (None: when a person is watching).
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
    Raises RuntimeError, naming the step, if the loss stops being finite.
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
    bar = tqdm(total=steps, disable=not (show_progress() if progress is None else progress),
               desc="BN" if model.use_bn else "no BN")
    for step in range(steps + 1):
        if step in record_at:
            with population_statistics(model, population_x):
                _record(history, model, step, loss, x_test, y_test, unit)
            if on_record is not None:
                on_record(history)
        if step == steps:
            break
        idx = next(batches)                                     # (batch_size,)
        loss = model.loss(x_train[idx], y_train[idx])
        if not math.isfinite(loss):
            bar.close()
            raise RuntimeError(f"the training loss became {loss} at step {step + 1} "
                               f"(lr={lr}); the learning rate is probably too high, try a lower one")
        optimizer.step()
        bar.update()
    bar.close()
    return history


@contextlib.contextmanager
def population_statistics(model, x):
    """Inside this block, BN layers hold Algorithm 2's population statistics, computed on `x`.

    Ioffe & Szegedy (2015, Alg. 2) run inference with the mean and the unbiased variance of
    each BN input averaged over training minibatches (see bnlib.inference). On leaving, the
    running averages come back and the model returns to its mode, so training continues as if
    nothing happened. Does nothing if `x` is None or the model has no BN layer.
    Inputs: model, an MLP; x (M, D_in) training inputs, at least one batch of 60.
    """
    if x is None or not model.bns:
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
    accuracy, percentiles = evaluate(model, x_test, y_test, unit)
    if "unit_medians" in history:   # evaluate's pass over the test set left its inputs here
        history["unit_medians"].append(np.median(model.pre_activations[-1], axis=0))
    history["step"].append(step)
    history["test_acc"].append(accuracy)
    history["loss"].append(loss)
    history["percentiles"].append(percentiles)
    history["grad_norms"].append([float(np.linalg.norm(model.grads[f"W{k}"]))
                                  for k in range(1, model.n_hidden + 1)])
