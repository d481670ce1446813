"""The other layers a small network needs, each forward right above its backward.

Every `*_forward` returns (out, cache); every `*_backward(dout, cache)` returns the gradients
of its inputs, in the style of CS231n's layers.

Most functions take an optional `out=` buffer (or a tuple of buffers): the result is then
written into it instead of a new array. The network in `bnlib.model` uses this to reuse the
same memory at every training step; written without `out`, each function reads as the maths.
"""
import numpy as np

from .checks import as_float_array, check_shape


def affine_forward(x, W, b=None, out=None):
    """Fully-connected layer: out = x @ W + b.

    Inputs: x (N, D_in), W (D_in, D_out), b (D_out,) or None for no bias;
    out: optional (N, D_out) buffer to write the result into.
    Returns (out (N, D_out), cache).
    """
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if W.shape[0] != x.shape[1]:
        raise ValueError(f"W must have {x.shape[1]} rows to match x's {x.shape[1]} columns, "
                         f"got W of shape {W.shape}")
    out = np.matmul(x, W, out=out)                 # (N, D_out)
    if b is not None:
        b = as_float_array(b, "b", ndim=1)
        check_shape(b, (W.shape[1],), "b")
        out += b
    return out, (x, W)


def affine_backward(dout, cache, need_dx=True, out=None, need_db=True):
    """Backward of `affine_forward`. Returns (dx (N, D_in), dW (D_in, D_out), db (D_out,)).

    With need_dx=False, dx is None: a network's first layer needs no gradient for its input.
    With need_db=False, db is None: a layer without bias (say, one followed by batch norm)
    needs none. out: optional tuple of buffers (dx, dW, db) to write into; any may be None.
    """
    x, W = cache
    dx_out, dW_out, db_out = (None, None, None) if out is None else out
    dx = np.matmul(dout, W.T, out=dx_out) if need_dx else None     # (N, D_in)
    dW = np.matmul(x.T, dout, out=dW_out)                           # (D_in, D_out)
    db = np.add.reduce(dout, axis=0, out=db_out) if need_db else None   # (D_out,) batch sum
    return dx, dW, db


def sigmoid(z, out=None):
    """The logistic function 1 / (1 + exp(-z)), elementwise; `out` is an optional buffer.

    For very negative z, exp(-z) overflows to infinity and 1 / (1 + inf) = 0, less than the
    smallest normal float away from the true value, so that overflow is silenced (as is the
    harmless underflow of exp(-z) to 0 for very positive z). Everywhere else this form is
    accurate to a few units in the last place (no cancellation: 1 + exp(-z) >= 1).
    """
    z = as_float_array(z, "z")
    out = np.empty_like(z) if out is None else out   # an array even for a scalar z
    with np.errstate(over="ignore", under="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid_forward(z, out=None):
    """Sigmoid layer. Returns (out = sigmoid(z), cache)."""
    out = sigmoid(z, out=out)
    return out, out


def sigmoid_backward(dout, cache, out=None):
    """Backward of `sigmoid_forward`: dz = dout * s * (1 - s), the local gradient is at most 1/4.

    out: optional buffer for dz; it must not be `dout` itself.
    """
    s = cache
    out = np.subtract(1, s, out=out)               # 1 - s
    out *= s
    out *= dout
    return out


def relu_forward(z, out=None):
    """ReLU layer. Returns (out = max(z, 0), cache)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0, out=out), z


def relu_backward(dout, cache, out=None):
    """Backward of `relu_forward`: the gradient passes where z > 0."""
    return np.multiply(dout, cache > 0, out=out)


def dropout_forward(h, p, rng):
    """Inverted dropout (Srivastava et al. 2014), for training: each entry of `h` is dropped
    (set to 0) with probability p, and the kept ones are divided by 1 - p.

    Inputs: h (N, D); p, the drop probability, 0 <= p < 1; rng, a np.random.Generator.
    Returns (out (N, D), mask (N, D)), out = h * mask, mask holding 0 (dropped) or 1 / (1 - p)
    (kept). Dividing by 1 - p keeps the expected output equal to h, so at evaluation time the
    layer does nothing: no entry dropped, nothing rescaled.
    """
    h = as_float_array(h, "h")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p (the drop probability) must lie in [0, 1), got {p!r}")
    keep = rng.random(h.shape) >= p                     # (N, D) True with probability 1 - p
    mask = keep * np.asarray(1.0 / (1.0 - p), h.dtype)  # (N, D) 0 or 1 / (1 - p)
    return h * mask, mask


def dropout_backward(dout, mask):
    """Backward of `dropout_forward`: dh = dout * mask, the gradient passes where the entry
    was kept, scaled by 1 / (1 - p) like the entry itself."""
    return dout * mask


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of a softmax over `logits` (N, C) against integer labels `y` (N,).

    Returns (loss, dlogits): the scalar mean loss and its gradient (N, C),
    dlogits = (softmax(logits) - one_hot(y)) / N.
    """
    logits = as_float_array(logits, "logits", ndim=2)
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape != logits.shape[:1]:
        raise ValueError(f"y must be integer labels of shape ({logits.shape[0]},), "
                         f"got dtype {y.dtype} and shape {y.shape}")
    n, classes = logits.shape
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"y must hold class labels in [0, {classes}), "
                         f"got values from {y.min()} to {y.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)   # (N, C) avoids overflow in exp
    probs = np.exp(shifted)                                # (N, C) unnormalised for now
    total = np.add.reduce(probs, axis=1)                   # (N,)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total) - shifted[rows, y]))
    probs /= total[:, None]                                # softmax
    probs[rows, y] -= 1
    probs /= n
    return loss, probs
