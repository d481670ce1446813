"""Tests for bnlib/experiments/fine_tuning.py: shifted images, fine-tuning with frozen or
updating statistics."""
import numpy as np
import pytest

from bnlib import bn_statistics
from bnlib.experiments import eval_gap as eg
from bnlib.experiments import fine_tuning as ft
from helpers import small_classification_data as small_data


def small_config(**changes):
    """An EvalGapConfig for the made-up task: a 12-8-6-3 network, a few dozen steps."""
    settings = dict(steps=60, sizes=(12, 8, 6, 3), batch_size=10, population_images=120,
                    lr=0.3, init_std=0.5)
    return eg.EvalGapConfig(**{**settings, **changes})


def test_shift_contrast():
    x = np.array([[0.0, 1.0, 0.5]], np.float32)
    shifted = ft.shift_contrast(x)
    np.testing.assert_allclose(shifted, [[0.5, 1.0, 0.75]])
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(ft.shift_contrast(x, 0.8, 0.1), [[0.1, 0.9, 0.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="2 dimension"):
        ft.shift_contrast(np.zeros(3))


def test_fine_tuning_keeps_the_original_and_freezes_statistics(rng):
    data = small_data(rng, d_in=12)
    _, model = eg.run_eval_gap(small_config(steps=30), data, progress=False)
    statistics, params = bn_statistics(model), model.flat_params.copy()
    tuned, history = ft.fine_tune(model, data, steps=10, lr=0.1, freeze=True, eval_every=5)
    assert history["step"] == [0, 5, 10]
    np.testing.assert_array_equal(model.flat_params, params)      # the original is untouched
    for (mean, _), (tuned_mean, _) in zip(statistics, bn_statistics(tuned)):
        np.testing.assert_array_equal(mean, tuned_mean)           # frozen: never updated
    assert not np.array_equal(tuned.flat_params, params)
    updating, _ = ft.fine_tune(model, data, steps=10, lr=0.1, freeze=False, eval_every=5)
    assert not np.allclose(bn_statistics(updating)[0][0], statistics[0][0])


def test_run_fine_tuning_and_its_table(rng):
    x_train, y_train, x_test, y_test = small_data(rng, n_train=6000, d_in=12)
    data = (np.clip(x_train, 0, 1), y_train, np.clip(x_test, 0, 1), y_test)
    _, model = eg.run_eval_gap(small_config(steps=30), data, progress=False)
    result = ft.run_fine_tuning(model, data, steps=10, lrs=(0.01, 0.1), eval_every=5)
    assert set(result["runs"]) == {"frozen, lr 0.01", "frozen, lr 0.1",
                                   "updating, lr 0.01", "updating, lr 0.1"}
    assert set(result["original"]) == {"before", "re-estimated", *result["runs"]}
    table = ft.fine_tuning_table(result)
    assert f"{result['re-estimated']:.4f}" in table and "statistics frozen, lr 0.1" in table
