"""Tests for bnlib/exercises/nb08.py: the checks of notebook 08 pass right answers, explain
the usual wrong ones, and refuse answers taken from bnlib (run on the notebook itself)."""
from pathlib import Path

import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, nb08
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_scale_invariance.ipynb"

GAMED = {
    "Exercise 1: the weights doubled": "predicted_step_ratio = nb08.measured_step_ratio()",
    "Exercise 2: inverted dropout": "return bnlib.dropout_forward(h, p, rng)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


def test_step_ratio_is_a_quarter_and_one_half_is_refused(capsys):
    measured = nb08.measured_step_ratio()
    assert abs(measured - 0.25) < 1e-3                   # 1 / a^2, up to eps
    nb08.check_doubled_weights(0.25)
    assert "✓" in capsys.readouterr().out
    for wrong in (0.5, 1.0, 0.125, 4.0):                 # only the gradient, nothing, ...
        with pytest.raises(AssertionError, match="off by"):
            nb08.check_doubled_weights(wrong)
    with pytest.raises(LibraryCallError):
        nb08.check_doubled_weights(measured)


def _dropout(keep_scale=True, drop_is_keep=False, global_rng=False, scale=None):
    """A hand-written inverted dropout, right by default, with the usual mistakes."""
    def dropout_forward(h, p, rng):
        draws = np.random.random(h.shape) if global_rng else rng.random(h.shape)
        keep = draws < p if drop_is_keep else draws >= p
        factor = scale if scale is not None else (1 / (1 - p) if keep_scale else 1.0)
        mask = keep * factor
        return h * mask, mask
    return dropout_forward


def test_dropout_passes_a_right_answer(capsys):
    nb08.check_dropout(_dropout())
    assert "✓ inverted dropout is correct" in capsys.readouterr().out


def test_dropout_explains_the_usual_mistakes():
    with pytest.raises(AssertionError, match="probability of dropping"):
        nb08.check_dropout(_dropout(drop_is_keep=True))
    with pytest.raises(AssertionError, match="unchanged. Inverted dropout divides"):
        nb08.check_dropout(_dropout(keep_scale=False))
    with pytest.raises(AssertionError, match="h / \\(1 - p\\)"):
        nb08.check_dropout(_dropout(scale=1 / nb08.DROP))
    with pytest.raises(AssertionError, match="generator `rng`"):
        nb08.check_dropout(_dropout(global_rng=True))
    with pytest.raises(AssertionError, match="two arrays"):
        nb08.check_dropout(lambda h, p, rng: h)
    with pytest.raises(AssertionError, match="h \\* mask"):
        nb08.check_dropout(lambda h, p, rng: (_dropout()(h, p, rng)[0], np.ones_like(h)))
