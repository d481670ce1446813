"""Tests for bnlib/exercises/nb12.py: notebook 12's checks pass right answers, name the typical
mistakes (a plain reshape, the way back, BN per position; overwriting where patches overlap
...), and refuse answers taken from bnlib."""
from pathlib import Path

import numpy as np
import pytest

import bnlib
from bnlib import batchnorm_forward, im2col
from bnlib.exercises import LibraryCallError, nb12
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "12_convolutions.ipynb"

GAMED = {
    "Exercise 1: spatial BN by reshaping":
        "return bnlib.spatial_batchnorm_forward(x, gamma, beta, eps)[0]",
    "Exercise 2: the backward pass of a convolution":
        "_, cache = bnlib.conv_forward(x, w, None, stride, pad)\n"
        "return bnlib.conv_backward(dout, cache)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


# ---- Exercise 1: spatial BN by reshaping --------------------------------------------------------

def by_rows(to_rows, from_rows):
    def spatial_bn_by_reshape(x, gamma, beta, eps=1e-5):
        n, c, h, w = x.shape
        return from_rows(batchnorm_forward(to_rows(x), gamma, beta, eps)[0], x.shape)
    return spatial_bn_by_reshape


RIGHT_IN = lambda x: x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
RIGHT_OUT = lambda rows, s: rows.reshape(s[0], s[2], s[3], s[1]).transpose(0, 3, 1, 2)


def test_spatial_bn_check_accepts_the_reshape(capsys):
    nb12.check_spatial_bn(by_rows(RIGHT_IN, RIGHT_OUT))
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (by_rows(lambda x: x.reshape(-1, x.shape[1]), lambda rows, s: rows.reshape(s)),
     "does not put one channel"),
    (by_rows(RIGHT_IN, lambda rows, s: rows.reshape(s)), "the way back"),
    (by_rows(RIGHT_IN, lambda rows, s: rows), "shape"),
])
def test_spatial_bn_check_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb12.check_spatial_bn(wrong)


def test_spatial_bn_check_names_bn_per_position():
    def per_position(x, gamma, beta, eps=1e-5):
        n, c, h, w = x.shape
        rows = batchnorm_forward(x.reshape(n, -1), np.repeat(gamma, h * w),
                                 np.repeat(beta, h * w), eps)[0]
        return rows.reshape(x.shape)
    with pytest.raises(AssertionError, match="per position"):
        nb12.check_spatial_bn(per_position)


def test_spatial_bn_check_refuses_spatial_batchnorm_forward():
    with pytest.raises(LibraryCallError, match="spatial_batchnorm_forward"):
        nb12.check_spatial_bn(lambda x, gamma, beta, eps=1e-5:
                              bnlib.spatial_batchnorm_forward(x, gamma, beta, eps)[0])


# ---- Exercise 2: the convolution's backward ---------------------------------------------------------

def backward_with(add=True, crop=True, db_axes=0, transpose_rows=True):
    """A learner's conv backward with one step changed by the arguments."""
    def conv_backward_by_hand(dout, x, w, stride, pad):
        n, c, height, width = x.shape
        f, _, k, _ = w.shape
        h_out, w_out = dout.shape[2:]
        cols = im2col(x, k, stride, pad)
        rows = (dout.transpose(0, 2, 3, 1) if transpose_rows else dout).reshape(-1, f)
        db = rows.sum(axis=db_axes)
        dw = (rows.T @ cols).reshape(w.shape)
        patches = (rows @ w.reshape(f, -1)).reshape(n, h_out, w_out, c, k, k)
        dpadded = np.zeros((n, c, height + 2 * pad, width + 2 * pad))
        for u in range(k):
            for v in range(k):
                target = (slice(None), slice(None), slice(u, u + stride * h_out, stride),
                          slice(v, v + stride * w_out, stride))
                value = patches[:, :, :, :, u, v].transpose(0, 3, 1, 2)
                if add:
                    dpadded[target] += value
                else:
                    dpadded[target] = value
        dx = dpadded[:, :, pad:pad + height, pad:pad + width] if crop else dpadded
        return dx, dw, db
    return conv_backward_by_hand


def test_conv_backward_check_accepts_the_backward(capsys):
    nb12.check_conv_backward(backward_with())
    assert capsys.readouterr().out.count("✓ dx, dw and db are correct") == len(nb12.CASES)


@pytest.mark.parametrize("wrong, message", [
    (backward_with(add=False), "collect"),               # right without overlap, then wrong
    (backward_with(crop=False), "shape"),
    (backward_with(db_axes=None), "one number per filter"),
    (backward_with(transpose_rows=False), "db"),
])
def test_conv_backward_check_explains_typical_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        nb12.check_conv_backward(wrong)


def test_conv_backward_check_wants_three_gradients():
    with pytest.raises(AssertionError, match="tuple"):
        nb12.check_conv_backward(lambda dout, x, w, stride, pad: None)
