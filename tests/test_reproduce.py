"""Tests for bnlib/reproduce.py: the command line, the fig1 files, the targets and the table.

The full 50,000-step run is not part of the tests; here the command runs a few steps.
"""
import json

import numpy as np
import pytest

from bnlib import reproduce
from bnlib.reproduce import Fig1Config, fig1_table, fig1_targets, main, record_steps, run_fig1

CONFIG_KEYS = {"steps", "lr", "momentum", "init_std", "batch_size", "eval_every", "seed"}
RUN_KEYS = {"step", "test_acc", "p15", "p50", "p85", "seconds"}


def test_list_names_the_experiments(capsys):
    assert main(["--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["fig1", "fig1_seeds", "sweep", "noisy_bn", "landscape", "batchsize", "eval_gap", "placement"]


def test_every_experiment_resolves_to_a_function_and_a_description():
    for name, (function, description) in reproduce.all_experiments().items():
        assert callable(function) and isinstance(description, str) and description, name


def test_sweep_command_writes_its_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(reproduce, "SWEEP_LRS", (0.1, 1.0))         # a 2 x 1 grid, 3 steps
    monkeypatch.setattr(reproduce, "SWEEP_INIT_STDS", (0.05,))
    assert main(["sweep", "--steps", "3", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "sweep.json").read_text())
    assert result["lr"] == [0.1, 1.0] and result["init_std"] == [0.05] and result["steps"] == 3
    assert all(len(result[name]) == 1 and len(result[name][0]) == 2 for name in ("plain", "bn"))
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "with BN" in capsys.readouterr().out


def test_unknown_experiment_and_bad_steps_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["fig9"])
    with pytest.raises(SystemExit):
        main(["fig1", "--steps", "0"])
    assert "unknown experiment" in capsys.readouterr().err


def test_fig1_command_writes_the_json_shape_and_the_png(tmp_path, capsys):
    assert main(["fig1", "--steps", "7", "--seed", "3", "--out", str(tmp_path), "--jobs", "1"]) == 0
    result = json.loads((tmp_path / "fig1.json").read_text())
    assert CONFIG_KEYS <= set(result["config"])
    assert result["config"]["steps"] == 7 and result["config"]["seed"] == 3
    assert set(result["runs"]) == {"bn", "plain"}
    for run in result["runs"].values():
        assert RUN_KEYS <= set(run)
        assert run["step"] == [0, 7]
        assert all(len(run[key]) == 2 for key in ("test_acc", "p15", "p50", "p85"))
        assert all(isinstance(v, float) for key in ("test_acc", "p15", "p50", "p85") for v in run[key])
        assert isinstance(run["seconds"], float) and run["seconds"] > 0
        assert all(a <= b <= c for a, b, c in zip(run["p15"], run["p50"], run["p85"]))
        # every last-layer unit's median; the followed unit's is p50 (kept to 4 digits there)
        assert [len(medians) for medians in run["p50_units"]] == [100, 100]
        unit = result["config"]["unit"]
        np.testing.assert_allclose([m[unit] for m in run["p50_units"]], run["p50"], rtol=1e-3)
    assert (tmp_path / "fig1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "with BN" in out and "without BN" in out and "fig1.json" in out


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
    """A fig1 result with records at 0, 5000 and 50000 steps."""
    run = lambda acc, p50: {"step": [0, 5000, 50000], "test_acc": acc, "p15": [v - 1 for v in p50],
                            "p50": p50, "p85": [v + 1 for v in p50], "seconds": 1.0}
    return {"config": {"steps": 50000}, "runs": {"bn": run(bn_acc, bn_p50),
                                                 "plain": run(plain_acc, plain_p50)},
            "seconds": 2.0, "jobs": 1}


def test_targets_met_and_missed():
    good = _synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97], [0.0, 0.2, -0.1], [0.0, -1.5, -2.0])
    assert all(met for _, _, met in fig1_targets(good))
    bad = _synthetic_result([0.1, 0.85, 0.97], [0.1, 0.8, 0.975], [0.0, 0.5, 0.0], [0.0, 0.2, 0.5])
    assert not any(met for _, _, met in fig1_targets(bad))
    short = _synthetic_result([0.1, 0.96, 0.97], [0.1, 0.8, 0.9], [0.0, 0.2, -0.1], [0.0, -1.5, -2.0])
    for run in short["runs"].values():
        run["step"] = [0, 5000, 6000]          # stopped long before the paper's 50,000 steps
    assert len(fig1_targets(short)) == 3       # no end-of-training target after 6,000 steps


def test_table_puts_the_papers_numbers_beside_ours():
    table = fig1_table(_synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97],
                                         [0.0, 0.2, -0.1], [0.0, -1.5, -2.0]))
    assert "0.956" in table and "0.982" in table and "0.787" in table and "0.972" in table
    assert "0.9600" in table and "MISSED" not in table


def test_units_within_counts_the_units_that_never_leave_the_band():
    result = _synthetic_result([0.1, 0.96, 0.98], [0.1, 0.8, 0.97], [0.0, 0.2, -0.1], [0.0, -1.5, -2.0])
    # three records of three units: unit 0 stays inside, unit 1 leaves once, unit 2 sits on 0.3
    result["runs"]["bn"]["p50_units"] = [[0.0, 0.1, 0.3], [0.2, -0.31, -0.3], [-0.1, 0.0, 0.0]]
    result["runs"]["plain"]["p50_units"] = [[0.0, 0.0, 0.0], [1.0, 0.5, -2.0], [2.0, 0.1, -3.0]]
    assert reproduce.units_within(result["runs"]["bn"]) == (2, 3)
    assert reproduce.units_within(result["runs"]["plain"]) == (0, 3)
    table = fig1_table(result)
    assert "with BN:      2 of 3" in table and "without BN:   0 of 3" in table


@pytest.fixture(scope="module")
def mnist_small():
    """The first 2,000 training and 1,000 test images of MNIST."""
    x_train, y_train, x_test, y_test = reproduce.load_mnist()
    return x_train[:2000], y_train[:2000], x_test[:1000], y_test[:1000]


def test_population_inference_leaves_training_unchanged(mnist_small):
    """Evaluating with Algorithm 2's statistics changes what is measured, not the training."""
    runs = {inference: run_fig1(Fig1Config(steps=30, eval_every=10, inference=inference),
                                data=mnist_small)["runs"]["bn"] for inference in ("running", "population")}
    assert runs["running"]["loss"] == runs["population"]["loss"]            # same training
    assert runs["running"]["grad_norms"] == runs["population"]["grad_norms"]
    assert runs["running"]["p50"] != runs["population"]["p50"]              # other statistics
    with pytest.raises(ValueError, match="inference"):
        run_fig1(Fig1Config(steps=1, inference="exact"), data=mnist_small)


def test_fig1_seeds_runs_one_fig1_per_seed_and_counts_the_targets(tmp_path, capsys):
    argv = ["fig1_seeds", "--steps", "5", "--seed", "2", "--seeds", "2", "--jobs", "1",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "fig1_seeds.json").read_text())["rows"]
    assert [row["seed"] for row in rows] == [2, 3]
    # 5 steps: no record at 5,000 and no end-of-training target, only the two median targets
    assert all(row["bn_5000"] is None and len(row["targets"]) == 2 for row in rows)
    out = capsys.readouterr().out
    assert "of 2  with BN, max |median input| <= 0.3" in out
    with pytest.raises(SystemExit):
        main(["fig1_seeds", "--seeds", "0"])
