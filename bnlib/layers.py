"""The other layers a small network needs, each forward right above its backward.

Every `*_forward` returns (out, cache); every `*_backward(dout, cache)` returns the gradients
of its inputs, in the style of CS231n's layers.
"""
import numpy as np

from .checks import as_float_array, check_shape


def affine_forward(x, W, b=None):
    """Fully-connected layer: out = x @ W + b.

    Inputs: x (N, D_in), W (D_in, D_out), b (D_out,) or None for no bias.
    Returns (out (N, D_out), cache).
    """
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if W.shape[0] != x.shape[1]:
        raise ValueError(f"W must have {x.shape[1]} rows to match x's {x.shape[1]} columns, "
                         f"got W of shape {W.shape}")
    out = x @ W                                    # (N, D_out)
    if b is not None:
        b = as_float_array(b, "b", ndim=1)
        check_shape(b, (W.shape[1],), "b")
        out += b
    return out, (x, W)


def affine_backward(dout, cache, need_dx=True):
    """Backward of `affine_forward`. Returns (dx (N, D_in), dW (D_in, D_out), db (D_out,)).

    db is returned even for a layer without bias (it is then simply not used). With
    need_dx=False, dx is None: a network's first layer needs no gradient for its input.
    """
    x, W = cache
    dx = dout @ W.T if need_dx else None
    return dx, x.T @ dout, dout.sum(axis=0)


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), written so that it never overflows."""
    z = as_float_array(z, "z")
    out = np.exp(-np.abs(z))                       # in (0, 1]: no overflow for large |z|
    return np.where(z >= 0, 1.0 / (1.0 + out), out / (1.0 + out)).astype(z.dtype, copy=False)


def sigmoid_forward(z):
    """Sigmoid layer. Returns (out = sigmoid(z), cache)."""
    out = sigmoid(z)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward of `sigmoid_forward`: dz = dout * s * (1 - s), the local gradient is at most 1/4."""
    s = cache
    return dout * s * (1.0 - s)


def relu_forward(z):
    """ReLU layer. Returns (out = max(z, 0), cache)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0), z


def relu_backward(dout, cache):
    """Backward of `relu_forward`: the gradient passes where z > 0."""
    return dout * (cache > 0)


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
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)   # (N, C) avoids overflow in exp
    log_z = np.log(np.exp(shifted).sum(axis=1))            # (N,)
    rows = np.arange(n)
    loss = float(np.mean(log_z - shifted[rows, y]))
    dlogits = np.exp(shifted - log_z[:, None])             # (N, C) softmax
    dlogits[rows, y] -= 1
    dlogits /= n
    return loss, dlogits
