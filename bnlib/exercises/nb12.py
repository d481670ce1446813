"""Checks of notebook 12's exercises (convolutions): spatial batch norm by reshaping, and the
backward pass of a convolution layer.

Each check builds its own inputs, computes the reference with bnlib, and calls the learner's
function through `run_learner`, which refuses a solution that calls bnlib (apart from the one
helper each exercise allows). When an answer is off, the check compares it with the usual
mistakes and names the one it matches.
"""
import contextlib
import io

import numpy as np

from . import check_close, run_learner
from ..batchnorm import batchnorm_forward
from ..conv import conv_backward, conv_forward, im2col
from ..spatial import spatial_batchnorm_forward

EPS = 1e-5


# ---- Exercise 1: spatial BN by reshaping ----

def _maps(rng, shape=(3, 4, 5, 2)):
    """Feature maps (N, C, H, W) whose channels have very different means and spreads, and a
    gamma, beta per channel (H != W, so that a swapped axis cannot go unnoticed)."""
    c = shape[1]
    x = rng.standard_normal(shape) * np.geomspace(0.1, 10, c)[None, :, None, None] \
        + np.linspace(-4, 4, c)[None, :, None, None]
    return x, np.linspace(0.5, 2.0, c), np.linspace(-1.0, 1.0, c)


def _spatial_mistakes(x, gamma, beta):
    """[(wrong output, what went wrong)] for the usual mistakes of spatial BN by reshaping."""
    n, c, h, w = x.shape
    plain_rows = batchnorm_forward(x.reshape(-1, c), gamma, beta, EPS)[0]
    right_rows = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, c), gamma, beta, EPS)[0]
    per_position = batchnorm_forward(x.reshape(n, -1), np.repeat(gamma, h * w),
                                     np.repeat(beta, h * w), EPS)[0]
    return [
        (plain_rows.reshape(x.shape),
         "x.reshape(-1, C) does not put one channel in each column: in memory the channel axis "
         "comes before H and W, so each row mixes channels. Move the channel axis last first."),
        (right_rows.reshape(x.shape),
         "the normalisation is right, but the way back is not: the rows are (n, h, w) with the "
         "channel last, so reshape to (N, H, W, C) and then move the channel axis back."),
        (per_position.reshape(x.shape),
         "you normalised every (channel, position) over the N images: that is BN per position, "
         "which section 3 argues against. Each channel's statistics run over N, H and W."),
    ]


def check_spatial_bn(spatial_bn_by_reshape):
    """Exercise 1: the learner's spatial_bn_by_reshape(x, gamma, beta, eps), which may call
    bnlib.batchnorm_forward, against bnlib.spatial_batchnorm_forward."""
    x, gamma, beta = _maps(np.random.default_rng(12))
    got = run_learner(spatial_bn_by_reshape, x.copy(), gamma, beta, EPS,
                      allowed=(batchnorm_forward,), task="Exercise 1")
    expected = spatial_batchnorm_forward(x, gamma, beta, EPS)[0]
    if got is not None and np.shape(got) == x.shape and not np.allclose(got, expected, atol=1e-10):
        for wrong, words in _spatial_mistakes(x, gamma, beta):
            if np.allclose(got, wrong, rtol=1e-10, atol=1e-10):
                raise AssertionError(f"Exercise 1: {words}")
    # the same float64 arithmetic in the same order: equal to rounding (1e-10 is generous)
    check_close("spatial BN of (3, 4, 5, 2) maps", got, expected, rtol=1e-10, atol=1e-10,
                hint="Return maps of x's shape (N, C, H, W).")


# ---- Exercise 2: the backward pass of a convolution ----

CASES = ((3, 0), (2, 1), (1, 1))      # (stride, pad): no overlap first, then overlapping patches


def check_conv_backward(conv_backward_by_hand):
    """Exercise 2: the learner's conv_backward_by_hand(dout, x, w, stride, pad) -> (dx, dw, db),
    which may call bnlib.im2col, against bnlib.conv_backward. The first case has patches that
    do not overlap (stride = kernel), the others overlap."""
    rng = np.random.default_rng(21)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    for number, (stride, pad) in enumerate(CASES):
        out, cache = conv_forward(x, w, None, stride, pad)
        dout = rng.standard_normal(out.shape)
        got = run_learner(conv_backward_by_hand, dout.copy(), x.copy(), w.copy(), stride, pad,
                          allowed=(im2col,), task="Exercise 2")
        if not isinstance(got, tuple) or len(got) != 3:
            raise AssertionError("Exercise 2: return the three gradients as a tuple (dx, dw, db).")
        dx, dw, db = conv_backward(dout, cache)
        where = f"stride {stride}, pad {pad}"
        hints = {
            "db": "db has one number per filter: dout summed over the images and over every "
                  "output position.",
            "dw": "With dout as rows (N * H' * W', F), like the rows of im2col, dw is a product "
                  "of dout's rows with the patches; mind the order (c, u, v) of a patch when "
                  "you give it w's shape (F, C, K, K).",
            "dx": ("It was right without overlap: where patches overlap, a pixel belongs to "
                   "several patches and must collect (+=) the gradient of each, not keep the "
                   "last one (=)." if number > 0 else
                   "Each patch entry (c, u, v) of output position (i, j) came from pixel "
                   "(c, stride*i + u, stride*j + v) of the padded input: send its gradient "
                   "there, then cut the padding off.")}
        for name, mine, expected in (("db", got[2], db), ("dw", got[1], dw), ("dx", got[0], dx)):
            # float64 sums of a few dozen O(1) products on both sides: they agree to ~1e-13
            with contextlib.redirect_stdout(io.StringIO()):      # one line per case below
                check_close(f"{name} ({where})", mine, expected, rtol=1e-9, atol=1e-12,
                            hint=hints[name])
        print(f"✓ dx, dw and db are correct ({where})")
