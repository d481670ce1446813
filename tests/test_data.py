"""Tests for bnlib/data.py: the shipped MNIST, its checksum, its cache, and clear errors."""
import shutil

import numpy as np
import pytest

from bnlib import load_mnist
from bnlib.data import DEFAULT_PATH


def test_load_mnist_shapes_ranges_and_known_figures():
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    # figures from data/PROVENANCE.md, which match the published MNIST
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(np.bincount(y_test)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.mean() == pytest.approx(0.1307, abs=1e-4)
    assert x_train.std() == pytest.approx(0.3081, abs=1e-4)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_mnist(tmp_path / "nothere.npz")


def test_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "mnist.npz"
    shutil.copy(DEFAULT_PATH, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00corrupt\x00")
    with pytest.raises(ValueError, match=r"corrupt.*sha256"):
        load_mnist(bad)


def test_mnist_is_read_once_and_cannot_be_changed_by_accident():
    first, again = load_mnist(), load_mnist()
    assert all(a is b for a, b in zip(first, again))            # the cached arrays themselves
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0] = 1.0
    assert load_mnist(DEFAULT_PATH)[0] is first[0]               # the same file, the same cache
