"""Tests for bnlib/reproduce.py: the command line of the experiments.

One parametrised test runs every registered command on a tiny slice of MNIST (--subset) for a
few steps: it must exit 0, print its table and write JSON files that record their settings
and seeds, plus its PNG figures. The experiments' numbers are tested in tests/experiments/.
"""
import json

import pytest

from bnlib import TrainingDiverged, reproduce
from bnlib.reproduce import EXPERIMENTS, main

TINY = ["--steps", "3", "--subset", "300", "--seeds", "1", "--jobs", "1"]


def test_list_names_the_experiments(capsys):
    assert main(["--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(EXPERIMENTS)
    assert {"fig1", "fig1_seeds", "sweep", "noisy_bn", "landscape", "batchsize", "eval_gap",
            "placement"} <= set(names)


def test_every_experiment_has_a_function_and_a_description():
    for name, (function, description) in EXPERIMENTS.items():
        assert callable(function) and isinstance(description, str) and description, name


def _seeds_recorded(config):
    """True when a JSON config names its seed(s)."""
    return any(key in config for key in ("seed", "seeds"))


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_command_runs_and_writes_its_settings_and_results(name, tmp_path, capsys):
    assert main([name, *TINY, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    written = sorted(p.name for p in tmp_path.iterdir())
    jsons = [p for p in tmp_path.iterdir() if p.suffix == ".json"]
    assert jsons, f"{name} wrote no JSON file: {written}"
    for path in jsons:
        result = json.loads(path.read_text())
        assert isinstance(result, dict) and _seeds_recorded(result["config"]), path.name
    for path in tmp_path.glob("*.png"):
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in printed and all(p in printed for p in written if p.endswith(".json"))


def test_unknown_experiment_and_bad_numbers_are_refused(capsys):
    for argv in (["fig9"], ["fig1", "--steps", "0"], ["fig1", "--subset", "-5"],
                 ["fig1_seeds", "--seeds", "0"]):
        with pytest.raises(SystemExit):
            main(argv)
    assert "unknown experiment" in capsys.readouterr().err


def test_a_diverging_run_is_reported_with_its_step_not_a_traceback(monkeypatch, capsys):
    def diverging(args):
        raise TrainingDiverged(17, "the batch variance is not finite", lr=10.0)

    monkeypatch.setitem(reproduce.EXPERIMENTS, "fig1", (diverging, "diverges"))
    assert main(["fig1"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("fig1: training diverged at step 17 (lr=10)")
    assert "Traceback" not in error


def test_running_the_module_prints_no_warning():
    """`python -m bnlib.reproduce` must not warn that bnlib.reproduce was imported twice."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-W", "error", "-m", "bnlib.reproduce", "--list"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
