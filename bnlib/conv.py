"""A convolution layer and a small convolutional network, in numpy; each forward above its backward.

A convolution layer (mathematically a cross-correlation, as in every deep-learning library)
with F filters w (F, C, K, K), a bias b (F,), stride S and zero padding P maps images
x (N, C, H, W) to feature maps out (N, F, H', W'), H' = (H + 2P - K) // S + 1 (W' alike):

    out[n, f, i, j] = b[f] + sum over c, u, v of  x_pad[n, c, S*i + u, S*j + v] * w[f, c, u, v]

with x_pad the input with P rows and columns of zeros added on each side.

im2col ("image to columns"): output position (n, i, j) reads one patch of C * K * K numbers.
Written as one row per position, the patches form a matrix cols (N * H' * W', C * K * K),
columns ordered (c, u, v) like w.reshape(F, -1); the whole layer is then one matrix product,
    out_rows = cols @ w.reshape(F, -1).T + b          # (N * H' * W', F)
and its backward is that of an affine layer, followed by col2im:
    dw = out_rows_grad.T @ cols,   db = sum over rows,   dcols = out_rows_grad @ w.reshape(F, -1),
    dx = col2im(dcols): each patch's gradient added back onto the pixels it was read from.
Patches overlap when S < K, so a pixel collects the gradients of every patch it belongs to.

`ConvNet` is the small network of notebook 12: conv -> spatial BN (or a bias) -> ReLU, twice,
then a linear layer and softmax cross-entropy.
"""
from typing import NamedTuple

import numpy as np

from .checks import as_float_array
from .layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_cross_entropy
from .spatial import SpatialBatchNorm2d


class ConvCache(NamedTuple):
    """What `conv_forward` keeps for `conv_backward`."""

    x_shape: tuple       # (N, C, H, W) of the input
    cols: np.ndarray     # (N * H' * W', C * K * K) the input's patches
    w: np.ndarray        # (F, C, K, K) filters
    stride: int
    pad: int


def output_size(size, kernel, stride=1, pad=0):
    """H' = (H + 2 * pad - kernel) // stride + 1, the output height (or width) of a convolution."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x, kernel, stride=1, pad=0):
    """The patches of a convolution, one row per output position.

    Inputs: x (N, C, H, W); kernel K; stride S; pad P (zeros added on each side).
    Returns cols (N * H' * W', C * K * K): row n * H' * W' + i * W' + j holds the patch
    x_pad[n, :, S*i : S*i + K, S*j : S*j + K], flattened in the order (c, u, v).
    """
    x = as_float_array(x, "x (N, C, H, W)", ndim=4)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))         # (N, C, H+2P, W+2P)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                          # (N, C, H', W', K, K)
    n, c, h_out, w_out = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c * kernel * kernel)


def col2im(dcols, x_shape, kernel, stride=1, pad=0):
    """Backward of `im2col`: add the gradient of every patch entry onto the pixel it came from.

    Inputs: dcols (N * H' * W', C * K * K); x_shape (N, C, H, W); kernel, stride, pad as for
    `im2col`. Returns dx (N, C, H, W).
    """
    n, c, h, w = x_shape
    h_out, w_out = output_size(h, kernel, stride, pad), output_size(w, kernel, stride, pad)
    patches = dcols.reshape(n, h_out, w_out, c, kernel, kernel)
    dpadded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for u in range(kernel):
        for v in range(kernel):
            # entry (u, v) of the patch at (i, j) was read from padded pixel (S*i + u, S*j + v)
            dpadded[:, :, u:u + stride * h_out:stride, v:v + stride * w_out:stride] += \
                patches[:, :, :, :, u, v].transpose(0, 3, 1, 2)         # (N, C, H', W')
    return dpadded[:, :, pad:pad + h, pad:pad + w]


def _check_conv(x, w, b, stride, pad):
    """Raise a clear error for filters, bias, stride or padding that do not fit x."""
    f, c, k, k2 = w.shape
    if c != x.shape[1] or k != k2:
        raise ValueError(f"filters of shape {w.shape} do not fit images of shape {x.shape}: "
                         f"need (F, {x.shape[1]}, K, K)")
    if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
        raise ValueError(f"stride must be an integer >= 1 and pad >= 0, got {stride}, {pad}")
    if min(x.shape[2:]) + 2 * pad < k:
        raise ValueError(f"the {k}x{k} filters are larger than the padded images {x.shape}")
    if b is not None and np.shape(b) != (f,):
        raise ValueError(f"b must have shape ({f},), got {np.shape(b)}")


def conv_forward(x, w, b=None, stride=1, pad=0):
    """Convolution layer: F filters slid over the images with the given stride and padding.

    Inputs: x (N, C, H, W); w (F, C, K, K); b (F,) or None (no bias: BN follows);
    stride S >= 1; pad P >= 0.
    Returns (out (N, F, H', W'), cache). out is a view of an (N, H', W', F) array, so that
    its rows (N * H' * W', F) are what spatial batch norm normalises, without a copy.
    """
    x = as_float_array(x, "x (N, C, H, W)", ndim=4)
    w = as_float_array(w, "w (F, C, K, K)", ndim=4)
    _check_conv(x, w, b, stride, pad)
    f, _, k, _ = w.shape
    n, _, h, width = x.shape
    h_out, w_out = output_size(h, k, stride, pad), output_size(width, k, stride, pad)
    cols = im2col(x, k, stride, pad)                                    # (N*H'*W', C*K*K)
    rows, _ = affine_forward(cols, w.reshape(f, -1).T, b)               # (N*H'*W', F)
    out = rows.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2)        # (N, F, H', W')
    return out, ConvCache(x.shape, cols, w, stride, pad)


def conv_backward(dout, cache, need_dx=True):
    """Backward of `conv_forward`.

    Inputs: dout (N, F, H', W'); cache from `conv_forward`; need_dx=False skips dx (a
    network's first layer needs no gradient for its images).
    Returns (dx (N, C, H, W) or None, dw (F, C, K, K), db (F,)).
    """
    x_shape, cols, w, stride, pad = cache
    f = w.shape[0]
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, f)              # (N*H'*W', F)
    dcols, dw_t, db = affine_backward(dout_rows, (cols, w.reshape(f, -1).T), need_dx=need_dx)
    dx = col2im(dcols, x_shape, w.shape[2], stride, pad) if need_dx else None
    return dx, dw_t.T.reshape(w.shape), db


class ConvNet:
    """conv -> spatial BN (or bias) -> ReLU, twice, then linear, on images (N, 1, 28, 28).

    Inputs:
    - use_bn: spatial batch norm after each convolution (then the convolutions have no bias,
      which the mean subtraction would cancel; beta takes its role).
    - channels: (input channels, filters of conv 1, filters of conv 2).
    - image_size: height = width of the input images.
    - classes: outputs of the linear layer.
    - kernel, stride: of both convolutions; padding kernel // 2 ("same" for stride 1).
    - rng: np.random.Generator for the initial weights: filters N(0, 2 / fan_in) (He et al.
      2015, for ReLU), linear layer N(0, 1 / fan_in), biases 0.
    - dtype: float32 (fast) or float64 (for gradient checks); bn_momentum as BatchNorm1d.

    `params` maps "W1", "W2" (filters), "W3" (linear, (flat, classes)), "b3" and, per conv
    layer k, "gamma{k}", "beta{k}" with BN or "b{k}" without, to arrays updated in place;
    after `loss(x, y)` `grads` holds their gradients (so bnlib.SGD and train_step work).
    """

    def __init__(self, use_bn, channels=(1, 8, 16), image_size=28, classes=10, kernel=3,
                 stride=2, rng=None, dtype=np.float32, bn_momentum=0.1):
        rng = np.random.default_rng(0) if rng is None else rng
        self.use_bn, self.channels, self.image_size = bool(use_bn), tuple(channels), image_size
        self.kernel, self.stride, self.pad, self.dtype = kernel, stride, kernel // 2, np.dtype(dtype)
        self.params, self.bns, self.training = {}, [], True
        size = image_size
        for k, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:]), start=1):
            fan_in = c_in * kernel * kernel
            self.params[f"W{k}"] = np.sqrt(2 / fan_in) * rng.standard_normal(
                (c_out, c_in, kernel, kernel))
            if use_bn:
                bn = SpatialBatchNorm2d(c_out, momentum=bn_momentum, dtype=dtype)
                self.bns.append(bn)
                self.params[f"gamma{k}"], self.params[f"beta{k}"] = bn.gamma, bn.beta
            else:
                self.params[f"b{k}"] = np.zeros(c_out)
            size = output_size(size, kernel, stride, self.pad)
        last = len(channels)
        flat = channels[-1] * size * size
        self.params[f"W{last}"] = np.sqrt(1 / flat) * rng.standard_normal((flat, classes))
        self.params[f"b{last}"] = np.zeros(classes)
        for name, p in self.params.items():     # gamma, beta stay the BN layers' own arrays
            if p.dtype != self.dtype:
                self.params[name] = p.astype(self.dtype)
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.n_conv, self._caches = len(channels) - 1, None

    def train(self):
        """Training mode: BN uses batch statistics and updates its running averages."""
        self.training = True
        for bn in self.bns:
            bn.train()
        return self

    def eval(self):
        """Evaluation mode: BN uses its running averages."""
        self.training = False
        for bn in self.bns:
            bn.eval()
        return self

    def forward(self, x):
        """Logits (N, classes) of images x (N, H * W) or (N, 1, H, W); keeps the caches."""
        x = as_float_array(x, "x").astype(self.dtype, copy=False)
        h = x.reshape(len(x), self.channels[0], self.image_size, self.image_size)
        p, caches = self.params, []
        for k in range(1, self.n_conv + 1):
            a, conv_cache = conv_forward(h, p[f"W{k}"], p.get(f"b{k}"), self.stride, self.pad)
            z = self.bns[k - 1].forward(a) if self.use_bn else a        # (N, F, H', W')
            h, relu_cache = relu_forward(z)
            caches.append((conv_cache, relu_cache))
        flat = h.reshape(len(h), -1)                                    # (N, F * H' * W')
        k = self.n_conv + 1
        logits, affine_cache = affine_forward(flat, p[f"W{k}"], p[f"b{k}"])
        self._caches = (caches, affine_cache, h.shape)
        return logits

    def backward(self, dlogits):
        """Fill `grads` from the gradient of the loss w.r.t. the logits (N, classes)."""
        caches, affine_cache, shape = self._caches
        g, k = self.grads, self.n_conv + 1
        dflat, g[f"W{k}"][...], g[f"b{k}"][...] = affine_backward(dlogits, affine_cache)
        dh = dflat.reshape(shape)                                       # (N, F, H', W')
        for k in range(self.n_conv, 0, -1):
            conv_cache, relu_cache = caches[k - 1]
            dz = relu_backward(dh, relu_cache)
            if self.use_bn:
                bn = self.bns[k - 1]
                da = bn.backward(dz)
                g[f"gamma{k}"][...], g[f"beta{k}"][...] = bn.dgamma, bn.dbeta
            else:
                da = dz
            dh, g[f"W{k}"][...], db = conv_backward(da, conv_cache, need_dx=k > 1)
            if not self.use_bn:
                g[f"b{k}"][...] = db

    def loss(self, x, y):
        """Mean softmax cross-entropy on (x, y); also computes `grads`. Returns the loss."""
        loss, dlogits = softmax_cross_entropy(self.forward(x), y)
        self.backward(dlogits)
        return loss

    def predict(self, x, batch_size=1000):
        """Predicted classes (N,) of images x, in evaluation mode, `batch_size` at a time."""
        was_training = self.training
        self.eval()
        try:
            return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                                   for i in range(0, len(x), batch_size)])
        finally:
            self.train() if was_training else self.eval()
