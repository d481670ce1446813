"""Friendly, ungameable checks for the notebooks' exercises.

A check never shows the solution: it calls the learner's function on inputs of its own (so a
value computed in an earlier cell cannot pass), compares with bnlib's reference, and says in
plain words what is off. It also refuses a solution that gets its answer from bnlib:
`run_learner` watches every call the learner's function makes and fails, naming the function,
if one of them enters bnlib (apart from what the exercise allows).

- `run_learner(function, *args, allowed=...)`: call the learner's function, refusing bnlib;
- `check_close(name, got, expected, ...)`: one value against the reference, explained;
- `check_prediction(name, predicted, measured, ...)`: a number written down before measuring;
- `compare(name, ours, reference)`: code taught inline against bnlib's version.
The checks of each notebook's exercises live in bnlib/exercises/nbNN.py.
"""
import functools
import numbers
import sys
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parent.parent            # bnlib/
EXERCISES = Path(__file__).resolve().parent                 # bnlib/exercises/


class LibraryCallError(AssertionError):
    """The learner's solution called bnlib's own version of what it should compute."""


def _codes_of(allowed):
    """The code objects of the allowed functions, classes (all their methods) and modules."""
    codes = set()
    for thing in allowed:
        if isinstance(thing, type):
            for klass in thing.__mro__:
                codes |= {f.__code__ for f in vars(klass).values() if hasattr(f, "__code__")}
                codes |= {f.__func__.__code__ for f in vars(klass).values()
                          if isinstance(f, (staticmethod, classmethod))}
        elif hasattr(thing, "__code__"):
            codes.add(thing.__code__)
    return codes


def _in_bnlib(code):
    """True for code defined in bnlib's files, except these checks themselves."""
    return _in_bnlib_file(code.co_filename)


@functools.lru_cache(maxsize=None)
def _in_bnlib_file(filename):
    """`_in_bnlib` by file name, remembered: the profiler asks at every call."""
    path = Path(filename)
    return PACKAGE in path.parents and EXERCISES not in path.parents


def run_learner(function, *args, allowed=(), task="this exercise", **kwargs):
    """Call the learner's `function(*args, **kwargs)` and return what it returns.

    Every call it makes is watched (sys.setprofile). If the learner's code calls into bnlib,
    directly or through an alias, other than the functions or classes in `allowed`, raise
    LibraryCallError naming what it called: the point of the exercise is to write it.
    Calls that bnlib's allowed functions make inside themselves are fine.
    """
    allowed_codes, called = _codes_of(allowed), []

    def watch(frame, event, arg):
        if event == "call" and _in_bnlib(frame.f_code) and frame.f_code not in allowed_codes:
            caller = frame.f_back
            if caller is None or not _in_bnlib(caller.f_code):   # a call from the learner's code
                called.append(frame.f_code.co_qualname)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    if called:
        raise LibraryCallError(
            f"your solution calls bnlib's {called[0]}: {task} asks you to write it yourself, "
            "with numpy. (bnlib's version is what the check compares against, so calling it "
            "proves nothing.)")
    return result


def check_close(name, got, expected, rtol=1e-7, atol=0.0, hint=""):
    """Assert that the learner's `got` matches `expected`; explain what is wrong if it does not.

    Inputs: name of the quantity (for the message), the two values, tolerances as in
    np.allclose, and a hint to show when the check fails.
    Prints a one-line confirmation on success; raises AssertionError with a helpful message.
    """
    if got is None:
        raise AssertionError(f"{name}: got None. Did you forget to `return` a value? {hint}")
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: shape {got.shape}, expected {expected.shape}. {hint}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{name}: contains NaN or infinity. {hint}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got - expected)))
        raise AssertionError(f"{name}: not quite: the largest difference is {worst:.3g}. {hint}")
    print(f"✓ {name} is correct")


def check_prediction(name, predicted, measured, within, low=None, high=None):
    """Judge a number the learner wrote down *before* measuring, against the measurement.

    Inputs: predicted (the learner's number); measured (what the cell measured); within (how
    far off a reasoned prediction may be, as an absolute difference); low, high (the range a
    valid answer must lie in, e.g. 0 and 1 for a share).
    A value equal to the measurement to 9 digits was computed, not predicted: refused.
    Prints the comparison; raises AssertionError with an explanation otherwise.
    """
    if isinstance(predicted, bool) or not isinstance(predicted, numbers.Real):
        raise AssertionError(f"{name}: write your prediction as one number, got {predicted!r}")
    predicted = float(predicted)
    if (low is not None and predicted < low) or (high is not None and predicted > high):
        raise AssertionError(f"{name}: {predicted:g} is impossible here; it must lie between "
                             f"{low} and {high}")
    if measured != 0 and abs(predicted - measured) <= 1e-9 * abs(measured):
        raise LibraryCallError(f"{name}: your prediction equals the measurement to 9 digits: it "
                               "was computed, not predicted. Reason it out and write a round "
                               "number.")
    off = abs(predicted - measured)
    if off > within:
        raise AssertionError(f"{name}: you predicted {predicted:g}, the measurement is "
                             f"{measured:.3g}: off by {off:.3g} (more than {within:g}). Read the "
                             "hint, find the step of your reasoning that fails, then try again.")
    print(f"✓ {name}: you predicted {predicted:g}, the measurement is {measured:.3g}")


def compare(name, ours, reference, rtol=1e-10):
    """Compare an inline implementation with bnlib's, as exact / approximate / max difference.

    Asserts agreement within `rtol` (relative to the reference's largest entry) and prints one
    line such as "x_hat     exact: False | approximate: True | max diff: 2.2e-16".
    """
    ours, reference = np.asarray(ours), np.asarray(reference)
    exact = bool(np.array_equal(ours, reference))
    diff = float(np.max(np.abs(ours - reference))) if ours.size else 0.0
    approx = diff <= rtol * max(float(np.max(np.abs(reference))) if reference.size else 0.0, 1.0)
    print(f"{name:<10} exact: {exact!s:<5} | approximate: {approx!s:<5} | max diff: {diff:.1e}")
    assert ours.shape == reference.shape, f"{name}: shape {ours.shape} vs {reference.shape}"
    assert approx, f"{name}: differs from bnlib's version by {diff:.3g}"
