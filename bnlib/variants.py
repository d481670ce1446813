"""Two variants of batch norm used by the experiments: frozen statistics, and noise after BN.

- FrozenBatchNorm1d: BN "in eval mode" during fine-tuning. Its statistics stay fixed in both
  modes while gamma and beta keep learning, so the backward pass has no sums over the batch:
      out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta,
      dx = dout * gamma / sqrt(running_var + eps).
- NoisyBatchNorm1d: Santurkar, Tsipras, Ilyas & Madry (NeurIPS 2018, "How Does Batch
  Normalization Help Optimization?", Sec. 2.1) test the internal-covariate-shift explanation of
  BN by injecting noise *after* each BN layer, so that the next layer's input distribution
  changes at every step however stable BN made it. At every training step, for every layer
  (our defaults):
      mu ~ U(-0.5, 0.5),  sigma ~ U(1, 1.25)                       one pair per layer and step
      m  ~ U(mu - 0.1, mu + 0.1),  s ~ N(sigma, 0.1)               one pair per sample and unit
      a <- s * a + m                                               a = gamma * x_hat + beta
  Evaluation mode adds no noise. The backward pass multiplies the incoming gradient by s, then
  runs BN's backward (so dgamma and dbeta see the noise too).
"""
from typing import NamedTuple

import numpy as np

from .batchnorm import BatchNorm1d, NormLayer, batchnorm_backward, batchnorm_eval_forward
from .checks import check_backward


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


class NoisyBatchNorm1d(BatchNorm1d):
    """BatchNorm1d whose training-mode output gets Santurkar et al.'s random scale and shift.

    Inputs: num_features D; rng, a np.random.Generator for the noise; eps, momentum, dtype as
    for BatchNorm1d; mean_range (mu ~ U(-mean_range, mean_range)), scale_range (sigma ~
    U(*scale_range)), shift_jitter (m ~ U(mu - shift_jitter, mu + shift_jitter)) and
    scale_jitter (s ~ N(sigma, scale_jitter)).
    After a training-mode forward, `noise` holds (scale s, shift m), both (N, D). Set
    `hold_noise = True` to reuse them in the next forward passes (for gradient checks).
    """

    def __init__(self, num_features, rng, eps=1e-5, momentum=0.1, dtype=np.float64,
                 mean_range=0.5, scale_range=(1.0, 1.25), shift_jitter=0.1, scale_jitter=0.1):
        super().__init__(num_features, eps, momentum, dtype)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
        low, high = scale_range
        if not (mean_range >= 0 and 0 < low <= high and shift_jitter >= 0 and scale_jitter >= 0):
            raise ValueError("noise ranges must satisfy mean_range >= 0, 0 < scale_range[0] <= "
                             "scale_range[1], shift_jitter >= 0 and scale_jitter >= 0")
        self.rng, self.mean_range, self.scale_range = rng, float(mean_range), (low, high)
        self.shift_jitter, self.scale_jitter = float(shift_jitter), float(scale_jitter)
        self.noise, self.hold_noise = None, False

    def draw_noise(self, shape, dtype):
        """One step's noise for an output of `shape` (N, D): returns (scale s, shift m)."""
        mu = self.rng.uniform(-self.mean_range, self.mean_range)    # per layer and step
        sigma = self.rng.uniform(*self.scale_range)
        draw = np.float32 if dtype == np.float32 else np.float64    # numpy draws these natively
        shift = self.rng.random(shape, draw)                         # (N, D), U(0, 1)
        shift *= 2 * self.shift_jitter
        shift += mu - self.shift_jitter                              # U(mu - jitter, mu + jitter)
        scale = self.rng.standard_normal(shape, draw)                # (N, D), N(0, 1)
        scale *= self.scale_jitter
        scale += sigma                                               # N(sigma, jitter^2)
        return scale.astype(dtype, copy=False), shift.astype(dtype, copy=False)

    def forward(self, x):
        """BN of `x` (N, D); in training mode then a <- s * a + m with fresh (or held) noise."""
        out = super().forward(x)                 # (N, D), a new array: safe to change in place
        if not self.training:
            return out
        if not self.hold_noise or self.noise is None:
            self.noise = self.draw_noise(out.shape, out.dtype)
        elif self.noise[0].shape != out.shape:
            raise ValueError(f"hold_noise is set, but the held noise has shape "
                             f"{self.noise[0].shape} and the batch gives {out.shape}")
        scale, shift = self.noise
        out *= scale
        out += shift
        return out

    def _backward(self, dout, cache):
        """Multiply `dout` (N, D) by the noise scale s, then BN's backward (see `backward`)."""
        return batchnorm_backward(dout * self.noise[0], cache)

    def __repr__(self):
        return "Noisy" + super().__repr__()


def noisy_norm_layer(rng, dtype=np.float32, **noise):
    """A `norm_layer` for MLP: num_features -> NoisyBatchNorm1d drawing its noise from `rng`.

    All layers share `rng`; `noise` passes mean_range, scale_range, ... on. Example:
    MLP(sizes, use_bn=True, norm_layer=noisy_norm_layer(np.random.default_rng(0))).
    """
    return lambda num_features: NoisyBatchNorm1d(num_features, rng, dtype=dtype, **noise)
