"""Tests for bnlib/figures/training.py: the figures of notebook 06, drawn from synthetic results
(no training)."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib.figures import training as plots  # noqa: E402


def _fig1_run(rng, steps=(0, 500, 1000)):
    n = len(steps)
    p50 = rng.normal(size=n)
    return {"step": list(steps), "test_acc": list(np.linspace(0.1, 0.95, n)),
            "p15": list(p50 - 1), "p50": list(p50), "p85": list(p50 + 1),
            "grad_norms": [[1.0, 2.0, 3.0]] * n}


@pytest.fixture
def closing():
    """Close every figure a test made."""
    yield
    plt.close("all")


def test_fig1_has_three_panels_and_the_papers_crosses(rng, closing):
    result = {"config": {"unit": 0, "sizes": (784, 100, 100, 100, 10)},
              "runs": {"plain": _fig1_run(rng), "bn": _fig1_run(rng)}}
    fig, axes = plots.plot_fig1(result, paper={"bn": {1000: 0.9}, "plain": {1000: 0.5}})
    assert len(axes) == 3 and "layer 3" in axes[1].get_title()
    assert any(line.get_marker() == "x" for line in axes[0].lines)


def test_sweep_writes_div_where_a_run_diverged(closing):
    sweep = {"lr": [0.1, 10], "init_std": [0.01], "steps": 20,
             "plain": [[0.5, None]], "bn": [[0.9, 0.95]]}
    fig, axes = plots.plot_sweep(sweep)
    assert "div." in [t.get_text() for t in axes[0].texts]
    assert "0.95" in [t.get_text() for t in axes[1].texts]


def test_grad_norms_leave_out_step_0(rng, closing):
    result = {"runs": {"plain": _fig1_run(rng), "bn": _fig1_run(rng)}}
    fig, axes = plots.plot_grad_norms(result)
    assert len(axes[0].lines) == 3
    np.testing.assert_array_equal(axes[0].lines[0].get_xdata(), [500, 1000])


def _fair_result():
    run = lambda accs: {"step": [0, 100, 5000, 10000], "accuracy": accs,
                        "p15": [0, 0, 0, 0], "p85": [1, 1, 1, 1], "diverged_at": None}
    runs = {"paper": {"plain": [run([0.1, 0.1, 0.8, 0.96])] * 2,
                      "bn": [run([0.1, 0.9, 0.96, 0.98])] * 2},
            "fair": {"plain": [run([0.1, 0.5, 0.96, 0.97])] * 2,
                     "bn": [run([0.1, 0.92, 0.97, 0.98])] * 2}}
    return {"config": {"thresholds": (0.95, 0.97)}, "chosen": {"plain": 1.0, "bn": 3.0},
            "scores": {"plain": {"0.1": 0.96, "1": 0.975, "3": 0.97, "10": None},
                       "bn": {"0.1": 0.978, "1": 0.979, "3": 0.981, "10": 0.97}},
            "summary": {"paper": {"plain": {"lr": 0.1}, "bn": {"lr": 0.1}},
                        "fair": {"plain": {"lr": 1.0}, "bn": {"lr": 3.0}}},
            "runs": runs}


def test_fair_comparison_rings_the_choice_and_draws_both_settings(closing):
    fig, axes = plots.plot_fig1_fair(_fair_result())
    ringed = [line for line in axes[0].lines if line.get_markerfacecolor() == "none"]
    assert [tuple(line.get_xdata()) for line in ringed] == [(1.0,), (3.0,)]
    assert len(axes[1].lines) == 4 + 2            # 2 settings x 2 networks, 2 thresholds
    styles = {line.get_label(): line.get_linestyle() for line in axes[1].lines[:4]}
    assert styles["without BN, lr 0.1"] == "--" and styles["without BN, lr 1"] == "-"
    assert axes[1].get_xscale() == "log"
    np.testing.assert_array_equal(axes[2].lines[0].get_xdata(), [5000, 10000])   # from 5,000


def _affine_result(rng):
    def run(accs):
        units = [{"gamma": list(1 + 0.3 * rng.normal(size=5)),
                  "beta": list(0.2 * rng.normal(size=5)), "sigma": [0.5] * 5}] * 3
        return {"step": [0, 1000, 2000], "test_acc": accs, "units": units}
    by_variant = {"learned": [run([0.1, 0.95, 0.97])], "frozen": [run([0.1, 0.94, 0.96])]}
    return {"runs": {"0.1": by_variant, "1": by_variant}}


def test_affine_ablation_has_a_row_per_learning_rate(rng, closing):
    fig, axes = plots.plot_affine_ablation(_affine_result(rng))
    assert axes.shape == (2, 3)
    assert "lr 1" in axes[1, 0].get_title() and "γ" in axes[0, 1].get_title()
    assert len(axes[0, 1].patches) == 3           # one step histogram per layer
    assert axes[0, 2].lines[0].get_xdata()[0] == 0.0     # the frozen beta


def test_large_lr_plot_draws_every_variant_and_init(rng, closing):
    def run(n_steps=4):
        return {"step": [1, 2, 3, 25][:n_steps], "stuck": [[0, 0, 0.5]] * n_steps,
                "saturated": [[0, 0, 0.7]] * n_steps, "growth": [[1, 1, 1, 1]] * n_steps,
                "gain": [[0.5, 1, 1]] * n_steps}
    runs = {v: {"0.01": [run()], "1": [run()]} for v in ("plain", "bn", "bn_held")}
    fig, axes = plots.plot_large_lr({"config": {"lr": 10.0}, "runs": runs})
    assert len(axes[0].lines) == 6 and len(axes[3].lines) == 4     # no gain without BN
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert "layer 3" in axes[0].get_title()
