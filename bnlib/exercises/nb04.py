"""Checks of notebook 04's exercises (saturation).

- Exercise 1, `check_half_saturation_scale(function)`: the learner's function returns the
  weight scale s at which half of the entries of s * a are saturated (|z| > 4), for an affine
  output `a` at weight scale 1. Checked on three arrays of the check's own.
- Exercise 2, `check_gradient_factor(predicted)`: a prediction of the factor by which the
  typical gradient shrinks per layer, without BN, at weight scale 0.2, six layers deep.
- Exercise 3, `check_shifted_share(predicted)`: a prediction of the saturated share of the
  first layer's sigmoid inputs with BN, gamma = 2 and beta = 3.
The two predictions are measured on the notebook's data (`saturation_demo_data(seed=0)`).
"""
import numbers

import numpy as np

from ..saturation import (SATURATION_THRESHOLD, SliderParams, deep_signal, saturation_demo_data,
                          saturation_stats, sigmoid_inputs)
from . import check_prediction, run_learner
from .mistakes import explain_prediction

GRADIENT_SCALE, GRADIENT_DEPTH = 0.2, 6      # exercise 2: weight scale, layers followed
GRADIENT_WITHIN = 0.12                       # a reasoned estimate (2 x 0.2 to 2 x 0.25) passes
SHIFTED_GAMMA, SHIFTED_BETA = 2.0, 3.0       # exercise 3
SHIFTED_WITHIN = 0.06                        # a Gaussian estimate passes, forgetting beta fails
SHIFTED_SCALE = 0.5                          # weight scale of the first layer (BN removes it)


# ---- Exercise 1 -----------------------------------------------------------------------------

def _half_saturation_inputs():
    """The check's own affine outputs a (for weight scale 1): [(description, array)]."""
    rng = np.random.default_rng(404)
    demo = saturation_demo_data(seed=1)       # another batch and other weights than the notebook's
    return [("60 MNIST images through other random weights", demo.x @ demo.weights[0]),
            ("Gaussian values centred at 1.5", 1.5 + 3.0 * rng.standard_normal((40, 25))),
            ("21 values", 2.0 * rng.standard_normal((7, 3)))]


def _scale_mistakes(a):
    """(scale, explanation) for the usual wrong formulas, on the array `a`."""
    t = SATURATION_THRESHOLD
    return [(t / np.mean(np.abs(a)), "you used the mean of |a|; half of the entries lie above "
                                     "a different statistic of |a|"),
            (t / np.std(a), "you used the standard deviation: that would give half only for "
                            "one particular distribution, and these values are not it"),
            (t / np.median(a), "you took the median of a itself, not of |a|: a saturates on "
                               "both sides, at z > 4 and at z < -4"),
            (t * np.median(np.abs(a)), "|s a| > 4 means |a| > 4 / s: the threshold divides")]


def check_half_saturation_scale(half_saturation_scale):
    """Exercise 1: `half_saturation_scale(a_unit)` returns the weight scale s at which half of
    the entries of s * a_unit satisfy |z| > SATURATION_THRESHOLD.

    Each of the check's arrays must give a saturated share of 0.5, within one entry either way
    (an array with an odd number of entries cannot be split exactly in half).
    """
    for description, a in _half_saturation_inputs():
        s = run_learner(half_saturation_scale, a.copy(), task="Exercise 1")
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not np.isfinite(s):
            raise AssertionError(f"Exercise 1: for {description} your function returned {s!r}; "
                                 "a weight scale is one positive number")
        share = float(np.mean(np.abs(s * a) > SATURATION_THRESHOLD))
        if s <= 0 or abs(share - 0.5) > 1 / a.size:
            hint = next((why for scale, why in _scale_mistakes(a)
                         if np.isclose(s, scale, rtol=1e-9)),
                        "a weight scale is one positive number" if s <= 0 else
                        "rewrite |s a| > 4 as a condition on |a| alone")
            raise AssertionError(f"Exercise 1: for {description} your scale {s:.4g} saturates "
                                 f"{share:.1%} of the entries, not half: {hint}.")
    print("✓ your weight scale saturates half of the entries, on three arrays of the check's own")


# ---- Exercise 2 -----------------------------------------------------------------------------

def measured_gradient_factor():
    """The factor per layer, (median |dL/dz| at layer 1 / at layer 6) ** (1/5), without BN at
    weight scale GRADIENT_SCALE, on the notebook's data (float)."""
    data = saturation_demo_data(seed=0)
    medians = deep_signal(data, SliderParams(scale=GRADIENT_SCALE, depth=GRADIENT_DEPTH),
                          use_bn=False)["grad_median"]
    return float((medians[0] / medians[-1]) ** (1 / (GRADIENT_DEPTH - 1)))


def check_gradient_factor(predicted):
    """Exercise 2: the predicted factor per layer against the measurement."""
    measured = measured_gradient_factor()
    reasons = [(0.0, 0.26, "Your number is about sigma'(z) alone, or the factor at weight "
                           "scale 0.1: what does the way back through W^T, a sum over 100 "
                           "units, do to the size of the gradient at weight scale 0.2?"),
               (1.2, np.inf, "Your number is about the weights' factor alone: every layer "
                             "also multiplies by sigma'(z).")]
    explain_prediction(
        lambda: check_prediction("the factor per layer", predicted, measured,
                                 within=GRADIENT_WITHIN, low=0),
        reasons, predicted)


# ---- Exercise 3 -----------------------------------------------------------------------------

def measured_shifted_share():
    """The saturated share of the first layer's sigmoid inputs with BN, gamma = SHIFTED_GAMMA,
    beta = SHIFTED_BETA, on the notebook's data (float)."""
    data = saturation_demo_data(seed=0)
    z = sigmoid_inputs(data.x, data.weights[0], SHIFTED_SCALE, gamma=SHIFTED_GAMMA,
                       beta=SHIFTED_BETA, use_bn=True)
    return saturation_stats(z)["fraction_saturated"]


def check_shifted_share(predicted):
    """Exercise 3: the predicted saturated share with BN, gamma = 2, beta = 3."""
    measured = measured_shifted_share()
    reasons = [(0.0, 0.1, "beta = 3 moves every input 3 to the right: which of the two "
                          "saturated regions does it bring closer?"),
               (0.5, 1.0, "The two regions are no longer the same distance from the centre: "
                          "count each one on its own.")]
    explain_prediction(
        lambda: check_prediction("the saturated share", predicted, measured, within=SHIFTED_WITHIN,
                                 low=0, high=1),
        reasons, predicted)
