"""Fine-tuning a trained BN network on shifted images, its statistics frozen or updating
(notebook 11).

The new task: MNIST with a grey background and half the contrast (`shift_contrast`). Compared
on its test set: the network as it is; its BN statistics re-estimated on the new images with
Algorithm 2, no gradient step; and fine-tuning at several learning rates with the statistics
frozen (bnlib.variants.FrozenBatchNorm1d: BN "in eval mode") or updating (ordinary training).
Run from notebook 11, and at full scale by the command `eval_gap`.
"""
import math

import numpy as np

from ..checks import as_float_array
from ..inference import clone_mlp, recompute_population_statistics
from ..train import train
from ..variants import freeze_batchnorm
from .fig1 import POPULATION_IMAGES


FINE_TUNING_STEPS = 1000   # of the command `eval_gap` (notebook 11 runs 300)


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
