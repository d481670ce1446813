"""Tests for bnlib/columns.py: the fast column means and sums equal numpy's own."""
import numpy as np
import pytest

import bnlib.columns
from bnlib.columns import column_mean, column_sum


@pytest.mark.parametrize("gemv_max_size", [0, 10**9], ids=["numpy-sums", "blas-gemv"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_mean_and_sum_equal_numpys(rng, monkeypatch, gemv_max_size, dtype):
    monkeypatch.setattr(bnlib.columns, "GEMV_MAX_SIZE", gemv_max_size)
    a = (3 + rng.standard_normal((60, 100))).astype(dtype)
    # Only the order of the additions differs: a few units in the last place of the sums,
    # whose terms are all about 3 (no cancellation): 1e-5 relative in float32, 1e-12 in float64.
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(column_mean(a), a.mean(axis=0), rtol=rtol)
    np.testing.assert_allclose(column_sum(a), a.sum(axis=0), rtol=rtol)
    assert column_mean(a).dtype == column_sum(a).dtype == dtype


def test_the_cached_vectors_cannot_be_changed():
    ones = bnlib.columns._filled(5, 1.0, np.dtype(np.float64))
    with pytest.raises(ValueError):
        ones[0] = 2.0
