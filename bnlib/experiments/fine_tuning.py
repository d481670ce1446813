"""Fine-tuning a trained BN network on shifted images, its statistics frozen or updating
(notebook 11).

The new task: MNIST with a grey background and half the contrast (`shift_contrast`). Compared
on its test set: the network as it is; its BN statistics re-estimated on the new images with
Algorithm 2, no gradient step; and fine-tuning at several learning rates with the statistics
frozen (bnlib.variants.FrozenBatchNorm1d: BN "in eval mode") or updating (ordinary training).
The control (`run_fine_tuning`): the same frozen network, the same learning rate, fine-tuned on
the ORIGINAL images. With the statistics frozen, learning rate 0.1 collapses on the shifted
images; `collapse_controls` measures what that collapse needs: the statistics first
re-estimated on the new images, then frozen; the contrast change and the grey background on
their own; and a frozen BN whose backward removes the batch mean of dx, as training mode's does
(an intervention to test one explanation, not a method). Beside them: how far the new images
put each unit from its frozen mean (`unit_offsets`), the gains gamma / sigma (`gains`), and how
far one SGD step moves the first layer's unit means (`first_step_mean_move`).
Command: `fine_tuning` (notebook 11's scale for three seeds, then a full-scale run).
"""
import dataclasses
import math
import time
from pathlib import Path

import numpy as np

from ..checks import as_float_array
from ..inference import clone_mlp, recompute_population_statistics
from ..layers import sigmoid
from ..model import SGD
from ..train import minibatches, train
from ..variants import FrozenBatchNorm1d, frozen_batchnorm_backward
from .common import experiment_data, seeds_of, write_json
from .eval_gap import EvalGapConfig, trained_network
from .fig1 import POPULATION_IMAGES

FINE_TUNING_STEPS = 1000   # of the full-scale run of the command (notebook 11 runs 300)
FULL_TRAINING_STEPS = 20000
CONTROL_LR = 0.1           # the learning rate at which frozen fine-tuning collapses
SHIFT = (0.5, 0.5)         # scale and offset of `shift_contrast`: x -> 0.5 x + 0.5


def shift_contrast(x, scale=0.5, offset=0.5):
    """The images `x` (N, D) with their contrast scaled and a constant added: scale * x + offset.

    With the defaults the background turns mid-grey and the strokes keep half their contrast.
    Returns a float32 array (N, D); its values stay in [0, 1] when offset and scale + offset
    both do (scale=-1, offset=1 inverts the images).
    """
    x = as_float_array(x, "x", ndim=2)
    shifted = np.multiply(x, scale, dtype=np.float32)   # (N, D), the one new array
    shifted += offset
    return shifted


def shifted_task(data, scale=0.5, offset=0.5):
    """(x_train, y_train, x_test, y_test) with both image sets passed through `shift_contrast`."""
    x_train, y_train, x_test, y_test = data
    return (shift_contrast(x_train, scale, offset), y_train,
            shift_contrast(x_test, scale, offset), y_test)


class CentredFrozenBatchNorm1d(FrozenBatchNorm1d):
    """Frozen statistics whose backward removes the batch mean of dx (an intervention).

    Forward as FrozenBatchNorm1d. Backward: dx = gamma * inv_std * (dout - mean_n dout), so
    sum_n dx_n = 0 for every unit, as in training mode's backward (notebook 03), while the
    x_hat term of training mode's backward stays out. It tests whether that missing
    centring is what breaks frozen fine-tuning; it is not a method we recommend.
    """

    @staticmethod
    def _backward(dout, cache):
        dx, dgamma, dbeta = frozen_batchnorm_backward(dout, cache)
        dx -= dx.mean(axis=0)                              # (N, D), every column sums to 0
        return dx, dgamma, dbeta

    def __repr__(self):
        return f"CentredFrozenBatchNorm1d({self.num_features}, eps={self.eps})"


def fine_tune(model, data, steps, lr, freeze, eval_every=50, rng=None, progress=False,
              layer=FrozenBatchNorm1d, desc=None):
    """Fine-tune a copy of `model` with SGD, its BN statistics frozen or updating.

    Inputs: model, a trained MLP with BN; data (x_train, y_train, x_test, y_test) of the new
    task; steps, lr; freeze: True keeps the statistics fixed (every BN replaced by
    `layer.from_layer(bn)`, FrozenBatchNorm1d by default), False trains in ordinary training
    mode (batch statistics; running averages follow the new data); eval_every, rng and
    progress as in `bnlib.train`, its bar labelled `desc` (None: the statistics and lr).
    Returns (tuned copy in evaluation mode, history of `bnlib.train` on the new task's test set).
    """
    tuned = clone_mlp(model)
    if freeze:
        tuned.bns[:] = [layer.from_layer(bn) for bn in tuned.bns]
    desc = desc or f"fine-tuning, statistics {'frozen' if freeze else 'updating'}, lr {lr:g}"
    history = train(tuned.train(), data, steps, lr, eval_every=eval_every,
                    rng=np.random.default_rng(0) if rng is None else rng, progress=progress,
                    desc=desc)
    return tuned.eval(), history


def _run_record(history):
    """The part of a `bnlib.train` history that the results keep."""
    return {"step": history["step"], "test_acc": history["test_acc"],
            "loss": [None if math.isnan(v) else v for v in history["loss"]]}


def run_fine_tuning(model, data, steps=300, lrs=(0.01, 0.1), eval_every=50, seed=0,
                    progress=False, control_lr=CONTROL_LR, shifted=None):
    """Adapt a trained network with BN to images of shifted contrast (`shift_contrast`).

    Compares, on the shifted test set: the network as it is ("before"); its statistics
    recomputed on shifted training images with Algorithm 2, no gradient step ("re-estimated",
    over the batches of the first 6,000 images); and `steps` of fine-tuning at each learning
    rate, with the statistics frozen or updating. The control: the statistics frozen, at
    `control_lr`, on the ORIGINAL images (tested on the original test set). Inputs: model, a
    trained MLP with BN in evaluation mode; data as `load_mnist` returns it; steps, lrs,
    eval_every for `fine_tune`; seed for the minibatches (the same for every run); shifted:
    `shifted_task(data)` if already made (None: made here).
    Returns a dict: "before", "re-estimated" (accuracies); "runs": {"frozen, lr 0.01": {"step",
    "test_acc", "loss" (of the minibatch before each record; None at step 0)}, ...};
    "control": the same for the control, with its "lr"; "original": every network's accuracy
    on the unshifted test set ("control" included); "steps".
    """
    x_test, y_test = data[2], data[3]
    shifted = shifted_task(data) if shifted is None else shifted
    adapted = recompute_population_statistics(clone_mlp(model), shifted[0][:POPULATION_IMAGES])
    result = {"before": float(np.mean(model.predict(shifted[2]) == y_test)),
              "re-estimated": float(np.mean(adapted.predict(shifted[2]) == y_test)),
              "original": {"before": float(np.mean(model.predict(x_test) == y_test)),
                           "re-estimated": float(np.mean(adapted.predict(x_test) == y_test))},
              "steps": steps, "runs": {}}
    for name, lr in [(name, lr) for name in ("frozen", "updating") for lr in lrs]:
        tuned, history = fine_tune(model, shifted, steps, lr, freeze=name == "frozen",
                                   eval_every=eval_every, rng=np.random.default_rng(seed),
                                   progress=progress)
        run = f"{name}, lr {lr:g}"
        result["runs"][run] = _run_record(history)
        result["original"][run] = float(np.mean(tuned.predict(x_test) == y_test))
    _, history = fine_tune(model, data, steps, control_lr, freeze=True, eval_every=eval_every,
                           rng=np.random.default_rng(seed), progress=progress,
                           desc=f"control: frozen, lr {control_lr:g}, original images")
    result["control"] = {"lr": control_lr, **_run_record(history)}
    result["original"]["control"] = history["test_acc"][-1]
    return result


def fine_tuning_table(result):
    """The accuracies of `run_fine_tuning` as a text table: shifted and original test sets."""
    rows = [("trained on the original images", "before"),
            ("statistics re-estimated, no training", "re-estimated")]
    rows += [(f"{result['steps']} steps, statistics {run}", run) for run in result["runs"]]
    lines = [f"{'network':<48}{'shifted test':>13}{'original test':>15}"]
    for label, key in rows:
        shifted = result["runs"][key]["test_acc"][-1] if key in result["runs"] else result[key]
        lines.append(f"{label:<48}{shifted:>13.4f}{result['original'][key]:>15.4f}")
    if "control" in result:
        label = f"control: frozen, lr {result['control']['lr']:g}, original images"
        lines.append(f"{label:<48}{'-':>13}{result['original']['control']:>15.4f}")
    return "\n".join(lines)


# ---- what the collapse needs ----------------------------------------------------------------

def unit_offsets(a, running_mean, running_var, eps=1e-5):
    """How far each unit's mean over the batch sits from its frozen mean, in frozen stds.

    Inputs: a (N, D), BN's input; running_mean, running_var (D,), the statistics BN uses.
    Returns (D,): |mean_n a_nd - running_mean_d| / sqrt(running_var_d + eps).
    """
    a = as_float_array(a, "a", ndim=2)
    return np.abs(a.mean(axis=0) - running_mean) / np.sqrt(running_var + eps)


def bn_inputs(model, x):
    """The input (N, D_k) of every BN layer of `model` for images `x`, in evaluation mode."""
    h, inputs = x, []
    for k, bn in enumerate(model.bns, start=1):
        a = h @ model.params[f"W{k}"]                      # (N, D_k)
        inputs.append(a)
        h = sigmoid(bn.gamma * (a - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
                    + bn.beta)
    return inputs


def layer_offsets(model, x):
    """Per BN layer, [median, max] over its units of `unit_offsets` for images `x` (M, D_in)."""
    out = []
    for a, bn in zip(bn_inputs(model, x), model.bns):
        offsets = unit_offsets(a, bn.running_mean, bn.running_var, bn.eps)    # (D_k,)
        out.append([float(np.median(offsets)), float(offsets.max())])
    return out


def gains(model):
    """Per BN layer, [median, max] over its units of the gain |gamma| / sqrt(running_var + eps):
    how much a change of BN's input is amplified in its output when the statistics are fixed."""
    out = []
    for bn in model.bns:
        gain = np.abs(bn.gamma) / np.sqrt(bn.running_var + bn.eps)           # (D_k,)
        out.append([float(np.median(gain)), float(gain.max())])
    return out


def first_step_mean_move(model, data, lr, seed=0, batch_size=60, layer=FrozenBatchNorm1d):
    """How far one SGD step with frozen statistics moves the first layer's unit means.

    A copy of `model` with every BN replaced by `layer.from_layer(bn)` takes one step at `lr` on
    the first minibatch `fine_tune` would draw with `seed`. Returns the mean over the first
    layer's units of |change of the batch mean of x_hat|, where x_hat = (x W1 - running mean) /
    sqrt(running var + eps): in frozen standard deviations.
    """
    x_train, y_train = data[0], data[1]
    idx = next(minibatches(len(x_train), batch_size, np.random.default_rng(seed)))
    x, y = x_train[idx], y_train[idx]
    net = clone_mlp(model)
    net.bns[:] = [layer.from_layer(bn) for bn in net.bns]
    net.train()
    bn = net.bns[0]
    mean_x_hat = lambda: ((x @ net.params["W1"]).mean(axis=0) - bn.running_mean) / np.sqrt(
        bn.running_var + bn.eps)                                             # (D_1,)
    before = mean_x_hat()
    net.loss(x, y)
    SGD(net.flat_params, net.flat_grads, lr).step()
    return float(np.mean(np.abs(mean_x_hat() - before)))


# name: (scale, offset of the images, statistics re-estimated on them first?, BN layer; None:
# statistics updating, ordinary training mode)
CONTROLS = {
    "frozen, original images": (1.0, 0.0, False, FrozenBatchNorm1d),
    "updating, original images": (1.0, 0.0, False, None),
    "frozen, shifted images": (*SHIFT, False, FrozenBatchNorm1d),
    "re-estimated on shifted images, then frozen": (*SHIFT, True, FrozenBatchNorm1d),
    "contrast halved only (0.5 x), re-estimated, frozen": (0.5, 0.0, True, FrozenBatchNorm1d),
    "grey background only (x + 0.5), re-estimated, frozen": (1.0, 0.5, True, FrozenBatchNorm1d),
    "frozen, backward centred, shifted images": (*SHIFT, False, CentredFrozenBatchNorm1d),
}
IN_RUN_FINE_TUNING = ("frozen, original images", "frozen, shifted images")   # run there


def collapse_controls(model, data, steps=300, lr=CONTROL_LR, eval_every=50, seed=0,
                      progress=False, shifted=None):
    """What the collapse of frozen fine-tuning at `lr` needs: controls and measurements.

    For every condition of CONTROLS (images transformed, statistics re-estimated on them with
    Algorithm 2 or kept, then frozen in the given layer, or updating): `first_step_mean_move`
    (frozen conditions only); and, except for the two `run_fine_tuning` already runs, `steps`
    of fine-tuning at `lr` on the same minibatches (seed), tested on the same transform of the
    test set. Also the gains and the per-layer offsets of the trained network on the first
    6,000 original and shifted training images, and after re-estimation on the shifted ones.
    shifted: `shifted_task(data)` if already made (None: made here).
    Returns {"gains", "gains_re_estimated", "offsets": {"original", "shifted",
    "re-estimated"}, "first_step_move": {condition: float}, "runs": {condition: {"step",
    "test_acc", "loss"}}}.
    """
    shifted = shifted_task(data) if shifted is None else shifted
    re_estimated = recompute_population_statistics(clone_mlp(model),
                                                   shifted[0][:POPULATION_IMAGES])
    result = {"gains": gains(model), "gains_re_estimated": gains(re_estimated),
              "offsets": {"original": layer_offsets(model, data[0][:POPULATION_IMAGES]),
                          "shifted": layer_offsets(model, shifted[0][:POPULATION_IMAGES]),
                          "re-estimated": layer_offsets(re_estimated,
                                                        shifted[0][:POPULATION_IMAGES])},
              "first_step_move": {}, "runs": {}}
    for name, (scale, offset, re_estimate, layer) in CONTROLS.items():
        task = data if (scale, offset) == (1.0, 0.0) else (
            shifted if (scale, offset) == SHIFT else shifted_task(data, scale, offset))
        start = (recompute_population_statistics(clone_mlp(model), task[0][:POPULATION_IMAGES])
                 if re_estimate else model)
        if layer is not None:
            result["first_step_move"][name] = first_step_mean_move(start, task, lr, seed,
                                                                   layer=layer)
        if name not in IN_RUN_FINE_TUNING:
            _, history = fine_tune(start, task, steps, lr, freeze=layer is not None,
                                   eval_every=eval_every, rng=np.random.default_rng(seed),
                                   progress=progress, layer=layer or FrozenBatchNorm1d)
            result["runs"][name] = _run_record(history)
    return result


ROW_ORDER = ("frozen, shifted images", "frozen, original images", "updating, original images",
             "updating, shifted images", *CONTROLS)


def controls_rows(fine_tuning, controls):
    """{condition: (accuracy after the last step, first-step mean move or None)} for one seed,
    from `run_fine_tuning` (frozen and updating at the controls' lr, and the control) and
    `collapse_controls`, in ROW_ORDER. The shifted runs are tested on shifted images, the
    others on theirs; the updating runs have no first-step move (None)."""
    runs, lr = fine_tuning["runs"], fine_tuning["control"]["lr"]
    accuracy = {name: run["test_acc"][-1] for name, run in controls["runs"].items()}
    accuracy["frozen, shifted images"] = runs[f"frozen, lr {lr:g}"]["test_acc"][-1]
    accuracy["frozen, original images"] = fine_tuning["control"]["test_acc"][-1]
    accuracy["updating, shifted images"] = runs[f"updating, lr {lr:g}"]["test_acc"][-1]
    return {name: (accuracy[name], controls["first_step_move"].get(name))
            for name in dict.fromkeys(ROW_ORDER) if name in accuracy}


def controls_by_seed(result):
    """The arguments of `plot_collapse_controls` from the command's result: (rows, seeds,
    steps, lr), with `controls_rows` of every seed of the notebook's scale."""
    per_seed = result["notebook_scale"]
    first = per_seed[0]["fine_tuning"]
    return ([controls_rows(r["fine_tuning"], r["controls"]) for r in per_seed],
            [r["seed"] for r in per_seed], first["steps"], first["control"]["lr"])


def controls_table(per_seed):
    """The notebook-scale results of the command as a text table: for each condition, the test
    accuracy after fine-tuning and the first-step mean move, one number per seed (a/b/c).

    per_seed: a list of {"seed", "fine_tuning", "controls"} as `fine_tuning_command` saves them.
    """
    rows = [controls_rows(r["fine_tuning"], r["controls"]) for r in per_seed]
    seeds = "/".join(str(r["seed"]) for r in per_seed)
    steps, lr = per_seed[0]["fine_tuning"]["steps"], per_seed[0]["fine_tuning"]["control"]["lr"]
    lines = [f"{steps} steps at lr {lr:g}, seeds {seeds}: test accuracy after the last step, and "
             "how far the first step moves the layer-1 means (frozen stds)",
             f"{'condition':<54}{'accuracy':>18}{'first-step move':>22}"]
    for name in rows[0]:
        accuracy = "/".join(f"{row[name][0]:.2f}" for row in rows)
        move = ("/".join(f"{row[name][1]:.2f}" for row in rows) if rows[0][name][1] is not None
                else "-")
        lines.append(f"{name:<54}{accuracy:>18}{move:>22}")
    return "\n".join(lines)


def measurements_table(per_seed):
    """Gains and offsets of every BN layer (median/max over its units), one line per seed and
    layer, from the command's notebook-scale results (`collapse_controls`)."""
    columns = ("gain", "gain, re-estimated", "offset, original", "offset, shifted",
               "offset, re-estimated")
    lines = ["median/max over the units of a layer. gain = |gamma| / sigma_frozen; offset = "
             "|mean - frozen mean| / sigma_frozen,",
             "on the first 6,000 training images (original or shifted); re-estimated: "
             "statistics recomputed on the shifted images",
             f"{'seed':<6}{'layer':<7}" + "".join(f"{c:>22}" for c in columns)]
    for r in per_seed:
        c = r["controls"]
        values = (c["gains"], c["gains_re_estimated"], c["offsets"]["original"],
                  c["offsets"]["shifted"], c["offsets"]["re-estimated"])
        for k in range(len(c["gains"])):
            lines.append(f"{r['seed']:<6}{k + 1:<7}" + "".join(
                f"{f'{v[k][0]:.2f}/{v[k][1]:.2f}':>22}" for v in values))
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class FineTuningConfig:
    """Settings of the command `fine_tuning`.

    seeds: the networks of the notebook's scale (each trained with EvalGapConfig(seed=s),
    `train_steps` steps, then fine-tuned `steps` steps, recorded every `eval_every`); the
    full-scale run trains `full_train_steps` with the first seed and fine-tunes `full_steps`.
    """

    seeds: tuple = (0, 1, 2)
    train_steps: int = EvalGapConfig.steps
    steps: int = 300
    lrs: tuple = (0.01, 0.1)
    control_lr: float = CONTROL_LR
    eval_every: int = 50
    full_train_steps: int = FULL_TRAINING_STEPS
    full_steps: int = FINE_TUNING_STEPS
    shift: tuple = SHIFT


def run_fine_tuning_experiment(config, data, progress=None):
    """Everything the command measures: the notebook's scale for every seed, then full scale.

    Returns {"config", "notebook_scale": [{"seed", "fine_tuning", "controls"}, ...],
    "full_scale": run_fine_tuning's result, "seconds"}.
    """
    start, result = time.perf_counter(), {"config": dataclasses.asdict(config),
                                          "notebook_scale": []}
    for seed in config.seeds:
        model = trained_network(EvalGapConfig(steps=config.train_steps, seed=seed), data,
                                progress=progress)
        common = dict(steps=config.steps, eval_every=config.eval_every, seed=seed)
        shifted = shifted_task(data, *config.shift)
        result["notebook_scale"].append({
            "seed": seed,
            "fine_tuning": run_fine_tuning(model, data, lrs=config.lrs, shifted=shifted,
                                           control_lr=config.control_lr, **common),
            "controls": collapse_controls(model, data, lr=config.control_lr, shifted=shifted,
                                          **common)})
    model = trained_network(EvalGapConfig(steps=config.full_train_steps, seed=config.seeds[0]),
                            data, progress=progress)
    result["full_scale"] = run_fine_tuning(model, data, steps=config.full_steps, lrs=config.lrs,
                                           eval_every=max(1, config.full_steps // 10),
                                           seed=config.seeds[0], progress=progress,
                                           control_lr=config.control_lr)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def fine_tuning_command(args):
    """Command-line entry (python -m bnlib.reproduce fine_tuning): notebook 11's fine-tuning
    and its controls for seeds args.seed, +1, +2 (networks of 2,000 steps, 300 steps of
    fine-tuning), then the full scale: a network of `args.steps` steps (default 20,000)
    fine-tuned for 1,000. With a small --steps everything shrinks to it. Writes
    fine_tuning.json, fine_tuning.png and fine_tuning_controls.png into `args.out`, prints the
    tables and returns 0."""
    from ..figures import common, train_eval       # matplotlib is only needed here
    full = args.steps or FULL_TRAINING_STEPS
    config = FineTuningConfig(seeds=seeds_of(args),
                              train_steps=min(EvalGapConfig.steps, full),
                              steps=min(300, full), full_train_steps=full,
                              full_steps=min(FINE_TUNING_STEPS, full))
    result = run_fine_tuning_experiment(config, experiment_data(args))
    out = Path(args.out)
    write_json(result, out / "fine_tuning.json")
    common.save_figure(train_eval.plot_fine_tuning(result["full_scale"])[0],
                       out / "fine_tuning.png")
    common.save_figure(train_eval.plot_collapse_controls(*controls_by_seed(result))[0],
                       out / "fine_tuning_controls.png")
    print(controls_table(result["notebook_scale"]), "",
          measurements_table(result["notebook_scale"]), "",
          f"full scale: {config.full_train_steps} training steps, seed {config.seeds[0]}",
          fine_tuning_table(result["full_scale"]), sep="\n")
    print(f"time: {result['seconds']:.1f} s; wrote fine_tuning.json, fine_tuning.png and "
          f"fine_tuning_controls.png into {out}")
    return 0


COMMANDS = {"fine_tuning": (fine_tuning_command, "fine-tuning on shifted images with frozen or "
                                                 "updating BN statistics, the control on the "
                                                 "original images and what the collapse at lr "
                                                 "0.1 needs, seeds 0-2; then at full scale "
                                                 "(notebook 11)")}
