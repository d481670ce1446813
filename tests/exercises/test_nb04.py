"""Tests for bnlib/exercises/nb04.py, the checks of notebook 04 (saturation): right answers pass,
the usual wrong ones fail with their explanation, and no exercise can be passed by getting the
answer from bnlib."""
from pathlib import Path

import numpy as np
import pytest

from bnlib import SATURATION_THRESHOLD, saturation_stats
from bnlib.exercises import LibraryCallError, nb04
from helpers import assert_exercises_refuse_bnlib

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_saturation.ipynb"


def test_a_right_half_saturation_scale_passes(capsys):
    nb04.check_half_saturation_scale(lambda a: SATURATION_THRESHOLD / np.median(np.abs(a)))
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, explanation", [
    (lambda a: 4 / np.mean(np.abs(a)), "mean of |a|"),
    (lambda a: 4 / np.std(a), "standard deviation"),
    (lambda a: 4 / np.median(a), r"median of a itself, not of \|a\|"),
    (lambda a: 4 * np.median(np.abs(a)), "the threshold divides"),
    (lambda a: 4 / np.max(np.abs(a)), r"as a condition on \|a\| alone"),
])
def test_usual_wrong_scales_are_explained(wrong, explanation):
    with pytest.raises(AssertionError, match=explanation):
        nb04.check_half_saturation_scale(wrong)


def test_a_scale_that_is_not_a_positive_number_is_refused():
    with pytest.raises(AssertionError, match="one positive number"):
        nb04.check_half_saturation_scale(lambda a: None)
    with pytest.raises(AssertionError, match="one positive number"):
        nb04.check_half_saturation_scale(lambda a: -4 / np.median(np.abs(a)))


def test_a_scale_found_with_bnlibs_saturation_stats_is_refused():
    def search(a):
        return min(np.linspace(0.01, 3, 300),
                   key=lambda s: abs(saturation_stats(s * a)["fraction_saturated"] - 0.5))

    with pytest.raises(LibraryCallError, match="saturation_stats"):
        nb04.check_half_saturation_scale(search)


def test_the_measurements_are_what_the_exercises_describe():
    factor, share = nb04.measured_gradient_factor(), nb04.measured_shifted_share()
    assert 0.3 < factor < 0.5          # about 2 (weights) x 0.2 (sigma') per layer
    assert 0.25 < share < 0.35         # P(N(0, 1) > 0.5) = 0.31 for a Gaussian


def test_reasoned_predictions_pass_and_usual_wrong_ones_are_explained(capsys):
    nb04.check_gradient_factor(0.4)          # 0.2 * sqrt(100) * about 0.2
    nb04.check_gradient_factor(0.48)         # 2 * 0.24, the peak-ish slope
    nb04.check_shifted_share(0.31)           # P(z_hat > 0.5) + P(z_hat < -3.5)
    assert capsys.readouterr().out.count("✓") == 3
    with pytest.raises(AssertionError, match="sigma'\\(z\\) alone"):
        nb04.check_gradient_factor(0.24)
    with pytest.raises(AssertionError, match="weights' factor alone"):
        nb04.check_gradient_factor(2.0)
    with pytest.raises(AssertionError, match="beta = 3 moves every input"):
        nb04.check_shifted_share(0.046)      # P(|z_hat| > 2): beta forgotten
    with pytest.raises(AssertionError, match="count each one on its own"):
        nb04.check_shifted_share(0.62)       # P(|z_hat| > 0.5): both tails alike
    with pytest.raises(AssertionError, match="between 0 and 1"):
        nb04.check_shifted_share(31)         # a percentage
    with pytest.raises(AssertionError, match="one number"):
        nb04.check_shifted_share(None)


def test_a_measured_prediction_is_refused():
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        nb04.check_gradient_factor(nb04.measured_gradient_factor())
    with pytest.raises(LibraryCallError, match="computed, not predicted"):
        nb04.check_shifted_share(nb04.measured_shifted_share())


# Each gamed solution replaces the solution region and gets the answer from bnlib.
GAMED = {
    "Exercise 1: the weight scale that saturates half of the inputs": """\
scales = np.linspace(0.01, 3, 300)
shares = [bnlib.saturation_stats(s * a_unit)["fraction_saturated"] for s in scales]
return scales[int(np.argmin(np.abs(np.array(shares) - 0.5)))]""",
    "Exercise 2: predict how fast the gradient shrinks": """\
data = bnlib.saturation_demo_data(seed=0)
medians = bnlib.deep_signal(data, bnlib.SliderParams(scale=0.2, depth=6), False)["grad_median"]
predicted_factor = float((medians[0] / medians[-1]) ** (1 / 5))""",
    "Exercise 3: predict the saturated share with a shift": """\
data = bnlib.saturation_demo_data(seed=0)
z = bnlib.sigmoid_inputs(data.x, data.weights[0], 0.5, gamma=2.0, beta=3.0, use_bn=True)
predicted_share = bnlib.saturation_stats(z)["fraction_saturated"]""",
}


def test_every_exercise_refuses_bnlibs_own_version():
    assert_exercises_refuse_bnlib(NOTEBOOK, GAMED)
