"""The loss landscape along the gradient, and the learning rates a network survives.

Santurkar, Tsipras, Ilyas & Madry (NeurIPS 2018, Sec. 3.1 and Fig. 4) explain BN's benefit by
a smoother loss landscape: at a point of training, step along the negative gradient by
several step sizes and watch (a) how much the loss varies and (b) how much the gradient
changes. With BN both vary less, so the gradient predicts the loss further ahead and larger
steps are safe. This module measures that on the MNIST network of notebook 06:

- `loss_along_gradient`: loss and gradient change at theta - eta * g for several step sizes eta;
- `landscape_summary`: loss range, largest gradient change, and the "effective smoothness"
  max ||g(theta - eta g) - g(theta)|| / ||eta g||;
- `landscape_during_training`: these at chosen steps of a training run;
- `learning_rate_sweep`, `sweep_table`: final accuracy over learning rates, a divergence
  reported with its step rather than raised;
Command: `landscape` (all of it at full scale).
"""
import dataclasses
import math
from pathlib import Path

import numpy as np

from ..model import MLP
from ..saturation import SATURATION_THRESHOLD
from ..train import TrainingDiverged, evaluation_pass, train
from .common import experiment_data, restored, write_json
from .fig1 import Fig1Config


STEP_MULTIPLES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)   # step sizes, in learning rates


CHANCE_ACCURACY = 0.15     # at or below this on 10 balanced classes a run counts as stalled


def parameter_mask(model, names=None):
    """Boolean mask (P,) over `model.flat_params`: True on the parameters `names` (None: all)."""
    mask = np.zeros(model.flat_params.shape, bool)
    unknown = set(names or ()) - set(model.params)
    if unknown:
        raise ValueError(f"unknown parameter names {sorted(unknown)}; the model has "
                         f"{list(model.params)}")
    for name in model.params if names is None else names:
        mask[model.param_slices[name]] = True
    return mask


def bn_gains(model, x):
    """Per BN layer, the mean over units of |gamma| / sigma_B on the batch `x` (N, D_in).

    BN's backward formula (notebook 03) gives the gradient reaching the layer below as
    gamma / sigma_B times the incoming gradient with its components along the all-ones vector
    and along x_hat removed (a projection, up to eps), where sigma_B = sqrt(var_B + eps) is the
    batch standard deviation of BN's input. Santurkar et al. (2018, Thm. 4.1) turn this into
    an upper bound on the gradient's norm. A gain above 1 amplifies the gradient of the
    weights below, one under 1 damps it. The model is left unchanged. Returns a list of
    floats, one per hidden layer.
    """
    if not model.bns:
        raise ValueError("the model has no BN layer (use_bn=False): there is no gain to measure")
    with restored(model):
        model.train().forward(x)
        # the training-mode forward keeps 1 / sqrt(var_B + eps) in the layer's cache
        return [float(np.mean(np.abs(bn.gamma) * bn._cache.inv_std)) for bn in model.bns]


def loss_along_gradient(model, x, y, step_sizes, names=None):
    """Loss and gradient change when stepping from the current parameters down the gradient.

    On the batch (x (N, D_in), y (N,)), in training mode (BN uses the batch's statistics):
    g = the gradient at theta of the parameters `names` (None: all), flattened; for each eta
    in `step_sizes`, the loss at theta - eta * g (the other parameters stay) and
    ||g(theta - eta * g) - g||. The model is left unchanged.
    Returns {"step_sizes" (K,), "loss" (K,), "grad_change" (K,), "loss0", "grad_norm"}.
    """
    step_sizes = np.asarray(step_sizes, np.float64)
    if (step_sizes.ndim != 1 or step_sizes.size == 0
            or not np.all(np.isfinite(step_sizes) & (step_sizes > 0))):
        raise ValueError(f"step_sizes must be a 1-d sequence of numbers > 0, got {step_sizes}")
    mask = parameter_mask(model, names)                                    # (P,)
    with restored(model):
        loss0 = float(model.train().loss(x, y))
        theta = model.flat_params.copy()                                   # (P,)
        g = np.where(mask, model.flat_grads, 0.0)                          # (P,) float64
        losses, changes = [], []
        for eta in step_sizes:
            model.flat_params[...] = theta - eta * g
            losses.append(float(model.loss(x, y)))
            changes.append(float(np.linalg.norm(model.flat_grads[mask] - g[mask])))
    return {"step_sizes": step_sizes.tolist(), "loss": losses, "grad_change": changes,
            "loss0": loss0, "grad_norm": float(np.linalg.norm(g))}


def landscape_summary(point):
    """Three numbers from one `loss_along_gradient` result.

    loss_range: max - min of the losses over the step sizes; grad_change: the largest
    ||g(theta - eta g) - g||; smoothness: the largest ||g(theta - eta g) - g|| / ||eta g||,
    how fast the gradient turns per unit of distance moved (Santurkar et al.'s "effective
    beta-smoothness"). Returns a dict of these three floats.
    """
    distance = np.asarray(point["step_sizes"]) * point["grad_norm"]          # (K,)
    changes = np.asarray(point["grad_change"])
    smoothness = np.max(changes / distance) if point["grad_norm"] > 0 else 0.0
    return {"loss_range": float(np.ptp(point["loss"])), "grad_change": float(changes.max()),
            "smoothness": float(smoothness)}


def hidden_weights(model):
    """Names of the hidden layers' weight matrices, W1 .. W_{n_hidden}: the ones BN follows."""
    return [f"W{k}" for k in range(1, model.n_hidden + 1)]


def landscape_during_training(use_bn, config, data=None, at_steps=(0, 100, 300), which="hidden",
                              batches=3, multiples=STEP_MULTIPLES, progress=False):
    """Train the network of `config` (a Fig1Config) and measure the landscape at `at_steps`.

    At each step of `at_steps`, `loss_along_gradient` runs on `batches` random training
    minibatches with step sizes `multiples` x config.lr, along the gradient of the hidden
    weights (which="hidden") or of all parameters ("all"). Same initial weights and minibatches
    as `bnlib.experiments.fig1.run_network` for the same seed; the landscape batches have their own.
    Returns {"step", "test_acc", "multiples", "points": per step a list of `batches`
    loss_along_gradient results, and "loss_range", "grad_change", "smoothness": per step the
    mean over batches}.
    """
    if which not in ("hidden", "all"):
        raise ValueError(f"which must be 'hidden' or 'all', got {which!r}")
    data = experiment_data() if data is None else data
    init_seed, batch_seed, probe_seed = np.random.SeedSequence(config.seed).spawn(3)
    model = MLP(config.sizes, use_bn=use_bn, init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    names = hidden_weights(model) if which == "hidden" else None
    probe_rng, step_sizes = np.random.default_rng(probe_seed), np.asarray(multiples) * config.lr
    points = []

    def measure(history):
        batch_idx = [probe_rng.choice(len(data[0]), config.batch_size, replace=False)
                     for _ in range(batches)]
        points.append([loss_along_gradient(model, data[0][i], data[1][i], step_sizes, names)
                       for i in batch_idx])

    history = train(model, data, max(at_steps), config.lr, config.momentum, config.batch_size,
                    eval_every=sorted(at_steps), rng=np.random.default_rng(batch_seed),
                    progress=progress, on_record=measure)
    return {"step": history["step"], "test_acc": history["test_acc"],
            "multiples": list(multiples), "points": points, **_mean_summaries(points)}


def _mean_summaries(points):
    """{"loss_range", "grad_change", "smoothness"}: per measuring point, the mean over its
    batches of `landscape_summary` (points: per step a list of loss_along_gradient results)."""
    return {key: [float(np.mean([landscape_summary(p)[key] for p in step_points]))
                  for step_points in points]
            for key in ("loss_range", "grad_change", "smoothness")}


def _norm(array):
    """Euclidean norm in float64, or None if it is not finite (a run that blew up)."""
    norm = float(np.linalg.norm(np.asarray(array, np.float64)))
    return norm if math.isfinite(norm) else None


def last_layer_saturation(model, x):
    """How saturated the last hidden layer's sigmoids are on the inputs `x` (M, D_in).

    In evaluation mode, with z the last hidden layer's sigmoid input (M, width): "saturated",
    the share of the entries with |z| > SATURATION_THRESHOLD (sigmoid' < 0.018 there), and
    "stuck", the share of units saturated on the same side for every row of x: their output
    is then nearly constant, and they pass almost no gradient back for any image.
    Returns {"saturated", "stuck"}, two floats.
    """
    z = evaluation_pass(model, x)[1][-1]                                    # (M, width)
    high, low = z > SATURATION_THRESHOLD, z < -SATURATION_THRESHOLD
    stuck = np.all(high, axis=0) | np.all(low, axis=0)                       # (width,)
    return {"saturated": float(np.mean(high | low)), "stuck": float(np.mean(stuck))}


SATURATION_PROBE = 2000         # test images on which `sweep_run` measures saturation


def sweep_run(use_bn, lr, config, data, activation="sigmoid"):
    """One run of `learning_rate_sweep`: train, and classify how it ended.

    Returns {"use_bn", "activation", "lr", "status", "test_acc" (None if diverged),
    "diverged_at" (the step whose loss or BN statistics stopped being finite, or None),
    "w1_norm": [||W1|| at the start, at the end (None if diverged)], and for sigmoids
    "saturation": [`last_layer_saturation` on the first SATURATION_PROBE test images at the
    start, at the end (None if diverged)] (None for relu)}. status is "diverged", "chance"
    (test accuracy <= CHANCE_ACCURACY at the end) or "trains".
    """
    init_seed, batch_seed = np.random.SeedSequence(config.seed).spawn(2)
    model = MLP(config.sizes, use_bn=use_bn, activation=activation, init_std=config.init_std,
                rng=np.random.default_rng(init_seed))
    probe = data[2][:SATURATION_PROBE]
    saturation = (lambda: last_layer_saturation(model, probe)) if activation == "sigmoid" else None
    row = {"use_bn": use_bn, "activation": activation, "lr": lr, "test_acc": None,
           "diverged_at": None, "w1_norm": [_norm(model.params["W1"]), None],
           "saturation": [saturation(), None] if saturation else None}
    try:
        history = train(model, data, config.steps, lr, config.momentum, config.batch_size,
                        eval_every=config.steps, rng=np.random.default_rng(batch_seed),
                        progress=False)
    except TrainingDiverged as diverged:
        return {**row, "status": "diverged", "diverged_at": diverged.step}
    accuracy = history["test_acc"][-1]
    row["w1_norm"][1] = _norm(model.params["W1"])
    if saturation:
        row["saturation"][1] = saturation()
    return {**row, "status": "chance" if accuracy <= CHANCE_ACCURACY else "trains",
            "test_acc": accuracy}


def learning_rate_sweep(lrs, config, data=None, activations=("sigmoid",), progress=None):
    """`sweep_run` for every activation, network (without, with BN) and learning rate.

    Inputs: lrs, a sequence of learning rates; config, a Fig1Config (its steps, init_std,
    seed, ...; its lr is ignored); data as `load_mnist` returns it (None: load it).
    Returns a list of `sweep_run` rows, in the order activation, network, lr.
    """
    data = experiment_data() if data is None else data
    return [sweep_run(use_bn, lr, config, data, activation)
            for activation in activations for use_bn in (False, True) for lr in lrs]


def sweep_cell(row):
    """One cell of `sweep_table`: "0.905", "chance (0.098)" or "diverged at step 13"."""
    if row["status"] == "diverged":
        return f"diverged at step {row['diverged_at']}"
    accuracy = f"{row['test_acc']:.3f}"
    return f"chance ({accuracy})" if row["status"] == "chance" else accuracy


def sweep_table(rows):
    """Text table of `learning_rate_sweep` rows: one line per network, one column per lr."""
    lrs = sorted({row["lr"] for row in rows})
    width = max(len(sweep_cell(row)) for row in rows) + 2
    lines = [f"{'network':<22}" + "".join(f"{'lr ' + format(lr, 'g'):>{width}}" for lr in lrs)]
    networks = dict.fromkeys((row["activation"], row["use_bn"]) for row in rows)
    for activation, use_bn in networks:
        cells = {row["lr"]: sweep_cell(row) for row in rows
                 if (row["activation"], row["use_bn"]) == (activation, use_bn)}
        name = f"{activation}, {'with BN' if use_bn else 'without BN'}"
        lines.append(f"{name:<22}" + "".join(f"{cells.get(lr, '-'):>{width}}" for lr in lrs))
    return "\n".join(lines)


def compare_landscapes(config, init_stds=(0.05, 0.5), data=None, at_steps=(0, 100, 300),
                       which="hidden", batches=3):
    """`landscape_during_training` without and with BN, for each initial scale in `init_stds`.

    config: a Fig1Config (its init_std is replaced by each of `init_stds`).
    Returns {"which", "runs": {f"{init_std:g}": {"plain": result, "bn": result}}}.
    """
    data = experiment_data() if data is None else data
    runs = {}
    for init_std in init_stds:
        scaled = dataclasses.replace(config, init_std=init_std)
        runs[f"{init_std:g}"] = {name: landscape_during_training(name == "bn", scaled, data,
                                                                 at_steps, which, batches)
                                 for name in ("plain", "bn")}
    return {"which": which, "runs": runs}


def landscape_table(result):
    """Text table of `compare_landscapes`: per scale, network and step the three measures."""
    lines = [f"{'init std':>8} {'network':<11} {'step':>5} {'test acc':>9} {'loss range':>11} "
             f"{'grad change':>12} {'smoothness':>11}"]
    for init_std, runs in result["runs"].items():
        for name, run in runs.items():
            for i, step in enumerate(run["step"]):
                lines.append(f"{init_std:>8} {'with BN' if name == 'bn' else 'without BN':<11} "
                             f"{step:>5} {run['test_acc'][i]:>9.3f} {run['loss_range'][i]:>11.4f} "
                             f"{run['grad_change'][i]:>12.4f} {run['smoothness'][i]:>11.4f}")
    return "\n".join(lines)


LANDSCAPE_STEPS = 2000          # default steps of `landscape_experiment` (landscape and sweep)


LANDSCAPE_POINTS = 8            # measuring points, spread evenly over those steps


LANDSCAPE_BATCHES = 3           # minibatches averaged at each measuring point


SWEEP_LRS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def landscape_command(args):
    """`python -m bnlib.reproduce landscape`: the landscape along training, and the lr sweep.

    The landscape at LANDSCAPE_POINTS points of a run of args.steps (None: LANDSCAPE_STEPS)
    steps, LANDSCAPE_BATCHES minibatches each, along the hidden weights and along all
    parameters, at initial std 0.05 and 0.5; then the sweep over SWEEP_LRS (sigmoid at std
    0.5, ReLU at 0.05) for args.steps steps. args: an argparse.Namespace with steps, seed and
    out. Writes landscape.json and landscape.png into the folder out, prints the tables;
    returns 0.
    """
    from ..figures import common, why_bn       # matplotlib is only needed here
    out, steps = Path(args.out), args.steps or LANDSCAPE_STEPS
    data, config = experiment_data(args), Fig1Config(steps=steps, seed=args.seed)
    at_steps = sorted({0, *np.linspace(0, steps, LANDSCAPE_POINTS).astype(int).tolist()})
    results = {which: compare_landscapes(config, data=data, at_steps=at_steps, which=which,
                                         batches=LANDSCAPE_BATCHES) for which in ("hidden", "all")}
    sweeps = {"sigmoid": learning_rate_sweep(SWEEP_LRS, dataclasses.replace(config, init_std=0.5),
                                             data),
              "relu": learning_rate_sweep(SWEEP_LRS, config, data, activations=("relu",))}
    for which, result in results.items():
        print(f"along the gradient of {which} parameters:\n{landscape_table(result)}\n")
    for activation, rows in sweeps.items():
        print(f"test accuracy after {steps} steps:\n{sweep_table(rows)}\n")
    common.save_figure(why_bn.plot_landscape(results["hidden"])[0], out / "landscape.png")
    write_json({"config": {**dataclasses.asdict(config), "points": at_steps,
                           "batches": LANDSCAPE_BATCHES, "sweep_lrs": list(SWEEP_LRS),
                           "sweep_init_stds": {"sigmoid": 0.5, "relu": config.init_std}},
                "landscape": results, "sweep": sweeps}, out / "landscape.json")
    print("wrote", out / "landscape.json", out / "landscape.png")
    return 0


COMMANDS = {"landscape": (landscape_command, "MNIST MLP without and with BN: loss and gradient "
                                             "change along the gradient during training, and a "
                                             "learning-rate sweep (notebooks 07 and 08)")}
