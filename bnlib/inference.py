"""Batch norm at inference: population statistics (Algorithm 2) and folding BN into a layer.

After training, batch norm in evaluation mode is a fixed affine map of each feature:
    BN(z) = gamma * (z - mean) / sqrt(var + eps) + beta = scale * z + shift,
with scale = gamma / sqrt(var + eps) and shift = beta - mean * scale. Its (mean, var) should be
the population statistics of the training data (Ioffe & Szegedy 2015, Alg. 2, steps 8-11):
    E[z] = average of the batch means,  Var[z] = m / (m - 1) * average of the batch variances,
over many training batches of size m. And since the affine map follows an affine layer
z = x @ W + b, the two can be merged into one: x @ (W * scale) + (b * scale + shift).

Also here: what a network left in *training* mode predicts at test time (each image then
depends on the other images of its batch: `batch_mode_predictions`), reading and writing every
BN layer's statistics, and copying or folding a whole MLP.
"""
import math

import numpy as np

from .batchnorm import BatchNorm1d
from .checks import as_float_array, check_shape
from .model import MLP
from .variants import FrozenBatchNorm1d


def fold_batchnorm(W, b, bn):
    """Merge an evaluation-mode `BatchNorm1d` into the affine layer before it.

    Inputs:
    - W: (D_in, D) weights and b: (D,) bias (or None) of the layer z = x @ W + b.
    - bn: a BatchNorm1d(D) in evaluation mode (its running statistics are the ones used).

    Returns (W_folded (D_in, D), b_folded (D,)) such that
    x @ W_folded + b_folded equals bn.forward(x @ W + b) for every x.
    """
    if not isinstance(bn, BatchNorm1d):
        raise TypeError(f"bn must be a BatchNorm1d, got {type(bn).__name__}")
    if bn.training:
        raise RuntimeError("fold_batchnorm needs bn in evaluation mode (call bn.eval() first): "
                           "in training mode BN uses each batch's own statistics, which no "
                           "fixed weights can reproduce")
    W = as_float_array(W, "W", ndim=2)
    check_shape(W, (W.shape[0], bn.num_features), "W")
    b = np.zeros(bn.num_features, W.dtype) if b is None else as_float_array(b, "b", ndim=1)
    check_shape(b, (bn.num_features,), "b")
    scale = bn.gamma / np.sqrt(bn.running_var + bn.eps)        # (D,)
    shift = bn.beta - bn.running_mean * scale                  # (D,)
    return W * scale, b * scale + shift


def recompute_population_statistics(model, x, batch_size=60, rng=None):
    """Replace the running statistics of every BN layer of `model` by Algorithm 2's estimates.

    The training inputs `x` (N, D_in) are cut into N // batch_size batches of `batch_size`
    (shuffled with `rng` if given, else in order; the incomplete last batch is dropped) and
    passed forward in training mode. Every BN layer then holds the average of its batch means
    and of its unbiased batch variances, m / (m - 1) * sigma_B^2, as in Alg. 2. The earlier
    layers normalise with batch statistics while this runs, as they did during training.
    Inputs: model with a list `bns` of BatchNorm1d, `forward`, `train()` and `eval()` (an MLP).
    Returns the model, in evaluation mode.
    """
    if not getattr(model, "bns", None):
        raise ValueError("the model has no batch-norm layers (model.bns is empty or missing): "
                         "there are no statistics to recompute")
    if not all(isinstance(bn, BatchNorm1d) for bn in model.bns):
        raise TypeError("recompute_population_statistics needs BatchNorm1d layers, got "
                        f"{sorted({type(bn).__name__ for bn in model.bns})} (layer norm and "
                        "group norm keep no statistics)")
    x = as_float_array(x, "x", ndim=2)
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    num_batches = len(x) // batch_size
    if num_batches < 1:
        raise ValueError(f"x holds {len(x)} samples, fewer than one batch of {batch_size}")
    order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
    momenta = [bn.momentum for bn in model.bns]
    model.train()
    try:
        for t, idx in enumerate(order[:num_batches * batch_size].reshape(num_batches, -1)):
            for bn in model.bns:
                bn.momentum = 1.0 / (t + 1)    # running value = plain average of batches 0..t
            model.forward(x[idx])
    finally:
        for bn, momentum in zip(model.bns, momenta):
            bn.momentum = momentum
    return model.eval()


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
