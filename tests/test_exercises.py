"""Tests for bnlib/exercises.py: the checks pass right answers and explain wrong ones."""
import numpy as np
import pytest

from bnlib.exercises import check_close, compare


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
