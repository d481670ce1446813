"""Smoke tests for benchmarks/: the fused step that bench_step.py times is the MLP's step."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from bnlib import load_mnist
from bnlib.experiments.fig1 import Fig1Config

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name):
    """Import benchmarks/NAME.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_step():
    sys.path.insert(0, str(BENCHMARKS))        # the scripts import tables.py beside them
    try:
        return load_benchmark("bench_step")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def data():
    x_train, y_train, x_test, y_test = load_mnist()
    return x_train[:600], y_train[:600], x_test, y_test


def test_fused_step_computes_the_mlps_update(bench_step, data):
    # make_sides runs check_fused first: it raises if the fused step and MLP + SGD disagree
    sides = bench_step.make_sides(data, Fig1Config())
    times = bench_step.time_steps(sides, data, Fig1Config(), repeats=1, steps=2)
    assert set(times) == set(sides) and all(len(t) == 1 and t[0] > 0 for t in times.values())


def test_the_check_notices_a_wrong_fused_step(bench_step, data):
    config = Fig1Config()
    model = bench_step.MLP(config.sizes, use_bn=True, init_std=config.init_std,
                           rng=np.random.default_rng(0))
    fused = bench_step.FusedStep(model, lr=2 * config.lr, n=config.batch_size)   # wrong lr
    with pytest.raises(AssertionError):
        bench_step.check_fused(fused, data, config)
