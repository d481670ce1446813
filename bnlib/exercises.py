"""Friendly automatic checks for the notebooks' exercises and inline-vs-library comparisons."""
import numpy as np


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
