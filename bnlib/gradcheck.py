"""Numerical gradients by central differences, and the relative error used to compare them."""
import numpy as np


def numerical_gradient(f, x, dout=None, h=1e-5):
    """Central-difference gradient of `sum(f(x) * dout)` with respect to the array `x`.

    Inputs:
    - f: function of no arguments that reads `x` (which is changed in place, then restored)
      and returns a scalar or an array.
    - x: float64 array, the variable to differentiate by.
    - dout: upstream gradient with f's output shape (None: f returns a scalar).
    - h: step. The truncation error of central differences is O(h^2) and the rounding error
      O(eps_64 / h), so h = 1e-5 gives about 1e-10 absolute error for smooth functions of O(1).

    Returns grad with x's shape.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs float64 for accuracy, got {x.dtype}")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = np.sum(f() if dout is None else f() * dout)
        x[idx] = old - h
        minus = np.sum(f() if dout is None else f() * dout)
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b, floor=1e-8):
    """Largest relative error max |a - b| / max(|a| + |b|, floor), elementwise.

    The floor keeps entries where both are ~0 from dividing by zero; their error then counts
    as absolute error relative to `floor`.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
