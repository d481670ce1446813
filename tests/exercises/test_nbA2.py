"""Tests for bnlib/exercises/nbA2.py: appendix A2's check accepts an in-place closed form,
refuses one that allocates temporaries or changes its inputs, and refuses bnlib."""
from pathlib import Path

import numpy as np
import pytest

import bnlib
from bnlib.exercises import LibraryCallError, nbA2
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "A2_fast_backward.ipynb"

GAMED = {
    "Exercise 1: the closed form in place":
        "var = 1 / inv_std ** 2 - 1e-5\n"
        "lib = bnlib.BatchNormCache(x_hat, 0 * gamma, var, inv_std, x_hat, gamma, 1e-5)\n"
        "return bnlib.batchnorm_backward(dout, lib)",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)


def in_place(dout, x_hat, gamma, inv_std):
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), np.einsum("nd,nd->d", dout, x_hat)
    dx = x_hat * (-dgamma / n)
    dx += dout
    dx -= dbeta / n
    dx *= gamma * inv_std
    return dx, dgamma, dbeta


def one_line(dout, x_hat, gamma, inv_std):
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    return gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta


def test_in_place_accepts_a_single_allocation(capsys):
    nbA2.check_in_place(in_place)
    assert "✓ one (N, D) array at the peak" in capsys.readouterr().out


def test_in_place_refuses_temporaries_with_the_right_values():
    with pytest.raises(AssertionError, match="right values, but at its peak"):
        nbA2.check_in_place(one_line)


def test_in_place_refuses_changing_an_input():
    def overwrites_dout(dout, x_hat, gamma, inv_std):
        n = dout.shape[0]
        dbeta, dgamma = dout.sum(axis=0), np.einsum("nd,nd->d", dout, x_hat)
        dout -= dbeta / n + x_hat * (dgamma / n)
        dout *= gamma * inv_std
        return dout, dgamma, dbeta

    with pytest.raises(AssertionError, match="changed its input dout"):
        nbA2.check_in_place(overwrites_dout)


def test_in_place_explains_wrong_values():
    def no_mean_term(dout, x_hat, gamma, inv_std):
        dx, dgamma, dbeta = in_place(dout, x_hat, gamma, inv_std)
        return dx + dbeta / dout.shape[0] * gamma * inv_std, dgamma, dbeta

    with pytest.raises(AssertionError, match="dx: not quite.*closed form of notebook 03"):
        nbA2.check_in_place(no_mean_term)


def test_in_place_refuses_bnlibs_backward():
    with pytest.raises(LibraryCallError, match="batchnorm_"):
        nbA2.check_in_place(lambda dout, x_hat, gamma, inv_std: bnlib.batchnorm_backward(
            dout, bnlib.batchnorm_forward(x_hat, gamma, 0 * gamma)[1]))
