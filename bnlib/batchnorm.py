"""Batch Normalization for fully-connected layers: the paper's Algorithms 1 and 2.

Conventions (Ioffe & Szegedy 2015, and `torch.nn.BatchNorm1d`, which we match exactly):

- Training mode normalises each column of the batch `x` (N, D) with the batch mean and the
  *biased* batch variance (divide by N), as in Algorithm 1.
- eps is added to the variance *inside* the square root: x_hat = (x - mean) / sqrt(var + eps).
- Running statistics start at mean 0 and variance 1. `momentum` weights the *new* batch value:
  running = (1 - momentum) * running + momentum * batch   (PyTorch; Keras's momentum 0.99
  weights the *old* value instead, so Keras 0.99 is PyTorch 0.01).
- `running_var` stores the *unbiased* batch variance, var * N / (N - 1), the m/(m-1) of
  Algorithm 2, while the normalisation itself uses the biased one.
- Evaluation mode normalises with the running statistics, so any batch size works, even 1.
"""
from typing import NamedTuple

import numpy as np

from .checks import as_float_array, check_backward, check_finite, check_positive, check_shape
from .columns import column_mean, column_sum


class BatchNormCache(NamedTuple):
    """What the training-mode forward keeps for the backward pass."""

    x: np.ndarray        # (N, D) input
    mean: np.ndarray     # (D,)  mu_B, the batch mean
    var: np.ndarray      # (D,)  sigma_B^2, the biased batch variance
    inv_std: np.ndarray  # (D,)  1 / sqrt(var + eps)
    x_hat: np.ndarray    # (N, D) normalised input
    gamma: np.ndarray    # (D,)  scale
    eps: float


def _check_params(x, gamma, beta, eps):
    """Validate the inputs of a forward pass; return them as float arrays."""
    x = as_float_array(x, "x", ndim=2)
    n, d = x.shape
    gamma = as_float_array(gamma, "gamma", ndim=1)
    beta = as_float_array(beta, "beta", ndim=1)
    check_shape(gamma, (d,), "gamma")
    check_shape(beta, (d,), "beta")
    check_positive(eps, "eps")
    return x, gamma, beta


def batch_statistics(x):
    """Column mean and biased variance of `x` (N, D), computed in two passes.

    The corrected two-pass algorithm: centre with a first estimate of the mean, then add the
    (tiny) mean of the centred data back. Unlike E[x^2] - E[x]^2 it stays accurate for float32
    data with a large offset (say 1e4) and unit spread.

    Returns mean (D,), var (D,) and the centred data x - mean (N, D).
    """
    n = x.shape[0]
    if n < 2:
        raise ValueError(
            f"batch norm in training mode needs more than 1 value per feature, got a batch of {n}; "
            "the batch variance of a single sample is 0 and the output would collapse to beta "
            "(use eval mode for single samples)")
    mean = column_mean(x)                          # (D,)  first estimate
    check_finite(mean, "the batch mean")
    xc = x - mean                                  # (N, D)  the only new (N, D) array here
    correction = column_mean(xc)                   # (D,)  rounding error of the first estimate
    var = np.einsum("nd,nd->d", xc, xc)            # (D,)  sum of squares: one pass, no xc**2
    var /= n
    var -= correction * correction                 # biased variance (divide by N)
    np.maximum(var, 0, out=var)                    # rounding can leave -1e-16 on a constant column
    check_finite(var, "the batch variance", " (float overflow? rescale the input)")
    xc -= correction                               # in place
    return mean + correction, var, xc


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm (Algorithm 1) on a batch `x` of shape (N, D).

    Inputs:
    - x: (N, D) with N >= 2; integers are promoted to float64.
    - gamma, beta: (D,) scale and shift.
    - eps: > 0, added to the variance inside the square root.

    Returns (out, cache): out (N, D) = gamma * x_hat + beta, and the cache for the backwards.
    """
    x, gamma, beta = _check_params(x, gamma, beta, eps)
    mean, var, x_centred = batch_statistics(x)     # (D,), (D,), (N, D) x - mean
    inv_std = 1.0 / np.sqrt(var + eps)             # (D,)  eps inside the root
    x_hat = x_centred                              # the same array, normalised in place:
    x_hat *= inv_std                               # (N, D) (x - mean) / sqrt(var + eps)
    out = x_hat * gamma                            # (N, D)  the second and last new array
    out += beta                                    # in place
    return out, BatchNormCache(x, mean, var, inv_std, x_hat, gamma, eps)


def batchnorm_backward(dout, cache):
    """Closed-form backward of `batchnorm_forward`.

    With dbeta = sum_n dout and dgamma = sum_n dout * x_hat (sums over the batch):
        dx = gamma * inv_std / N * (N * dout - dbeta - x_hat * dgamma)

    Inputs: dout (N, D), the upstream gradient; cache from `batchnorm_forward`.
    Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    dout = check_backward(dout, cache, BatchNormCache, "batchnorm_forward")
    n, x_hat = dout.shape[0], cache.x_hat
    dbeta = column_sum(dout)                                  # (D,)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)                # (D,) one pass, no temporary
    scale = cache.gamma * cache.inv_std                        # (D,)
    # dx = (dout - dbeta / N - x_hat * dgamma / N) * scale, built in the one (N, D) array dx
    # with in-place steps; its dtype is what numpy would give for the whole formula.
    dtype = np.result_type(dout, x_hat, scale)
    dx = np.multiply(x_hat, dgamma / -n, dtype=dtype)          # (N, D)
    dx += dout
    dx -= dbeta / n
    dx *= scale
    return dx, dgamma, dbeta


def batchnorm_backward_staged(dout, cache):
    """Backward of `batchnorm_forward`, node by node through the computational graph.

    The forward graph, with the name of each node:
        mean = sum(x) / N,   xc = x - mean,   sq = xc**2,   var = sum(sq) / N,
        std = sqrt(var + eps),   inv_std = 1 / std,   x_hat = xc * inv_std,
        out = gamma * x_hat + beta
    Each line below is one node's local chain rule, from the output back to x. Where a node
    feeds several others (xc feeds sq and x_hat; x feeds xc and mean) the gradients of the
    paths are added.

    Inputs: dout (N, D); cache from `batchnorm_forward`.
    Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    dout = check_backward(dout, cache, BatchNormCache, "batchnorm_forward")
    n = dout.shape[0]
    x_hat, gamma, inv_std = cache.x_hat, cache.gamma, cache.inv_std
    xc = cache.x - cache.mean                      # recompute the forward node xc
    std = np.sqrt(cache.var + cache.eps)
    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat = xc * inv_std: two inputs, two local gradients
    dinv_std = (dx_hat * xc).sum(axis=0)
    dxc = dx_hat * inv_std                         # first path into xc
    # inv_std = 1 / std;  std = sqrt(var + eps)
    dstd = -dinv_std / std**2
    dvar = dstd * 0.5 / std
    # var = sum(sq) / N;  sq = xc**2
    dsq = np.ones_like(xc) * dvar / n
    dxc += 2 * xc * dsq                            # second path into xc
    # xc = x - mean;  mean = sum(x) / N
    dmean = -dxc.sum(axis=0)
    dx = dxc + np.ones_like(xc) * dmean / n        # both paths into x
    return dx, dgamma, dbeta


def batchnorm_eval_forward(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation-mode batch norm: normalise `x` (N, D) with fixed statistics (Algorithm 2).

    Returns out (N, D) = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
    Any N >= 1 works, since nothing is estimated from the batch.
    """
    x, gamma, beta = _check_params(x, gamma, beta, eps)
    running_mean = as_float_array(running_mean, "running_mean", ndim=1)
    running_var = as_float_array(running_var, "running_var", ndim=1)
    check_shape(running_mean, gamma.shape, "running_mean")
    check_shape(running_var, gamma.shape, "running_var")
    check_finite(running_mean, "running_mean")
    check_finite(running_var, "running_var")
    if np.any(running_var < 0):
        raise ValueError(f"running_var must hold variances >= 0, got a minimum of "
                         f"{running_var.min()}")
    scale = gamma / np.sqrt(running_var + eps)     # (D,)
    out = x * scale                                # (N, D)  one pass, then one in place
    out += beta - running_mean * scale             # (D,) shift: beta - mean * scale
    return out


class NormLayer:
    """What bnlib's normalisation layers share: gamma (ones) and beta (zeros) per feature,
    dgamma and dbeta after `backward`, and the train()/eval() switch (`training`).

    Subclasses (BatchNorm1d, LayerNorm1d, GroupNorm1d, ...) define forward(x), which stores
    its cache in `_cache`, and _backward(dout, cache) -> (dx, dgamma, dbeta); `backward` is
    shared. gamma and beta are read at every call, so a model (bnlib.MLP) may replace them by
    views of its own arrays.
    Inputs: num_features D (at least `min_features`), eps > 0, dtype of gamma and beta.
    """

    # the end of backward's error message when no forward has left a cache to follow
    missing_forward = "called before forward"

    def __init__(self, num_features, eps, dtype, min_features=1):
        if int(num_features) != num_features or num_features < min_features:
            raise ValueError(f"num_features must be an integer >= {min_features}, "
                             f"got {num_features!r}")
        check_positive(eps, "eps")
        self.num_features, self.eps = int(num_features), float(eps)
        self.gamma = np.ones(self.num_features, dtype)
        self.beta = np.zeros(self.num_features, dtype)
        self.dgamma = self.dbeta = None
        self.training = True
        self._cache = None

    def train(self):
        """Switch to training mode; returns self."""
        self.training = True
        return self

    def eval(self):
        """Switch to evaluation mode; returns self."""
        self.training = False
        return self

    def backward(self, dout):
        """Backpropagate `dout` (N, D) through the last forward: return dx, store dgamma, dbeta."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward {self.missing_forward}")
        dx, self.dgamma, self.dbeta = self._backward(dout, self._cache)
        return dx


class BatchNorm1d(NormLayer):
    """A batch-norm layer with learned gamma/beta and running statistics, like torch's.

    Inputs:
    - num_features: D, the number of columns it normalises.
    - eps: > 0, added to the variance inside the square root (PyTorch's default 1e-5).
    - momentum: in [0, 1], the weight of the *new* batch statistics in the running averages.
    - dtype: float dtype of the parameters and running statistics.

    After `backward(dout)`, the gradients are in `dgamma` and `dbeta`.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__(num_features, eps, dtype)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1] (the weight of the new batch value), "
                             f"got {momentum!r}")
        self.momentum = float(momentum)
        self.running_mean = np.zeros(self.num_features, dtype)
        self.running_var = np.ones(self.num_features, dtype)

    def forward(self, x):
        """Normalise `x` (N, D); in training mode also update the running statistics."""
        if not self.training:
            self._cache = None
            return batchnorm_eval_forward(x, self.gamma, self.beta, self.running_mean,
                                          self.running_var, self.eps)
        out, self._cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        n, m = out.shape[0], self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * self._cache.mean
        self.running_var *= 1 - m
        self.running_var += m * self._cache.var * (n / (n - 1))  # unbiased, as torch stores it
        return out

    missing_forward = ("called without a training-mode forward before it "
                       "(call train() and forward(x) first)")
    _backward = staticmethod(batchnorm_backward)

    def __repr__(self):
        mode = "train" if self.training else "eval"
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"mode={mode})")
