"""Group normalisation (Wu & He 2018) for convolutional feature maps x of shape (N, C, H, W).

The C channels of each sample are split into `num_groups` groups of C / G consecutive
channels; each group of each sample is normalised over its (C / G) * H * W values, so, like
layer norm, no statistic crosses samples and any batch size works. The learned scale and
shift act per channel, as in `torch.nn.GroupNorm(G, C)`.
Special cases: G = 1 is layer norm over (C, H, W); G = C is instance norm.

Each group is one row of x.reshape(N * G, -1), so the normalisation is `normalize_rows` of
bnlib/layernorm.py (itself batch norm on the transpose): the BN math lives in one place.
Conventions: biased variance, eps inside the square root.
"""
from typing import NamedTuple

import numpy as np

from .batchnorm import NormLayer
from .checks import as_float_array, check_backward, check_positive, check_shape
from .layernorm import RowNormCache, check_affine, normalize_rows, normalize_rows_backward


class GroupNormCache(NamedTuple):
    """What `groupnorm_forward` keeps for `groupnorm_backward`."""

    rows: RowNormCache   # cache of the normalisation of the (N * G, C / G * H * W) rows
    x_hat: np.ndarray    # (N, C, H, W) normalised input
    gamma: np.ndarray    # (C,) scale


def _check_groups(num_groups, shape):
    """Raise a clear error unless `num_groups` splits the C channels of `shape` evenly."""
    n, c, h, w = shape
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"num_groups must be an integer, got {num_groups!r}")
    if num_groups < 1:
        raise ValueError(f"num_groups must be a positive integer, got {num_groups!r}")
    if c % num_groups:
        raise ValueError(f"the {c} channels are not divisible by num_groups={num_groups}")
    if c // num_groups * h * w < 2:
        raise ValueError(f"each group holds a single value (C/G * H * W = 1 for x of shape "
                         f"{shape}); its variance is 0, so use fewer groups or larger maps")
    return int(num_groups)


def groupnorm_forward(x, gamma, beta, num_groups, eps=1e-5):
    """Group norm of `x` (N, C, H, W), with a scale and shift per channel.

    Inputs:
    - x: (N, C, H, W) feature maps; any N >= 1.
    - gamma, beta: (C,) scale and shift, one per channel.
    - num_groups: G, a divisor of C.
    - eps: > 0, added to each group's biased variance inside the square root.

    Returns (out (N, C, H, W) = gamma * x_hat + beta, cache).
    """
    x = as_float_array(x, "x (N, C, H, W)", ndim=4)
    gamma, beta = check_affine(gamma, beta, x.shape[1])
    g = _check_groups(num_groups, x.shape)
    check_positive(eps, "eps")
    n = x.shape[0]
    rows, row_cache = normalize_rows(x.reshape(n * g, -1), eps)   # (N * G, C / G * H * W)
    x_hat = rows.reshape(x.shape)                                  # (N, C, H, W)
    per_channel = (1, -1, 1, 1)                                    # broadcast (C,) over N, H, W
    out = x_hat * gamma.reshape(per_channel) + beta.reshape(per_channel)
    return out, GroupNormCache(row_cache, x_hat, gamma)


def groupnorm_backward(dout, cache):
    """Backward of `groupnorm_forward`.

    dgamma and dbeta sum over N, H and W (per channel); dx goes back through the row
    normalisation with dx_hat = dout * gamma.
    Inputs: dout (N, C, H, W); cache from `groupnorm_forward`.
    Returns (dx (N, C, H, W), dgamma (C,), dbeta (C,)).
    """
    dout = check_backward(dout, cache, GroupNormCache, "groupnorm_forward", ndim=4)
    dbeta = dout.sum(axis=(0, 2, 3))                              # (C,)
    dgamma = np.einsum("nchw,nchw->c", dout, cache.x_hat)         # (C,)
    dx_hat = dout * cache.gamma.reshape(1, -1, 1, 1)              # (N, C, H, W)
    dx = normalize_rows_backward(dx_hat.reshape(cache.rows.shape), cache.rows)
    return dx.reshape(dout.shape), dgamma, dbeta


class GroupNorm1d(NormLayer):
    """A group-norm layer for (N, D) inputs with BatchNorm1d's interface, for `MLP(norm_layer=)`.

    The D features are seen as D channels of 1 x 1 maps, x.reshape(N, D, 1, 1): each sample's
    features are split into `num_groups` groups of D / G consecutive features, each normalised
    over its own D / G values (G = 1 is layer norm). Features of an MLP have no order, so the
    groups are arbitrary; the point is that no statistic crosses the batch.
    Inputs: num_features D; num_groups G, a divisor of D with D / G >= 2; eps > 0; dtype of
    gamma (ones) and beta (zeros), one per feature.
    There are no running statistics: train() and eval() only set `training` and change
    nothing in the computation; any batch size works, even 1. gamma and beta are read at
    every call. After `backward(dout)`, the gradients are in `dgamma` and `dbeta`.
    """

    def __init__(self, num_features, num_groups, eps=1e-5, dtype=np.float64):
        super().__init__(num_features, eps, dtype)
        self.num_groups = _check_groups(num_groups, (1, self.num_features, 1, 1))

    def forward(self, x):
        """Group norm of `x` (N, D) with the current gamma and beta; returns (N, D)."""
        x = as_float_array(x, "x", ndim=2)
        check_shape(x, (x.shape[0], self.num_features), "x")
        out, self._cache = groupnorm_forward(x[:, :, None, None], self.gamma, self.beta,
                                             self.num_groups, self.eps)   # (N, D, 1, 1)
        return out.reshape(x.shape)

    @staticmethod
    def _backward(dout, cache):
        """groupnorm_backward of `dout` (N, D) seen as (N, D, 1, 1): (dx (N, D), dgamma, dbeta)."""
        dout = as_float_array(dout, "dout", ndim=2)
        dx, dgamma, dbeta = groupnorm_backward(dout[:, :, None, None], cache)
        return dx.reshape(dout.shape), dgamma, dbeta

    def __repr__(self):
        return f"GroupNorm1d({self.num_features}, num_groups={self.num_groups}, eps={self.eps})"
