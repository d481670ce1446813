"""Name the mistake: a check that knows the typical wrong answers of an exercise says which one
the learner made, instead of only "not quite".

A check computes, on its own inputs, what each typical mistake would return (a forgotten path,
the unbiased variance, eps outside the square root, ...). When the learner's answer is wrong and
equals one of those, the check explains that mistake; otherwise it falls back to check_close's
message and hint. The wrong values are computed inside the check and never shown.
"""
import numbers
import sys

import numpy as np

from . import LibraryCallError, check_close

MATCH_RTOL = 1e-6     # the learner's order of operations differs from the check's by rounding only
NEAR_RTOL = 1e-5      # "close but not exact": what a finite-difference estimate of a derivative gives


def as_array(name, got):
    """`got` as a float array, or an AssertionError saying what came back instead."""
    if got is None:
        raise AssertionError(f"{name}: got None. Did you forget to `return` a value?")
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: expected an array of numbers, got a "
                             f"{type(got).__name__}") from None


def check_explained(name, got, expected, mistakes=(), rtol=1e-9, atol=1e-12, hint="",
                    exact=False):
    """Assert that `got` matches `expected`; if not, name the typical mistake it matches.

    Inputs: name (for the messages); got, expected (arrays or numbers); mistakes, a sequence of
    (wrong value, explanation): the value that mistake gives on the check's inputs, and what
    to tell the learner; rtol, atol as in np.allclose; hint, shown when no mistake matches;
    exact: the answer is a derivative to be written from the chain rule, so an answer that is
    close but not equal to rounding (a finite-difference estimate) is explained as such.
    Prints "✓ name is correct" on success (check_close); raises AssertionError otherwise.
    """
    value, expected = as_array(name, got), np.asarray(expected, dtype=np.float64)
    same_shape = value.shape == expected.shape
    right = same_shape and np.allclose(value, expected, rtol=rtol, atol=atol)
    if not right and np.all(np.isfinite(value)):
        for wrong, explanation in mistakes:
            wrong = np.asarray(wrong, dtype=np.float64)
            scale = float(np.max(np.abs(wrong))) if wrong.size else 0.0
            if wrong.shape == value.shape and np.allclose(value, wrong, rtol=MATCH_RTOL,
                                                          atol=1e-9 * scale + atol):
                raise AssertionError(f"{name} is not right: {explanation}")
        scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1.0)
        if exact and same_shape and np.allclose(value, expected, rtol=NEAR_RTOL,
                                                atol=1e-8 * scale):
            worst = float(np.max(np.abs(value - expected)))
            raise AssertionError(
                f"{name} is close to the exact value (largest difference {worst:.1g}) but not "
                "equal to it up to rounding. That is what a numerical estimate, such as finite "
                "differences, gives; the exercise asks for the exact derivative, written with "
                "the chain rule.")
    check_close(name, value, expected, rtol=rtol, atol=atol, hint=hint)


def refuse_earlier_exercises(function, args, names, task, why):
    """Run function(*args) once more, watching its calls; raise AssertionError if it calls a
    function of the notebook named in `names` (an earlier exercise whose answer it reuses).

    Inputs: function, the learner's function; args, its arguments (already checked by
    run_learner); names, the forbidden function names; task, e.g. "Exercise 3"; why, what
    the exercise asks instead.
    """
    called = []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_name in names:
            called.append(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        function(*args)
    finally:
        sys.setprofile(previous)
    if called:
        raise AssertionError(f"{task}: your function calls {called[0]}, an earlier exercise's "
                             f"function. {why}")


def recognise(got, candidates, default="", rtol=1e-9):
    """The explanation of the first candidate value that `got` equals, else `default`.

    candidates: (value a typical mistake gives, explanation) pairs; a value None is skipped."""
    for value, why in candidates:
        if value is not None and np.shape(got) == np.shape(value) and np.allclose(
                got, value, rtol=rtol, atol=1e-12):
            return why
    return default


def explain_prediction(check, reasons, predicted):
    """Run `check()` (a check_prediction); when it fails, add the reason of the first
    (low, high, why) range of `reasons` that holds the learner's number `predicted`."""
    try:
        check()
    except LibraryCallError:
        raise
    except AssertionError as error:
        value = (float(predicted) if isinstance(predicted, numbers.Real)
                 and not isinstance(predicted, bool) else None)
        reason = next((why for low, high, why in reasons
                       if value is not None and low <= value <= high), "")
        raise AssertionError(f"{error} {reason}".strip()) from None
