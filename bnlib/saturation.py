"""Saturation, the maths behind notebook 04's sliders: how much of a sigmoid layer's input sits
where the sigmoid is flat, without and with batch norm, one layer or several deep.

Everything the sliders show is computed here by plain functions that pytest can call without
a browser: `sigmoid_inputs` (one layer's z, without or with BN), `saturation_stats` (how much of
z sits where the sigmoid is flat), `deep_signal` (the same, layer after layer, plus the
gradient that flows back) and `readout_text`. The panel and its sliders are drawn by
bnlib.figures.saturation.

Conventions:
- A layer computes a = h @ (scale * W) + shift, with W drawn once from N(0, 1), so "weight
  scale" is the standard deviation of every weight and "shift" is a bias shared by all units.
- Without BN the sigmoid's input is z = a; with BN it is z = gamma * BN(a) + beta, where BN
  uses the batch statistics (training mode, Algorithm 1 of Ioffe & Szegedy 2015) and gamma,
  beta are the same for every unit. BN subtracts the batch mean, so "shift" has no effect there.
- A sigmoid input z is *saturated* when |z| > SATURATION_THRESHOLD (see below).
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .batchnorm import batchnorm_backward, batchnorm_forward
from .checks import as_float_array
from .data import load_mnist
from .layers import affine_backward, affine_forward, sigmoid, sigmoid_backward

# |z| > 4  <=>  sigmoid'(z) < sigmoid'(4) = 0.0177, less than 1/14 of the peak sigmoid'(0) = 1/4:
# a unit there passes back at most about 7% of what it would pass in the middle of the curve.
SATURATION_THRESHOLD = 4.0


@dataclass(frozen=True)
class SliderParams:
    """One setting of the sliders; SLIDERS maps each slider's description to its field."""

    scale: float = 0.1    # "weight scale": standard deviation of every weight
    shift: float = 0.0    # "shift": the bias added to every affine output
    gamma: float = 1.0    # "gamma": BN's scale, the same for every unit
    beta: float = 0.0     # "beta": BN's shift, the same for every unit
    depth: int = 6        # "depth": how many layers the deep panel follows


# Slider description -> (SliderParams field, min, max, step). The descriptions are a contract
# with tests/test_browser.py, which drives the sliders by these names: do not rename them.
SLIDERS = {
    "weight scale": ("scale", 0.05, 1.5, 0.05),
    "shift": ("shift", -8.0, 8.0, 0.5),
    "gamma": ("gamma", 0.0, 8.0, 0.25),
    "beta": ("beta", -8.0, 8.0, 0.5),
    "depth": ("depth", 1, 10, 1),
}


class DemoData(NamedTuple):
    """The fixed batch and weights every slider setting is computed from."""

    x: np.ndarray          # (N, 784) the input batch
    weights: list          # max_depth arrays, (784, width) then (width, width), entries N(0, 1)
    probe: np.ndarray      # (N, width) the gradient dL/dh arriving at the last layer's output


def saturation_demo_data(x=None, batch_size=60, width=100, max_depth=10, seed=0):
    """Draw the demo's fixed input batch, unit weights and probe gradient from one seed.

    Inputs: x (M, D) to sample the batch from (None: the MNIST test images); batch_size N
    (60, the paper's mini-batch in Sec. 4.1); width of the hidden layers (100 as in the paper);
    max_depth, the number of layers prepared; seed for np.random.default_rng.
    Returns a DemoData with float64 arrays.
    """
    if x is None:
        x = load_mnist()[2]                                   # (10000, 784) test images
    x = as_float_array(x, "x", ndim=2)
    if not 2 <= batch_size <= len(x):
        raise ValueError(f"batch_size must lie in [2, {len(x)}], got {batch_size}")
    rng = np.random.default_rng(seed)
    batch = x[rng.choice(len(x), size=batch_size, replace=False)].astype(np.float64)  # (N, D)
    sizes = [x.shape[1]] + [width] * max_depth
    weights = [rng.standard_normal((d_in, d_out)) for d_in, d_out in zip(sizes, sizes[1:])]
    probe = rng.standard_normal((batch_size, width))          # (N, width)
    return DemoData(batch, weights, probe)


def _check_setting(scale, shift, gamma, beta):
    """Raise ValueError unless the slider values are finite and the weight scale is >= 0."""
    for name, value in (("scale", scale), ("shift", shift), ("gamma", gamma), ("beta", beta)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if scale < 0:
        raise ValueError(f"scale is a standard deviation and must be >= 0, got {scale!r}")


def _layer_forward(h, W, scale, shift, gamma, beta, use_bn):
    """One layer up to the sigmoid's input: (z (N, D_out), affine cache, BN cache or None)."""
    _check_setting(scale, shift, gamma, beta)
    d_out = W.shape[1]
    a, affine_cache = affine_forward(h, scale * W, np.full(d_out, float(shift)))  # (N, D_out)
    if not use_bn:
        return a, affine_cache, None
    gammas = np.broadcast_to(np.asarray(gamma, float), (d_out,)).copy()   # (D_out,)
    betas = np.broadcast_to(np.asarray(beta, float), (d_out,)).copy()     # (D_out,)
    z, bn_cache = batchnorm_forward(a, gammas, betas)
    return z, affine_cache, bn_cache


def sigmoid_inputs(x, W, scale, shift=0.0, gamma=1.0, beta=0.0, use_bn=False):
    """The input z of a layer's sigmoids: x @ (scale W) + shift, then optionally BN.

    Inputs: x (N, D_in); W (D_in, D_out); scale >= 0 and shift, floats; gamma and beta,
    floats or (D_out,) arrays (used only with BN); use_bn, whether BN sits before the sigmoid.
    Returns z (N, D_out).
    """
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    return _layer_forward(x, W, scale, shift, gamma, beta, use_bn)[0]


def sigmoid_local_gradient(z):
    """The sigmoid's derivative sigmoid'(z) = s (1 - s) with s = sigmoid(z), elementwise."""
    z = as_float_array(z, "z")
    s = sigmoid(z.reshape(-1)).reshape(z.shape)    # reshape: also for a single number
    return s * (1.0 - s)


def saturation_stats(z):
    """How much of z sits where the sigmoid is flat.

    Inputs: z, an array of sigmoid inputs (any shape, at least one value).
    Returns dict(fraction_saturated = share of entries with |z| > SATURATION_THRESHOLD,
                 mean_local_gradient = the mean of sigmoid'(z)), both floats.
    """
    z = as_float_array(z, "z")
    if z.size == 0:
        raise ValueError("z is empty: there is nothing to measure")
    return dict(fraction_saturated=float(np.mean(np.abs(z) > SATURATION_THRESHOLD)),
                mean_local_gradient=float(np.mean(sigmoid_local_gradient(z))))


def _deep_forward(data, params, use_bn):
    """Run params.depth layers (affine -> [BN] -> sigmoid). Returns (list of z, list of caches)."""
    if not 1 <= params.depth <= len(data.weights):
        raise ValueError(f"depth must lie in [1, {len(data.weights)}], got {params.depth}")
    h, zs, caches = data.x, [], []
    for W in data.weights[:params.depth]:
        z, affine_cache, bn_cache = _layer_forward(h, W, params.scale, params.shift,
                                                   params.gamma, params.beta, use_bn)
        h = sigmoid(z)                                        # (N, width)
        zs.append(z)
        caches.append((affine_cache, bn_cache, h))
    return zs, caches


def _deep_backward(probe, caches):
    """Backpropagate `probe` (dL/dh of the last layer); return dL/dz of every layer, first first."""
    dh, dzs = probe, []
    for affine_cache, bn_cache, h in reversed(caches):
        dz = sigmoid_backward(dh, h)                          # (N, width)
        dzs.append(dz)
        da = dz if bn_cache is None else batchnorm_backward(dz, bn_cache)[0]
        dh = affine_backward(da, affine_cache)[0]             # (N, D_in)
    return dzs[::-1]


def deep_signal(data, params, use_bn):
    """Follow the batch through params.depth layers, without or with BN, forward and back.

    Inputs: data, a DemoData; params, a SliderParams (scale, shift, gamma, beta, depth);
    use_bn, whether every layer has BN before its sigmoid.
    Returns a dict of (depth,) arrays, one entry per layer, first layer first:
    fraction_saturated and mean_local_gradient (see saturation_stats), z_mean and z_std (the
    mean and standard deviation of all of that layer's sigmoid inputs), and grad_median and
    grad_rms, the median of |dL/dz| (what a typical unit receives) and its root-mean-square
    (dominated by the few largest entries) when the fixed probe gradient dL/dh is fed in at
    the top. Also "z_first": the (N, width) sigmoid inputs of the first layer.
    """
    zs, caches = _deep_forward(data, params, use_bn)
    dzs = _deep_backward(data.probe, caches)
    stats = [saturation_stats(z) for z in zs]
    return dict(fraction_saturated=np.array([s["fraction_saturated"] for s in stats]),
                mean_local_gradient=np.array([s["mean_local_gradient"] for s in stats]),
                z_mean=np.array([z.mean() for z in zs]), z_std=np.array([z.std() for z in zs]),
                grad_median=np.array([np.median(np.abs(dz)) for dz in dzs]),
                grad_rms=np.array([np.sqrt(np.mean(dz * dz)) for dz in dzs]), z_first=zs[0])


def readout_text(plain, with_bn):
    """The one-line readout, e.g. "without BN: 63.1% saturated, mean σ'(z) = 0.052 | with BN: ...".

    Inputs: plain and with_bn, dicts as returned by saturation_stats.
    """
    def side(name, stats):
        return (f"{name}: {100 * stats['fraction_saturated']:.1f}% saturated, "
                f"mean σ'(z) = {stats['mean_local_gradient']:.3f}")
    return f"{side('without BN', plain)} | {side('with BN', with_bn)}"
