"""Speed helpers: column means and sums of an (N, D) batch, as fast as numpy allows.

These compute exactly what `a.mean(axis=0)` and `a.sum(axis=0)` compute (up to rounding; the
tests compare them), only faster on the small batches the course trains with. The batch-norm
code calls them where the maths says "mean over the batch" or "sum over the batch".

Why they are faster: on batches of up to GEMV_MAX_SIZE numbers, a column sum written as the
BLAS matrix-vector product ones @ a takes about half the time of a.sum(axis=0). On larger
batches OpenBLAS splits that product over threads: little gain there, and a stall of
milliseconds whenever other programs keep a core busy, so larger batches use numpy's own sums.
"""
import functools

import numpy as np

GEMV_MAX_SIZE = 256 * 1024


@functools.lru_cache(maxsize=32)
def _filled(n, value, dtype):
    """A read-only vector of n copies of `value`, made once: a network asks for the same few
    (ones and 1/N for its batch size) at every step."""
    vector = np.full(n, value, dtype)
    vector.flags.writeable = False
    return vector


def column_mean(a):
    """Mean of `a` (N, D) over the batch, (D,), in one pass over `a`.

    Small batches: the gemv (1/N, ..., 1/N) @ a (weighting before summing keeps float16 sums
    from overflowing). Large ones: a.mean(axis=0).
    """
    n = a.shape[0]
    if a.size > GEMV_MAX_SIZE:
        return a.mean(axis=0)
    return _filled(n, 1.0 / n, a.dtype) @ a


def column_sum(a):
    """Sum of `a` (N, D) over the batch, (D,): the gemv ones @ a, or a.sum(axis=0) if large."""
    if a.size > GEMV_MAX_SIZE:
        return a.sum(axis=0)
    return _filled(a.shape[0], 1.0, a.dtype) @ a
