"""Santurkar et al.'s noisy batch norm, and how far a layer's input distribution moves (nb 07).

Santurkar, Tsipras, Ilyas & Madry (NeurIPS 2018, Sec. 2.1) test the internal-covariate-shift
explanation of BN by training with random, time-varying shifts and scales after each BN layer
(bnlib.variants.NoisyBatchNorm1d). This module trains the MNIST network of notebook 06 without
BN, with BN and with noisy BN from the same start, and measures:
- `sigmoid_input_moments`: per-unit mean and standard deviation of one hidden layer's
  nonlinearity input on a fixed probe batch, as training sees it (batch statistics, noise);
- `distribution_shift`: how far those move between consecutive records, in units of z;
- `relative_shift`: the same move in units of each unit's own spread.
Command: `noisy_bn` (both initial scales, several seeds; `noisy_bn_findings` sums it up).
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..model import MLP
from ..train import train
from ..variants import noisy_norm_layer
from .common import experiment_data, seeds_of, restored, rounded, write_json
from .fig1 import Fig1Config

NETWORK_LABELS = {"plain": "without BN", "bn": "with BN", "noisy": "noisy BN"}


def sigmoid_input_moments(model, x, layer):
    """Per-unit mean and standard deviation of hidden layer `layer`'s nonlinearity input.

    The probe batch `x` (P, D_in) goes forward in training mode, as the next layer sees its
    input during training: BN normalises with the probe's own statistics, noisy BN adds fresh
    noise. The BN layers' running statistics and the model's mode are restored afterwards.
    Inputs: model, an MLP; x (P, D_in); layer, 1 .. n_hidden.
    Returns (mean (D,), std (D,)), float64.
    """
    if not 1 <= layer <= model.n_hidden:
        raise ValueError(f"layer must lie in 1..{model.n_hidden}, got {layer!r}")
    with restored(model):
        model.train().forward(x)
        z = model.pre_activations[layer - 1].astype(np.float64)    # (P, D)
        return z.mean(axis=0), z.std(axis=0)


def distribution_shift(means, stds):
    """How far each unit's input distribution moves between consecutive records.

    For unit j at records r - 1 and r, sqrt((mean_r - mean_{r-1})^2 + (std_r - std_{r-1})^2):
    the 2-Wasserstein distance between Gaussians with those means and standard deviations,
    i.e. how far the centre and the spread moved, in units of z. Averaged over the units.
    Inputs: means, stds (R, D) arrays (R records, D units). Returns (R - 1,) float64.
    """
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    if means.ndim != 2 or means.shape != stds.shape or len(means) < 2:
        raise ValueError(f"means and stds must be (records >= 2, units) arrays of one shape, "
                         f"got {means.shape} and {stds.shape}")
    step = np.hypot(np.diff(means, axis=0), np.diff(stds, axis=0))   # (R - 1, D)
    return step.mean(axis=1)


def relative_shift(means, stds):
    """`distribution_shift` measured in units of each unit's spread.

    For unit j at records r - 1 and r: sqrt((mean_r - mean_{r-1})^2 + (std_r - std_{r-1})^2)
    divided by std_{r-1}, averaged over the units. A move of 0.03 is large for a unit whose
    inputs spread over 0.01, and small for one that spreads over 3: this says which.
    Inputs: means, stds (R, D) arrays, stds > 0. Returns (R - 1,) float64.
    """
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    distribution_shift(means, stds)                                   # validates the shapes
    step = np.hypot(np.diff(means, axis=0), np.diff(stds, axis=0))   # (R - 1, D)
    return (step / stds[:-1]).mean(axis=1)


def make_network(name, config, init_rng, noise_rng):
    """The MLP of `config` (a Fig1Config): "plain" (no BN), "bn" or "noisy" (noisy BN)."""
    if name not in NETWORK_LABELS:
        raise ValueError(f"network must be one of {list(NETWORK_LABELS)}, got {name!r}")
    norm_layer = noisy_norm_layer(noise_rng) if name == "noisy" else None
    return MLP(config.sizes, use_bn=name != "plain", init_std=config.init_std, rng=init_rng,
               norm_layer=norm_layer)


def run_noisy_comparison(config, data=None, probe_size=600, layer=None,
                         networks=("plain", "bn", "noisy"), progress=None):
    """Train the networks of `config` (a Fig1Config) and follow one layer's input distribution.

    All networks start from the same weights and see the same minibatches (the seeds of
    `bnlib.experiments.fig1.run_network`); noisy BN draws its noise from a third seed. At every
    record (every `config.eval_every` steps) the first `probe_size` training images give the
    per-unit mean and std of hidden layer `layer`'s sigmoid input (`sigmoid_input_moments`;
    None: the last hidden layer; the probe's noise comes from the same generator as the
    training noise). Evaluation uses the running averages (noise off).
    Returns {"config", "layer", "probe_size", "runs": {name: {"step", "test_acc", "loss",
    "mean" (R, D), "std" (R, D), "shift" (R - 1,), "relative_shift" (R - 1,), "seconds"}}},
    lists of plain floats.
    """
    data = experiment_data() if data is None else data
    layer = len(config.sizes) - 2 if layer is None else layer
    probe = data[0][:probe_size]                                     # (P, 784)
    runs = {name: _train_and_probe(name, config, data, probe, layer, progress)
            for name in networks}
    return {"config": dataclasses.asdict(config), "layer": layer, "probe_size": probe_size,
            "runs": runs}


def _train_and_probe(name, config, data, probe, layer, progress):
    """One network of `run_noisy_comparison`: train it, probing `layer` at every record."""
    init_seed, batch_seed, noise_seed = np.random.SeedSequence(config.seed).spawn(3)
    model = make_network(name, config, np.random.default_rng(init_seed),
                         np.random.default_rng(noise_seed))
    moments = []
    record = lambda history: moments.append(sigmoid_input_moments(model, probe, layer))
    start = time.perf_counter()
    history = train(model, data, config.steps, config.lr, config.momentum, config.batch_size,
                    eval_every=config.eval_every, rng=np.random.default_rng(batch_seed),
                    unit=config.unit, progress=progress, on_record=record,
                    desc=NETWORK_LABELS[name])
    means, stds = (np.array(m) for m in zip(*moments))               # (R, D) each
    return {"step": history["step"], "test_acc": history["test_acc"],
            "loss": [None if np.isnan(v) else float(v) for v in history["loss"]],
            "mean": means.tolist(), "std": stds.tolist(),
            "shift": distribution_shift(means, stds).tolist(),
            "relative_shift": relative_shift(means, stds).tolist(),
            "seconds": time.perf_counter() - start}


def noisy_table(result):
    """Text table of a `run_noisy_comparison` result: final accuracy and input shift per network.

    "shift" is `distribution_shift` between consecutive records: its mean and its median over
    the run (the median is less swayed by the first records, when everything moves fast);
    "rel. shift" the median of `relative_shift` (the move in units of the unit's spread).
    """
    lines = [f"{'network':<11} {'steps':>6} {'test acc':>9} {'mean shift':>11} "
             f"{'median shift':>13} {'rel. shift':>11}"]
    for name, run in result["runs"].items():
        lines.append(f"{NETWORK_LABELS[name]:<11} {run['step'][-1]:>6} "
                     f"{run['test_acc'][-1]:>9.4f} {np.mean(run['shift']):>11.4f} "
                     f"{np.median(run['shift']):>13.4f} {np.median(run['relative_shift']):>11.4f}")
    return "\n".join(lines)


NOISY_BN_STEPS = 10_000               # per network, in `noisy_bn_command`


NOISY_BN_INIT_STDS = (0.05, 0.5)      # notebook 06's initial scale, and one without a plateau


EARLY_STEPS = 1000                    # "early": the records up to this step (the live run's)


def compact_run(run, seed, unit=0):
    """What the JSON keeps of one `run_noisy_comparison` run: its curves, one unit's input
    moments (`unit`), the spread averaged over the units, and no per-unit arrays."""
    stds = np.array(run["std"])                                       # (R, D)
    return {"seed": seed, "step": run["step"], "test_acc": run["test_acc"],
            "shift": rounded(run["shift"]), "relative_shift": rounded(run["relative_shift"]),
            "unit": unit, "unit_mean": rounded(np.array(run["mean"])[:, unit]),
            "unit_std": rounded(stds[:, unit]), "mean_std": rounded(stds.mean(axis=1)),
            "seconds": round(run["seconds"], 2)}


def noisy_bn_findings(runs, early=EARLY_STEPS):
    """The numbers notebook 07 quotes, from the runs of one initial scale over several seeds.

    runs: {network: [compact_run per seed]}. Per network: "test_acc" [mean, min, max] of the
    final test accuracy over the seeds; "shift" and "relative_shift", the mean over seeds of
    each run's median shift; "early_shift" and "late_shift" (and "early_relative_shift",
    "late_relative_shift"), the same median over the moves that end at or before step
    `early`, and after it. Returns {network: {name: value}}.
    """
    def median(seeds, key, first=0, last=float("inf")):
        """Mean over the seeds of the median of run[key] over the moves ending in (first,
        last]; None if a run has no such move (a run shorter than `early`)."""
        kept = [[value for value, step in zip(run[key], run["step"][1:]) if first < step <= last]
                for run in seeds]
        return float(np.mean([np.median(k) for k in kept])) if all(kept) else None

    found = {}
    for name, seeds in runs.items():
        accuracy = [run["test_acc"][-1] for run in seeds]
        found[name] = {"test_acc": [float(np.mean(accuracy)), min(accuracy), max(accuracy)],
                       "shift": median(seeds, "shift"),
                       "relative_shift": median(seeds, "relative_shift"),
                       "early_shift": median(seeds, "shift", last=early),
                       "late_shift": median(seeds, "shift", first=early),
                       "early_relative_shift": median(seeds, "relative_shift", last=early),
                       "late_relative_shift": median(seeds, "relative_shift", first=early)}
    return found


def findings_table(findings):
    """Text table of `noisy_bn_findings` per initial scale: {init_std: findings}."""
    lines = [f"{'':>8} {'':<11} {'':>21} {'shift':>23}   {'relative shift':>23}",
             f"{'init std':>8} {'network':<11} {'test acc (min-max)':>21} {'all':>7} "
             f"{'early':>7} {'late':>7}   {'all':>7} {'early':>7} {'late':>7}"]
    for init_std, by_network in findings.items():
        for name, found in by_network.items():
            mean, low, high = found["test_acc"]
            lines.append(f"{init_std:>8} {NETWORK_LABELS[name]:<11} "
                         f"{f'{mean:.4f} ({low:.3f}-{high:.3f})':>21} {found['shift']:>7.4f} "
                         f"{_number(found['early_shift']):>7} {_number(found['late_shift']):>7}   "
                         f"{found['relative_shift']:>7.4f} "
                         f"{_number(found['early_relative_shift']):>7} "
                         f"{_number(found['late_relative_shift']):>7}")
    return "\n".join(lines)


def _number(value):
    """A table cell: the value with 4 decimals, or "-" for None."""
    return "-" if value is None else f"{value:.4f}"


def noisy_bn_command(args):
    """`python -m bnlib.reproduce noisy_bn`: the three networks at both initial scales.

    args: an argparse.Namespace with steps (None: NOISY_BN_STEPS), seed, seeds (how many, from
    seed on) and out (a folder). Writes noisy_bn.json and noisy_bn.png into out, prints the
    tables (shift: median over the run; early/late: over the first EARLY_STEPS steps and
    after; all means over the seeds); returns 0.
    """
    from ..figures import common, why_bn       # matplotlib is only needed here
    out, steps = Path(args.out), args.steps or NOISY_BN_STEPS
    seeds = list(seeds_of(args))
    data, runs, start = experiment_data(args), {}, time.perf_counter()
    for init_std in NOISY_BN_INIT_STDS:
        runs[f"{init_std:g}"] = {name: [] for name in NETWORK_LABELS}
        for seed in seeds:
            config = Fig1Config(steps=steps, eval_every=100, init_std=init_std, seed=seed)
            result = run_noisy_comparison(config, data)
            for name, run in result["runs"].items():
                runs[f"{init_std:g}"][name].append(compact_run(run, seed))
    findings = {init_std: noisy_bn_findings(by_network) for init_std, by_network in runs.items()}
    config = {**dataclasses.asdict(Fig1Config(steps=steps, eval_every=100)), "seeds": seeds,
              "init_stds": list(NOISY_BN_INIT_STDS), "probe_size": 600,
              "layer": result["layer"], "early_steps": EARLY_STEPS,
              "inference": "running"}      # train() without population_x: running averages
    config.pop("seed"), config.pop("init_std")
    summary = {"config": config, "findings": findings, "runs": runs,
               "seconds": round(time.perf_counter() - start, 1)}
    print(f"{steps} steps, seeds {seeds}, layer {result['layer']}:\n{findings_table(findings)}")
    common.save_figure(why_bn.plot_noisy_full(summary)[0], out / "noisy_bn.png")
    write_json(summary, out / "noisy_bn.json")
    print("wrote", out / "noisy_bn.json", out / "noisy_bn.png")
    return 0


COMMANDS = {"noisy_bn": (noisy_bn_command, "MNIST MLP without BN, with BN and with Santurkar et "
                                           "al.'s noisy BN: test accuracy and the shift of a "
                                           "layer's input distribution (notebook 07)")}
