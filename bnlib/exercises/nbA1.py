"""Checks of appendix A1's exercises (gradient checks).

- check_best_step_prediction: the learner's predicted exponent k of the best step h = 10**k
  for central differences in float32, against a measurement (the median error over 201
  inputs of a sigmoid neuron, its minimum located by a parabola through the three lowest
  points of a grid of 45 steps);
- check_numerical_gradient: the learner's own central-difference gradient.
"""
import numpy as np

from ..layers import sigmoid
from . import check_prediction, run_learner
from .mistakes import check_explained


def best_float32_step_exponent():
    """What Exercise 1 measures: log10 of the step that minimises the central difference's
    median relative error in float32, for y = sigmoid(1.5 x - 0.5) at 201 points of [-2, 2]."""
    w, b = 1.5, -0.5
    x = np.linspace(-2.0, 2.0, 201)                                    # (201,)
    s = sigmoid(w * x + b)
    exact = w * s * (1 - s)                                            # float64 derivative
    x32 = x.astype(np.float32)
    exponents = np.linspace(-6.0, -0.5, 45)                            # (45,)
    errors = []
    for h in (10.0 ** exponents).astype(np.float32):
        estimate = (sigmoid(w * (x32 + h) + b) - sigmoid(w * (x32 - h) + b)) / (2 * h)
        errors.append(np.median(np.abs(estimate - exact) / np.abs(exact)))
    logs = np.log10(errors)
    i = int(np.clip(np.argmin(logs), 1, len(logs) - 2))
    a, b_, _ = np.polyfit(exponents[i - 1:i + 2], logs[i - 1:i + 2], 2)  # parabola's vertex
    return float(-b_ / (2 * a))


def check_best_step_prediction(predicted_exponent):
    """Exercise 1: the predicted exponent of the best float32 step, within 0.8 of a decade."""
    check_prediction("the best float32 step, as a power of ten", predicted_exponent,
                     best_float32_step_exponent(), within=0.8, low=-16.0, high=0.0)


def check_numerical_gradient(numerical_gradient_of):
    """Exercise 2: numerical_gradient_of(f, x, h) is the central-difference gradient of f()
    with respect to the array x (nudged in place and restored)."""
    rng = np.random.default_rng(41)
    x0 = rng.normal(size=(3, 4))                                       # (3, 4) any shape
    weights = rng.normal(size=(3, 4))
    for h in (1e-3, 1e-5):
        x = x0.copy()

        def f():
            return float(np.sum(np.sin(x) * weights) + np.sum(x ** 3) / 3)

        got = run_learner(numerical_gradient_of, f, x, h, task="Exercise 2")
        if not np.array_equal(x, x0):
            raise AssertionError("numerical_gradient_of left x changed: put each entry back "
                                 "to its old value after nudging it (the next entries, and "
                                 "the caller, need the original x).")
        expected, forward, wrong_step = _differences(f, x, h)
        check_explained(f"numerical_gradient_of (h={h:g})", got, expected, [
            (forward, "that is the forward difference (f(x+h) - f(x)) / h; nudge both ways, "
                      "(f(x+h) - f(x-h)) / (2h): its error is far smaller."),
            (wrong_step, "the two points are 2h apart: divide by 2h, not h."),
            (np.full(x.shape, float(np.sum(expected))),
             "every entry got the same value: nudge one entry at a time, not the whole array."),
        ], rtol=1e-6, atol=1e-9, hint="For every entry (np.ndindex(x.shape) visits them all): "
                                      "nudge it up by h, evaluate f, down by h, evaluate f, "
                                      "put it back, and divide the difference by 2h.")


def _differences(f, x, h):
    """The central difference, the forward difference and central / h (not 2h), entrywise."""
    central, forward = np.zeros_like(x), np.zeros_like(x)
    base = f()
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = f()
        x[idx] = old - h
        minus = f()
        x[idx] = old
        central[idx], forward[idx] = (plus - minus) / (2 * h), (plus - base) / h
    return central, forward, 2 * central
