"""Batch norm for convolutional feature maps x of shape (N, C, H, W), in training mode.

A convolution applies the same filter at every position, so all H * W positions of channel c
hold the same feature. Batch norm keeps that property by normalising every value of channel c
with the same statistics, taken over the N * H * W values of the channel in the batch, and by
learning one gamma and one beta per channel (Ioffe & Szegedy 2015, Sec. 3.2: the "effective
mini-batch" of size m' = m * p * q for feature maps of size p x q).

That is exactly batch norm of a 2-D batch whose rows are the N * H * W positions and whose
columns are the C channels, so this module only moves the channel axis last, reshapes to
(N * H * W, C) and calls `batchnorm_forward` / `batchnorm_backward`: one copy of the BN math.
Conventions are those of bnlib/batchnorm.py (biased variance, eps inside the square root),
as in `torch.nn.BatchNorm2d` in training mode.

`SpatialBatchNorm2d` is the layer (learned gamma, beta and running statistics per channel, as
`torch.nn.BatchNorm2d`) that bnlib's convolutional network uses (bnlib/conv.py).
`conv2d_forward` makes feature maps for the demonstrations (forward only; the layer with its
backward is `bnlib.conv_forward`).
"""
from typing import Any, NamedTuple

import numpy as np

from .batchnorm import BatchNorm1d, batchnorm_backward, batchnorm_forward
from .checks import as_float_array, check_backward


class SpatialBatchNormCache(NamedTuple):
    """What `spatial_batchnorm_forward` keeps: the 2-D batch-norm cache and the 4-D shape."""

    bn_cache: Any        # BatchNormCache of the (N * H * W, C) problem
    shape: tuple         # (N, C, H, W)


def to_columns(x):
    """(N, C, H, W) -> (N * H * W, C): one row per position, one column per channel (a copy)."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def from_columns(cols, shape):
    """Inverse of `to_columns`: (N * H * W, C) -> (N, C, H, W) of the given shape."""
    n, c, h, w = shape
    return np.ascontiguousarray(cols.reshape(n, h, w, c).transpose(0, 3, 1, 2))


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm of feature maps `x` (N, C, H, W), with statistics per channel.

    Inputs:
    - x: (N, C, H, W) with N * H * W >= 2 (more than one value per channel).
    - gamma, beta: (C,) scale and shift, one per channel.
    - eps: > 0, added to each channel's biased variance inside the square root.

    Returns (out (N, C, H, W), cache); cache.bn_cache.mean and .var are the (C,) statistics.
    """
    x = as_float_array(x, "x (N, C, H, W)", ndim=4)
    n, c, h, w = x.shape
    if n * h * w < 2:
        raise ValueError(f"spatial batch norm needs more than 1 value per channel, got x of "
                         f"shape {x.shape} (N * H * W = 1): the variance would be 0 and the "
                         "output would collapse to beta")
    out, bn_cache = batchnorm_forward(to_columns(x), gamma, beta, eps)   # (N * H * W, C)
    return from_columns(out, x.shape), SpatialBatchNormCache(bn_cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Backward of `spatial_batchnorm_forward`.

    Inputs: dout (N, C, H, W); cache from `spatial_batchnorm_forward`.
    Returns (dx (N, C, H, W), dgamma (C,), dbeta (C,)), the parameter gradients summed over
    N, H and W.
    """
    dout = check_backward(dout, cache, SpatialBatchNormCache, "spatial_batchnorm_forward",
                          ndim=4, shape_of=lambda cache: cache.shape)
    dx, dgamma, dbeta = batchnorm_backward(to_columns(dout), cache.bn_cache)
    return from_columns(dx, cache.shape), dgamma, dbeta


class SpatialBatchNorm2d(BatchNorm1d):
    """Batch norm of feature maps (N, C, H, W), one gamma, beta, running mean and variance per
    channel: `BatchNorm1d` applied to the (N * H * W, C) rows of `to_columns`.

    Training mode normalises each channel with its N * H * W values of the batch; the running
    variance stores their unbiased variance (divide by N * H * W - 1), as torch.nn.BatchNorm2d.
    Inputs: num_features C, eps, momentum, dtype as for BatchNorm1d.
    forward(x (N, C, H, W)) -> (N, C, H, W); backward(dout (N, C, H, W)) -> dx, and stores
    dgamma, dbeta (C,), summed over N, H and W.
    """

    def forward(self, x):
        """Normalise `x` (N, C, H, W); in training mode also update the running statistics."""
        x = as_float_array(x, "x (N, C, H, W)", ndim=4)
        return _maps(super().forward(to_columns(x)), x.shape)

    def backward(self, dout):
        """Backpropagate `dout` (N, C, H, W): return dx (N, C, H, W), store dgamma, dbeta."""
        dout = as_float_array(dout, "dout (N, C, H, W)", ndim=4)
        return _maps(super().backward(to_columns(dout)), dout.shape)

    def __repr__(self):
        return "Spatial" + super().__repr__().replace("BatchNorm1d", "BatchNorm2d")


def _maps(cols, shape):
    """(N * H * W, C) rows -> (N, C, H, W), as a view (no copy; `from_columns` copies)."""
    n, c, h, w = shape
    return cols.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def conv2d_forward(x, filters):
    """'Valid' 2-D cross-correlation (what deep-learning libraries call a convolution).

    Inputs: x (N, C_in, H, W) images; filters (C_out, C_in, K, K).
    Returns out (N, C_out, H - K + 1, W - K + 1), with
    out[n, o, i, j] = sum over c, u, v of x[n, c, i + u, j + v] * filters[o, c, u, v].
    """
    x = as_float_array(x, "x (N, C, H, W)", ndim=4)
    filters = as_float_array(filters, "filters (C_out, C_in, K, K)", ndim=4)
    c_out, c_in, k, k2 = filters.shape
    if c_in != x.shape[1] or k != k2 or k > min(x.shape[2:]):
        raise ValueError(f"filters of shape {filters.shape} do not fit images of shape "
                         f"{x.shape} (need C_in = {x.shape[1]}, square K x K, K <= H and W)")
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # (N,C,H',W',K,K)
    return np.einsum("nchwuv,ocuv->nohw", windows, filters, optimize=True)
