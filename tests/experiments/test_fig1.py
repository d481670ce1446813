"""Tests for bnlib/experiments/fig1.py: the paper's Fig. 1 experiment at a few steps (the full
50,000-step run is not part of the tests), its findings and its table."""
import dataclasses

import numpy as np
import pytest

from bnlib.experiments.fig1 import (Fig1Config, fig1_findings, fig1_table, record_steps,
                                    run_fig1, units_within)
from helpers import mnist_slice


def test_record_steps_include_5000_and_the_last_step():
    steps = record_steps(12345, 1000)
    assert steps[0] == 0 and steps[-1] == 12345 and 5000 in steps
    assert max(np.diff(steps)) <= 1000
    assert record_steps(300, 1000) == [0, 300]
    assert record_steps(50000, 3000)[:4] == [0, 3000, 5000, 6000]


def test_both_networks_start_from_the_same_weights_and_see_the_same_batches(mnist_small):
    result = run_fig1(Fig1Config(steps=0, inference="running"), data=mnist_small)
    # at step 0 BN's running statistics are 0 and 1, so BN in eval mode only divides by
    # sqrt(1 + eps): with the same weights both networks compute the same thing, up to that
    bn, plain = result["runs"]["bn"], result["runs"]["plain"]
    assert bn["test_acc"] == plain["test_acc"]
    np.testing.assert_allclose(bn["p50"], np.array(plain["p50"]) / np.sqrt(1 + 1e-5), rtol=1e-5)


def test_two_processes_give_the_same_runs_as_one():
    """jobs=2 trains in child processes; their numbers match the in-process run's."""
    config = Fig1Config(steps=20, eval_every=10)
    serial = run_fig1(config, jobs=1, progress=False)
    parallel = run_fig1(config, jobs=2, progress=False)
    for name in ("bn", "plain"):
        a, b = serial["runs"][name], parallel["runs"][name]
        assert a["step"] == b["step"] == [0, 10, 20]
        # BLAS may sum in another order with another thread count: float32 rounding only
        np.testing.assert_allclose(a["p50"], b["p50"], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(a["test_acc"], b["test_acc"], atol=2e-3)


def test_a_failing_worker_is_reported_with_the_network_name():
    config = Fig1Config(steps=5, lr=float("inf"))   # SGD refuses an infinite lr
    with pytest.raises(RuntimeError, match="without BN|with BN"):
        run_fig1(config, jobs=2, progress=False)


def _synthetic_result(bn_acc, plain_acc, bn_p50, plain_p50):
    """A fig1 result with records at 0, 5000 and 50000 steps, and 3 units in the last layer."""
    def run(acc, p50):
        return {"step": [0, 5000, 50000], "test_acc": acc, "p15": [v - 1 for v in p50],
                "p50": p50, "p85": [v + 1 for v in p50], "p50_units": [[v, 0.0, 0.0] for v in p50],
                "seconds": 1.0}
    return {"config": dataclasses.asdict(Fig1Config()), "runs": {"bn": run(bn_acc, bn_p50),
                                                                 "plain": run(plain_acc, plain_p50)},
            "seconds": 2.0, "jobs": 1}


def test_findings_measure_the_lead_the_end_and_the_moves():
    result = _synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97], [0.0, 0.2, -0.1],
                               [0.0, -1.5, -2.0])
    found = fig1_findings(result)
    assert found["lead_5000"] == pytest.approx(0.16)
    assert found["bn_minus_plain"] == pytest.approx(0.01)
    assert found["bn_max_abs_median"] == pytest.approx(0.2)
    assert found["bn_move"] == pytest.approx(0.3) and found["plain_move"] == pytest.approx(2.0)
    for run in result["runs"].values():
        run["step"] = [0, 5000, 6000]          # stopped long before the paper's 50,000 steps
    assert "bn_final" not in fig1_findings(result)      # no end-of-training finding then


def test_table_puts_the_papers_numbers_beside_ours():
    table = fig1_table(_synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97],
                                         [0.0, 0.2, -0.1], [0.0, -1.5, -2.0]))
    assert "0.956" in table and "0.982" in table and "0.787" in table and "0.972" in table
    assert "0.9600" in table and "+0.160" in table and "MISSED" not in table


def test_units_within_counts_the_units_that_never_leave_the_band():
    result = _synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97], [0.0, 0.2, -0.1], [0.0, -1.5, -2.0])
    # three records of three units: unit 0 stays inside, unit 1 leaves once, unit 2 sits on 0.3
    result["runs"]["bn"]["p50_units"] = [[0.0, 0.1, 0.3], [0.2, -0.31, -0.3], [-0.1, 0.0, 0.0]]
    result["runs"]["plain"]["p50_units"] = [[0.0, 0.0, 0.0], [1.0, 0.5, -2.0], [2.0, 0.1, -3.0]]
    assert units_within(result["runs"]["bn"]) == (2, 3)
    assert units_within(result["runs"]["plain"]) == (0, 3)
    table = fig1_table(result)
    assert "with BN:      2 of 3" in table and "without BN:   0 of 3" in table


@pytest.fixture(scope="module")
def mnist_small():
    """The first 2,000 training and 1,000 test images of MNIST."""
    return mnist_slice(2000, 1000)


def test_population_inference_leaves_training_unchanged(mnist_small):
    """Evaluating with Algorithm 2's statistics changes what is measured, not the training."""
    runs = {inference: run_fig1(Fig1Config(steps=30, eval_every=10, inference=inference),
                                data=mnist_small)["runs"]["bn"] for inference in ("running", "population")}
    assert runs["running"]["loss"] == runs["population"]["loss"]            # same training
    assert runs["running"]["grad_norms"] == runs["population"]["grad_norms"]
    assert runs["running"]["p50"] != runs["population"]["p50"]              # other statistics
    with pytest.raises(ValueError, match="inference"):
        run_fig1(Fig1Config(steps=1, inference="exact"), data=mnist_small)
