"""Layer normalisation (Ba, Kiros & Hinton 2016): batch norm's statistics taken along a row.

Batch norm normalises each *column* of x (N, D) over the batch; layer norm normalises each
*row* (one sample) over its D features, so it needs no batch and behaves the same in training
and evaluation. Normalising the rows of x is normalising the columns of x.T, so the
normalisation itself is `batchnorm_forward` on the transpose with gamma = 1 and beta = 0:
the BN math lives in one place (bnlib/batchnorm.py). The learned scale and shift then act per
*feature* (column), as in `torch.nn.LayerNorm(D)`.

Conventions, as in batch norm: biased variance (divide by D), eps inside the square root.
"""
from typing import Any, NamedTuple

import numpy as np

from .batchnorm import NormLayer, batchnorm_backward, batchnorm_forward
from .checks import as_float_array, check_backward, check_finite, check_positive, check_shape


class RowNormCache(NamedTuple):
    """What `normalize_rows` keeps: the batch-norm cache of the transposed problem."""

    bn_cache: Any        # BatchNormCache of batchnorm_forward(x.T, 1, 0, eps)
    shape: tuple         # (R, M) shape of the normalised input


def normalize_rows(x, eps):
    """Normalise each row of `x` (R, M) to mean 0 and variance 1 (biased, eps inside the root).

    Inputs: x (R, M) float array with M >= 2 finite values per row; eps > 0.
    Returns (x_hat (R, M), cache for `normalize_rows_backward`).
    """
    rows, m = x.shape
    if m < 2:
        raise ValueError(f"each row needs at least 2 values to normalise, got {m} "
                         "(the variance of a single value is 0: the output would collapse to beta)")
    check_finite(x, "x")
    ones, zeros = np.ones(rows, x.dtype), np.zeros(rows, x.dtype)
    x_hat_t, bn_cache = batchnorm_forward(x.T, ones, zeros, eps)   # (M, R) columns = our rows
    return x_hat_t.T, RowNormCache(bn_cache, x.shape)


def normalize_rows_backward(dx_hat, cache):
    """Backward of `normalize_rows`: dx_hat (R, M) -> dx (R, M)."""
    dx_t, _, _ = batchnorm_backward(dx_hat.T, cache.bn_cache)      # (M, R)
    return dx_t.T


class LayerNormCache(NamedTuple):
    """What `layernorm_forward` keeps for `layernorm_backward`."""

    rows: RowNormCache   # cache of the row normalisation
    x_hat: np.ndarray    # (N, D) normalised input
    gamma: np.ndarray    # (D,) scale


def check_affine(gamma, beta, size):
    """Return gamma and beta as float arrays of shape (size,), or raise a clear error."""
    gamma = as_float_array(gamma, "gamma", ndim=1)
    beta = as_float_array(beta, "beta", ndim=1)
    check_shape(gamma, (size,), "gamma")
    check_shape(beta, (size,), "beta")
    return gamma, beta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer norm of `x` (N, D): each sample normalised over its features, then scaled per feature.

    Inputs:
    - x: (N, D) with D >= 2 (any N >= 1: no batch statistics are involved).
    - gamma, beta: (D,) scale and shift, one per feature.
    - eps: > 0, added to each row's biased variance inside the square root.

    Returns (out (N, D) = gamma * x_hat + beta, cache).
    """
    x = as_float_array(x, "x", ndim=2)
    gamma, beta = check_affine(gamma, beta, x.shape[1])
    check_positive(eps, "eps")
    x_hat, rows = normalize_rows(x, eps)           # (N, D)
    out = x_hat * gamma + beta                     # (N, D)
    return out, LayerNormCache(rows, x_hat, gamma)


def layernorm_backward(dout, cache):
    """Backward of `layernorm_forward`.

    dbeta and dgamma sum over the batch (per feature), as in batch norm; dx goes back through
    the row normalisation with dx_hat = dout * gamma.
    Inputs: dout (N, D); cache from `layernorm_forward`.
    Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    dout = check_backward(dout, cache, LayerNormCache, "layernorm_forward")
    dbeta = dout.sum(axis=0)                                    # (D,)
    dgamma = np.einsum("nd,nd->d", dout, cache.x_hat)           # (D,)
    dx = normalize_rows_backward(dout * cache.gamma, cache.rows)
    return dx, dgamma, dbeta


class LayerNorm1d(NormLayer):
    """A layer-norm layer for (N, D) inputs with BatchNorm1d's interface, for `MLP(norm_layer=)`.

    Inputs: num_features D; eps > 0 (inside the square root, as in batch norm); dtype of
    gamma (ones) and beta (zeros).
    No statistic crosses the batch, so there are no running statistics: train() and eval()
    only set `training` and change nothing in the computation, and any batch size works,
    even 1. gamma and beta are read at every call, so a model may replace them by views of
    its own arrays. After `backward(dout)`, the gradients are in `dgamma` and `dbeta`.
    """

    def __init__(self, num_features, eps=1e-5, dtype=np.float64):
        super().__init__(num_features, eps, dtype, min_features=2)   # a row needs 2 values

    def forward(self, x):
        """Layer norm of `x` (N, D) with the current gamma and beta; returns (N, D)."""
        out, self._cache = layernorm_forward(x, self.gamma, self.beta, self.eps)
        return out

    _backward = staticmethod(layernorm_backward)

    def __repr__(self):
        return f"LayerNorm1d({self.num_features}, eps={self.eps})"
