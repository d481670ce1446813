"""Batch norm at inference: population statistics (Algorithm 2) and folding BN into a layer.

After training, batch norm in evaluation mode is a fixed affine map of each feature:
    BN(z) = gamma * (z - mean) / sqrt(var + eps) + beta = scale * z + shift,
with scale = gamma / sqrt(var + eps) and shift = beta - mean * scale. Its (mean, var) should be
the population statistics of the training data (Ioffe & Szegedy 2015, Alg. 2, steps 8-11):
    E[z] = average of the batch means,  Var[z] = m / (m - 1) * average of the batch variances,
over many training batches of size m. And since the affine map follows an affine layer
z = x @ W + b, the two can be merged into one: x @ (W * scale) + (b * scale + shift).
"""
import numpy as np

from .batchnorm import BatchNorm1d
from .checks import as_float_array, check_shape


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
