"""Batch size against batch norm and its alternatives, measured on the MNIST MLP.

Batch norm (Ioffe & Szegedy 2015) normalises each feature with the statistics of the batch, so
its output for one sample depends on the other samples of the batch, and it needs a batch of
at least 2. Layer norm (Ba, Kiros & Hinton 2016) and group norm (Wu & He 2018) take their
statistics inside one sample, so the batch size does not enter them. `batch_size_sweep` trains
the 784-100-100-100-10 sigmoid MLP of notebook 06 with each normalisation after every hidden
affine layer (or none) at every batch size, under one protocol (`BatchSizeConfig`):

- every run sees the same number of training examples, so a batch of 2 takes 32 times as
  many steps as a batch of 64;
- the learning rate grows linearly with the batch size, lr = r * batch_size / 60 (the linear
  scaling rule of Goyal et al. 2017, which Wu & He 2018 use for their batch-size study), so
  that lr * steps, how far SGD can move, is the same for every run of a normalisation;
- each normalisation (and the network without one) has its own initial weight scale and
  reference rate r, chosen on a validation split by `select_settings`: train at the reference
  batch of 60 with the same number of examples on the first 50,000 training images, score on
  the last 10,000 (the test set is never used to choose); without a choice, notebook 06's
  init std 0.05 and r = 0.1 (on which the network without normalisation sits on its plateau);
- plain SGD, the same initial weights (up to their scale) and the same order of training
  examples for every run of a seed; batch norm is evaluated with its running averages
  (momentum 0.1, as PyTorch).

Notebook 09 runs a small budget; the command `batchsize` the full one (choice, then sweep).
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..groupnorm import GroupNorm1d
from ..inference import batch_mode_predictions, bn_statistics, load_bn_statistics, shuffled_batches
from ..layernorm import LayerNorm1d
from ..model import MLP, SGD
from ..train import TrainingDiverged, minibatches, progress_bar, train_step
from .common import experiment_data, seeds_of, write_json
from .fig1 import Fig1Config


NORMS = {"none": "no norm", "batch": "batch norm", "layer": "layer norm", "group": "group norm"}


BATCH_SIZES = (2, 4, 8, 16, 32, 64, 256)


# Wu & He 2018 (ECCV; Fig. 1): ResNet-50 top-1 error (%) on ImageNet validation, against the
# number of images per GPU (BN's batch). Group norm stays at about 24.1 % at every size (drawn
# at 24.1). Ours is MNIST test error, a far smaller task.
PAPER_WU_HE = {"batch": {32: 23.6, 16: 23.7, 8: 24.8, 4: 27.3, 2: 34.7},
               "group": {32: 24.1, 16: 24.1, 8: 24.1, 4: 24.1, 2: 24.1}}


# The grid `select_settings` chooses each normalisation's setting from (notebook 06's 0.05 and
# 0.1 included).
INIT_STDS = (0.05, 0.1, 0.3, 0.5)
REFERENCE_LRS = (0.1, 0.3, 1.0, 3.0, 10.0)


@dataclasses.dataclass(frozen=True)
class BatchSizeConfig:
    """Settings of the batch-size experiment (see the module's docstring for the protocol).

    examples: training examples every run sees; steps = examples // batch_size. The default,
    120,000 (two epochs), is 2,000 steps at the paper's batch of 60.
    reference_lr, reference_batch: lr = reference_lr * batch_size / reference_batch; the
    default reference_lr is notebook 06's 0.1 at batch 60 (Fig1Config).
    init_std: std of the initial weights (default: notebook 06's 0.05).
    settings: {norm: {"init_std": ..., "reference_lr": ...}}, a normalisation's own setting
    (chosen by `select_settings`), replacing the two defaults above for that norm.
    num_groups: groups of group norm (100 features -> groups of 20; our choice, not tuned).
    sizes: the network of notebook 06. seeds: one run per seed, norm and batch size.
    train_mode_images: how many test images measure batch norm in training mode.
    """

    batch_sizes: tuple = BATCH_SIZES
    norms: tuple = tuple(NORMS)
    examples: int = 120_000
    reference_lr: float = Fig1Config.lr
    reference_batch: int = Fig1Config.batch_size
    num_groups: int = 5
    sizes: tuple = Fig1Config.sizes
    init_std: float = Fig1Config.init_std
    bn_momentum: float = 0.1
    seeds: tuple = (0, 1, 2)
    train_mode_images: int = 10_000
    settings: dict = dataclasses.field(default_factory=dict)


def setting(config, norm):
    """(init_std, reference_lr) of normalisation `norm` under `config`."""
    own = config.settings.get(norm, {})
    return own.get("init_std", config.init_std), own.get("reference_lr", config.reference_lr)


def learning_rate(config, batch_size, norm=None):
    """The learning rate of a run of `norm` with `batch_size`, scaled linearly from its
    reference rate (norm None: the config's default reference rate)."""
    reference_lr = config.reference_lr if norm is None else setting(config, norm)[1]
    return reference_lr * batch_size / config.reference_batch


def make_model(norm, config, rng, dtype=np.float32):
    """The MLP of `config` with normalisation `norm` ("none", "batch", "layer" or "group")
    after each hidden affine layer, initial weights N(0, init_std^2) with the norm's init_std;
    rng: np.random.Generator for the initial weights."""
    layers = {"batch": None,                          # the MLP's own BatchNorm1d
              "layer": lambda d: LayerNorm1d(d, dtype=dtype),
              "group": lambda d: GroupNorm1d(d, config.num_groups, dtype=dtype)}
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {tuple(NORMS)}, got {norm!r}")
    return MLP(config.sizes, use_bn=norm != "none", init_std=setting(config, norm)[0], rng=rng,
               dtype=dtype, bn_momentum=config.bn_momentum, norm_layer=layers.get(norm))


def fit(model, data, steps, lr, batch_size, rng):
    """Train `model` in place: `steps` steps of plain SGD on minibatches of `batch_size`.

    Inputs: data as `load_mnist` returns it (only the training half is used); rng: a
    np.random.Generator for the order of the examples (one permutation per epoch, as `train`).
    Raises TrainingDiverged, naming the step, if the loss or a batch statistic stops being finite.
    """
    x_train, y_train = data[0], data[1]
    optimizer = SGD(model.flat_params, model.flat_grads, lr)
    batches = minibatches(len(x_train), batch_size, rng)
    for step in range(1, steps + 1):
        idx = next(batches)                                       # (batch_size,)
        train_step(model, optimizer, x_train[idx], y_train[idx], step)
    return model


def training_mode_accuracy(model, x, y, batch_size, rng):
    """Accuracy (float) of a network with batch norm run in *training* mode, each image
    normalised with the statistics of a shuffled test batch of about `batch_size` rows of
    x (N, D_in); y (N,) labels. The model's running statistics and mode are left as they were."""
    batches = shuffled_batches(len(x), batch_size, rng)
    return float(np.mean(batch_mode_predictions(model, x, batches) == y))


def train_at_batch_size(norm, batch_size, config, data, seed=0):
    """Train one network of the sweep and measure it on the test set.

    Inputs: norm (a key of NORMS); batch_size; config, a BatchSizeConfig; data as `load_mnist`
    returns it; seed for the initial weights and the order of the training examples (the same
    for every norm and batch size).
    Returns (run, model). run: dict(norm, batch_size, seed, steps, lr, test_acc, the accuracy
    in evaluation mode; train_mode_acc, for batch norm the accuracy in training mode on test
    batches of `batch_size` (first `config.train_mode_images` test images), None for the
    others, whose two modes are one function; seconds of training). model: the trained MLP.
    """
    init_seed, order_seed, test_seed = np.random.SeedSequence(seed).spawn(3)
    model = make_model(norm, config, np.random.default_rng(init_seed))
    steps, lr = config.examples // batch_size, learning_rate(config, batch_size, norm)
    start = time.perf_counter()
    fit(model, data, steps, lr, batch_size, np.random.default_rng(order_seed))
    seconds = time.perf_counter() - start
    x_test, y_test = data[2], data[3]
    test_acc = float(np.mean(model.predict(x_test) == y_test))
    train_mode = None
    if norm == "batch":
        n = config.train_mode_images
        train_mode = training_mode_accuracy(model, x_test[:n], y_test[:n], batch_size,
                                            np.random.default_rng(test_seed))
    run = dict(norm=norm, batch_size=batch_size, seed=seed, steps=steps, lr=lr,
               test_acc=test_acc, train_mode_acc=train_mode, seconds=round(seconds, 3))
    return run, model


def batch_size_sweep(config=BatchSizeConfig(), data=None, progress=None, on_run=None):
    """`train_at_batch_size` for every seed, batch size and norm of `config`.

    Inputs: config; data as `load_mnist` returns it (None: load it); progress: show a bar
    (None: when a person is watching); on_run: optional function called with (run, model)
    after each run, e.g. to keep a trained network.
    Returns {"config": the settings, "runs": list of run dicts, "seconds": wall time}. A run
    whose loss stopped being finite is kept with test_acc None and the error as "diverged".
    """
    data = experiment_data() if data is None else data
    start, runs = time.perf_counter(), []
    jobs = [(seed, b, norm) for seed in config.seeds for b in config.batch_sizes
            for norm in config.norms]
    with progress_bar(len(jobs), "batch sizes", progress) as bar:
        for seed, batch_size, norm in jobs:
            try:
                run, model = train_at_batch_size(norm, batch_size, config, data, seed)
            except TrainingDiverged as diverged:          # recorded, not fatal
                run, model = dict(norm=norm, batch_size=batch_size, seed=seed,
                                  steps=config.examples // batch_size,
                                  lr=learning_rate(config, batch_size, norm), test_acc=None,
                                  train_mode_acc=None, diverged_at=diverged.step), None
            runs.append(run)
            if on_run is not None and model is not None:
                on_run(run, model)
            bar.update()
    return {"config": dataclasses.asdict(config), "runs": runs,
            "seconds": round(time.perf_counter() - start, 3)}


def mean_accuracy(result, norm, key="test_acc"):
    """{batch size: mean over the seeds of `key`} for the runs of `norm` in a sweep's result."""
    values = {}
    for run in result["runs"]:
        if run["norm"] == norm and run[key] is not None:
            values.setdefault(run["batch_size"], []).append(run[key])
    return {b: float(np.mean(v)) for b, v in sorted(values.items())}


def settings_line(config):
    """One line naming each normalisation's initial std and reference rate r (config: a
    BatchSizeConfig or the "config" dict of a saved result)."""
    config = config if isinstance(config, dict) else dataclasses.asdict(config)
    parts = []
    for norm in config["norms"]:
        own = config.get("settings", {}).get(norm, {})
        parts.append(f"{NORMS[norm]} {own.get('init_std', config['init_std']):g} and "
                     f"{own.get('reference_lr', config['reference_lr']):g}")
    return (f"init std and r (lr = r * batch / {config['reference_batch']}): "
            + "; ".join(parts))


def batch_size_table(result):
    """Text table of a sweep: test accuracy per batch size (rows) and norm (columns), mean
    over the seeds; for batch norm also in training mode (test batches of the same size)."""
    norms = result["config"]["norms"]
    columns = [(norm, "test_acc", NORMS[norm]) for norm in norms]
    if "batch" in norms:
        columns.insert(norms.index("batch") + 1, ("batch", "train_mode_acc", "BN train mode"))
    means = [mean_accuracy(result, norm, key) for norm, key, _ in columns]
    steps = {}                                    # batch size -> steps of its runs
    for run in result["runs"]:
        steps.setdefault(run["batch_size"], run["steps"])
    lines = [f"{'batch':>5} {'steps':>7}" + "".join(f"{t:>15}" for *_, t in columns)]
    for b, n_steps in sorted(steps.items()):
        lines.append(f"{b:>5} {n_steps:>7}"
                     + "".join(f"{m[b]:>15.4f}" if b in m else f"{'div.':>15}" for m in means))
    lines.append(f"test accuracy, mean over {len(result['config']['seeds'])} seed(s); "
                 f"{result['config']['examples']:,} training examples per run")
    lines.append(settings_line(result["config"]))
    return "\n".join(lines)


def wu_he_table(result):
    """Text table: Wu & He's ResNet-50 ImageNet error (%) at 32, 16, 8, 4 and 2 images per GPU
    beside our MNIST test error (%) of each normalisation at the same batch sizes (those the
    sweep has; the network without normalisation last, absent from their figure)."""
    sizes = [b for b in sorted(PAPER_WU_HE["batch"], reverse=True)
             if b in result["config"]["batch_sizes"]]
    lines = [f"{'test error (%)':<34}" + "".join(f"{'batch ' + str(b):>9}" for b in sizes)]
    for norm, errors in PAPER_WU_HE.items():
        lines.append(f"{'Wu & He 2018, ImageNet, ' + NORMS[norm]:<34}"
                     + "".join(f"{errors[b]:>9.1f}" for b in sizes))
    norms = result["config"]["norms"]
    for norm in [n for n in norms if n != "none"] + [n for n in norms if n == "none"]:
        acc = mean_accuracy(result, norm)
        lines.append(f"{'ours, MNIST MLP, ' + NORMS[norm]:<34}" + "".join(
            f"{100 * (1 - acc[b]):>9.1f}" if b in acc else f"{'div.':>9}" for b in sizes))
    return "\n".join(lines)


def gradient_norms(model, x, y, batch_size, num_batches, rng):
    """Mean over `num_batches` random batches of the norm of every parameter's gradient.

    Inputs: model, an MLP in training mode (its parameters are not changed; BN's running
    statistics are); x (N, D_in), y (N,) the examples to draw batches of `batch_size` from,
    without replacement within a batch; rng, a np.random.Generator.
    Returns {parameter name: mean of |gradient| (Frobenius norm)}.
    """
    totals = {name: 0.0 for name in model.params}
    for _ in range(num_batches):
        idx = rng.choice(len(x), batch_size, replace=False)       # (batch_size,)
        model.loss(x[idx], y[idx])
        for name, grad in model.grads.items():
            totals[name] += float(np.linalg.norm(grad)) / num_batches
    return totals


def normalized_in_both_modes(model, x, batch_size, layer=0, rng=None):
    """x_hat of one BN layer of a trained MLP, in training mode and in evaluation mode.

    Inputs: model, an MLP with batch norm; x (N, D_in) inputs; batch_size of the shuffled
    training-mode batches (N divisible by it); layer: which hidden layer (0 = the first);
    rng for the shuffling (None: in order).
    Returns (x_hat_train (N, D), x_hat_eval (N, D)), each (z - beta) / gamma for the layer's
    output z: what BN's normalisation step produced. Statistics and mode are left unchanged.
    """
    if len(x) % batch_size:
        raise ValueError(f"x has {len(x)} rows, not a whole number of batches of {batch_size}")
    bn, saved, was_training = model.bns[layer], bn_statistics(model), model.training
    order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
    x_hat_train = np.empty((len(x), bn.num_features))             # (N, D)
    try:
        model.train()
        for idx in order.reshape(-1, batch_size):                 # (batch_size,) each
            model.forward(x[idx])
            x_hat_train[idx] = (model.pre_activations[layer] - bn.beta) / bn.gamma
    finally:
        load_bn_statistics(model, saved)      # training-mode passes moved the running averages
    model.eval().forward(x)
    x_hat_eval = (model.pre_activations[layer] - bn.beta) / bn.gamma   # (N, D)
    model.train() if was_training else model.eval()
    return x_hat_train, x_hat_eval


def validation_accuracy(norm, config, split, seed=0):
    """Accuracy on the validation images of one network trained at the reference batch with the
    sweep's number of examples, or None if it diverged.

    Inputs: norm; config (its setting for `norm` is the one tried); split (x_train, y_train,
    x_val, y_val); seed for the initial weights and the order of the examples.
    """
    init_seed, order_seed = np.random.SeedSequence(seed).spawn(2)
    model = make_model(norm, config, np.random.default_rng(init_seed))
    batch = config.reference_batch
    try:
        fit(model, split, config.examples // batch, learning_rate(config, batch, norm), batch,
            np.random.default_rng(order_seed))
    except TrainingDiverged:
        return None
    return float(np.mean(model.predict(split[2]) == split[3]))


def select_settings(config, data, validation=10_000, seed=0, init_stds=INIT_STDS,
                    reference_lrs=REFERENCE_LRS, progress=None):
    """Each normalisation's initial std and reference rate, chosen on a validation split.

    For every norm of `config` and every (init_std, reference_lr) of the grid, train at the
    reference batch (`validation_accuracy`) on all training images but the last `validation`,
    and score on those last ones; the test set is not used. Ties go to the first in the grid.
    Returns {"validation": n, "seed": seed, "grid": {norm: [[init_std, reference_lr, accuracy
    or None], ...]}, "chosen": {norm: {"init_std": ..., "reference_lr": ...}}}: the "chosen"
    part is what BatchSizeConfig(settings=...) takes.
    """
    x, y = data[0], data[1]
    split = (x[:-validation], y[:-validation], x[-validation:], y[-validation:])
    grid, chosen = {}, {}
    jobs = [(norm, i, r) for norm in config.norms for i in init_stds for r in reference_lrs]
    with progress_bar(len(jobs), "settings", progress) as bar:
        for norm, init_std, reference_lr in jobs:
            trial = dataclasses.replace(config, settings={
                norm: {"init_std": init_std, "reference_lr": reference_lr}})
            accuracy = validation_accuracy(norm, trial, split, seed)
            grid.setdefault(norm, []).append([init_std, reference_lr, accuracy])
            bar.update()
    for norm, rows in grid.items():
        trained = [row for row in rows if row[2] is not None]
        if not trained:
            raise TrainingDiverged(config.examples // config.reference_batch,
                                   f"every setting of {NORMS[norm]} diverged")
        init_std, reference_lr, _ = max(trained, key=lambda row: row[2])
        chosen[norm] = {"init_std": init_std, "reference_lr": reference_lr}
    return {"validation": validation, "seed": seed, "grid": grid, "chosen": chosen}


def selection_table(selection):
    """Text table of `select_settings`: validation accuracy per initial std (rows) and
    reference rate (columns), one block per normalisation, its choice marked with *."""
    lines = []
    for norm, rows in selection["grid"].items():
        rates = list(dict.fromkeys(r for _, r, _ in rows))
        chosen = selection["chosen"][norm]
        lines.append(f"{NORMS[norm]}: validation accuracy (rows: init std; columns: r)")
        lines.append(f"{'':>8}" + "".join(f"{r:>9g}" for r in rates))
        for init_std in dict.fromkeys(i for i, _, _ in rows):
            cells = []
            for i, r, acc in rows:
                if i == init_std:
                    mark = "*" if (i, r) == (chosen["init_std"], chosen["reference_lr"]) else " "
                    cells.append(f"{'div.':>8}{mark}" if acc is None else f"{acc:>8.4f}{mark}")
            lines.append(f"{init_std:>8g}" + "".join(cells))
    lines.append(f"(trained on all but the last {selection['validation']:,} training images, "
                 f"scored on those; seed {selection['seed']}; * chosen)")
    return "\n".join(lines)


def save_batch_size(result, out):
    """Write batch_size.json and batch_size.png into the folder `out`; return their paths."""
    from ..figures import batch_size, common       # matplotlib is only needed here
    fig, _ = batch_size.plot_batch_size(result, paper=PAPER_WU_HE)
    return (write_json(result, Path(out) / "batch_size.json"),
            common.save_figure(fig, Path(out) / "batch_size.png"))


def batch_size_command(args):
    """Command-line entry (python -m bnlib.reproduce): choose each normalisation's setting on a
    validation split, then run the full sweep; writes batch_size.json (with the choice under
    "selection") and batch_size.png into `args.out`, prints the tables and returns 0.

    args: an argparse.Namespace with steps (the budget in steps of the paper's batch of 60:
    every run sees 60 * steps examples; None: 2,000, i.e. 120,000 examples), seed (the first
    of three seeds; the choice uses it too), subset (see experiment_data; the validation
    split is then a sixth of it) and out (the output folder).
    """
    examples = 60 * (args.steps or BatchSizeConfig.examples // 60)
    data = experiment_data(args)
    config = BatchSizeConfig(examples=examples, seeds=seeds_of(args))
    start = time.perf_counter()
    selection = select_settings(config, data, validation=min(10_000, len(data[0]) // 6),
                                seed=args.seed)
    print(selection_table(selection), flush=True)
    config = dataclasses.replace(config, settings=selection["chosen"])
    result = batch_size_sweep(config, data)
    result["selection"] = selection
    result["seconds"] = round(time.perf_counter() - start, 3)
    paths = save_batch_size(result, args.out)
    print("", batch_size_table(result), "", wu_he_table(result), sep="\n")
    print(f"time: {result['seconds']:.0f} s; wrote", *paths)
    return 0


COMMANDS = {"batchsize": (batch_size_command, "MNIST MLP with batch, layer, group or no norm at "
                                              "batch sizes 2 to 256, each with its own setting "
                                              "chosen on a validation split, same examples "
                                              "seen, linearly scaled learning rate (notebook 09)")}
