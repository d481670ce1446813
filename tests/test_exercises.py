"""Tests for bnlib/exercises/: the checks pass right answers, explain wrong ones, and refuse
solutions that call bnlib."""
import numpy as np
import pytest

from bnlib.exercises import LibraryCallError, check_close, check_prediction, compare, run_learner


def test_check_close_accepts_and_explains(capsys):
    check_close("mean", np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert "✓ mean" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="forget to `return`"):
        check_close("mean", None, 1.0)
    with pytest.raises(AssertionError, match=r"shape \(3,\), expected \(2,\). axis=0\?"):
        check_close("mean", np.zeros(3), np.zeros(2), hint="axis=0?")
    with pytest.raises(AssertionError, match="largest difference is 0.5"):
        check_close("mean", np.array([1.5]), np.array([1.0]))
    with pytest.raises(AssertionError, match="NaN"):
        check_close("mean", np.array([np.nan]), np.array([1.0]))


def test_compare_reports_and_asserts(capsys):
    compare("x_hat", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-15]))
    assert "approximate: True" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="differs"):
        compare("x_hat", np.array([1.0]), np.array([1.1]))


def test_run_learner_returns_what_an_honest_solution_computes():
    assert run_learner(lambda x: np.mean(x) + 1, np.arange(3.0)) == 2.0


def test_run_learner_refuses_a_solution_that_calls_bnlib_even_through_an_alias():
    from bnlib import batchnorm_forward as alias

    def gamed(x):
        return alias(x, np.ones(2), np.zeros(2))[0]

    with pytest.raises(LibraryCallError, match="calls bnlib's batchnorm_forward"):
        run_learner(gamed, np.ones((3, 2)), task="Exercise 1")
    import bnlib

    def gamed_method(x):
        return bnlib.BatchNorm1d(2).forward(x)

    with pytest.raises(LibraryCallError, match="BatchNorm1d.__init__"):
        run_learner(gamed_method, np.ones((3, 2)))


def test_run_learner_allows_what_the_exercise_allows_and_its_inner_calls():
    import bnlib

    def uses_layers(x):                      # affine_forward calls bnlib's checks inside
        out, _ = bnlib.affine_forward(x, np.ones((2, 3)))
        return out

    assert run_learner(uses_layers, np.ones((4, 2)), allowed=[bnlib.affine_forward]).shape == (4, 3)
    with pytest.raises(LibraryCallError):
        run_learner(uses_layers, np.ones((4, 2)))
    layer = run_learner(lambda: bnlib.BatchNorm1d(3), allowed=[bnlib.BatchNorm1d])
    assert layer.num_features == 3


def test_run_learner_restores_the_previous_profiler_even_on_errors():
    import sys
    marker = lambda frame, event, arg: None
    sys.setprofile(marker)
    try:
        with pytest.raises(ZeroDivisionError):
            run_learner(lambda: 1 / 0)
        assert sys.getprofile() is marker
    finally:
        sys.setprofile(None)


def test_check_prediction_judges_form_distance_and_copying(capsys):
    check_prediction("share", 0.6, 0.63, within=0.1, low=0, high=1)
    assert "you predicted 0.6" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="one number"):
        check_prediction("share", "a lot", 0.63, within=0.1)
    with pytest.raises(AssertionError, match="impossible"):
        check_prediction("share", 1.5, 0.63, within=0.1, low=0, high=1)
    with pytest.raises(AssertionError, match="off by 0.33"):
        check_prediction("share", 0.3, 0.63, within=0.1)
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        check_prediction("share", 0.6312345678901, 0.6312345678901, within=0.1)
