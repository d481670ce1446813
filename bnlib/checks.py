"""Input checks shared by every layer: clear errors instead of silent NaNs."""
import numpy as np


class NonFiniteError(ValueError):
    """A value that must be finite is NaN or infinite: bad input, or a computation that
    overflowed (a diverging training run is the usual cause; bnlib.train turns it into
    TrainingDiverged)."""


def as_float_array(x, name, ndim=None):
    """Return `x` as a floating-point ndarray, or raise a clear error.

    Integer input is promoted to float64; float32 and float64 are kept as they are.

    Inputs:
    - x: anything array-like.
    - name: what to call it in an error message, e.g. "x" or "gamma".
    - ndim: the number of dimensions `x` must have (None: any).

    Raises TypeError for non-numeric input (strings, objects, booleans, complex numbers)
    and ValueError for the wrong number of dimensions.
    """
    arr = np.asarray(x)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def check_shape(arr, shape, name):
    """Raise ValueError unless `arr.shape == shape`."""
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def check_positive(value, name):
    """Raise ValueError unless `value` is a finite number > 0 (used for eps and learning rates)."""
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_finite(arr, name, hint=""):
    """Raise NonFiniteError (a ValueError) if `arr` holds NaN or infinity (a cheap check on a
    reduced array)."""
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"{name} is not finite (NaN or infinity in the input?){hint}")


def check_backward(dout, cache, cache_type, forward_name, ndim=2,
                   shape_of=lambda cache: cache.x_hat.shape):
    """Validate the inputs of a layer's backward; return dout as a float array.

    A forward must have run: `cache` must be the `cache_type` that `forward_name` returns
    (else RuntimeError), and dout must have `ndim` dimensions and the shape of the forward's
    output, `shape_of(cache)` (else ValueError).
    """
    if not isinstance(cache, cache_type):
        raise RuntimeError(f"backward called before forward: pass the cache returned by "
                           f"{forward_name} (got {type(cache).__name__})")
    dout = as_float_array(dout, "dout", ndim=ndim)
    check_shape(dout, shape_of(cache), "dout")
    return dout
