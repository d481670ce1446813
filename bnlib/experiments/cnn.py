"""A small convolutional network on MNIST, trained with and without batch norm (notebook 12).

The network is bnlib.ConvNet (bnlib/conv.py):
    conv 3x3, stride 2, 1 -> 8 channels   (28 x 28 -> 14 x 14) -> spatial BN | bias -> ReLU
    conv 3x3, stride 2, 8 -> 16 channels  (14 x 14 ->  7 x  7) -> spatial BN | bias -> ReLU
    linear 16 * 7 * 7 = 784 -> 10, softmax cross-entropy.
A stride of 2 halves the maps at each convolution, as a 2x2 pooling would, at a quarter of the
multiplications (the filters are evaluated at one position in four) and with no pooling layer
to write: a training step costs a few milliseconds in numpy.

Protocol (`CNNConfig`, `run_cnn`), the same for both networks:
1. Each network's learning rate is chosen on a validation split: train on the first 50,000
   training images for `steps` steps, score on the last 10,000; the test set is not used. The
   rates of `learning_rates` are tried with seed `selection_seed`; a run whose loss stops
   being finite counts as failed, a run that ends below 50 % as not trained.
2. Then, on all 60,000 training images, both networks are trained at each of these rates, for
   every seed, with the test accuracy on the 10,000 test images every `eval_every` steps:
   the rate chosen for each network, the smallest rate of the grid, and the largest rate at
   which either network trained in step 1. So the comparison is at each network's own rate
   and at the same rates, including both ends of the range where either one trains.
Plain SGD on batches of 60, He-normal initial filters (the same for both networks of a seed),
BN evaluated with its running averages (momentum 0.1).

Notebook 12 runs a small budget of `train_cnn`; the command `cnn` the full protocol.
"""
import dataclasses
import time
from pathlib import Path

import numpy as np

from ..conv import ConvNet
from ..model import SGD
from ..train import TrainingDiverged, minibatches, progress_bar, train_step
from .common import experiment_data, seeds_of, write_json

NETWORKS = {"plain": "without BN", "bn": "with BN"}


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Settings of the CNN experiment (see the module's docstring for the protocol).

    channels, kernel, stride: the ConvNet; batch_size, steps: plain SGD's minibatches and
    budget; learning_rates: the grid each network's rate is chosen from; eval_every: steps
    between test-accuracy records; validation: training images held out for the choice;
    selection_seed: the seed of the choice; seeds: the final runs; bn_momentum: BN's running
    averages.
    """

    channels: tuple = (1, 8, 16)
    kernel: int = 3
    stride: int = 2
    batch_size: int = 60
    steps: int = 3000
    learning_rates: tuple = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    eval_every: int = 250
    validation: int = 10_000
    selection_seed: int = 0
    seeds: tuple = (0, 1, 2)
    bn_momentum: float = 0.1


def make_cnn(network, config=CNNConfig(), rng=None, dtype=np.float32):
    """The ConvNet of `config`, "plain" (a bias after each convolution) or "bn" (spatial BN)."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {tuple(NETWORKS)}, got {network!r}")
    return ConvNet(network == "bn", config.channels, kernel=config.kernel,
                   stride=config.stride, rng=rng, dtype=dtype, bn_momentum=config.bn_momentum)


def accuracy(model, x, y):
    """Share of the images x (N, 784) whose predicted class (evaluation mode) is y (N,)."""
    return float(np.mean(model.predict(x) == y))


def train_cnn(network, lr, data, config=CNNConfig(), seed=0, steps=None, eval_every=None,
              progress=None, desc=None):
    """Train one ConvNet with plain SGD and record its test accuracy along the way.

    Inputs: network ("plain" or "bn"); lr; data (x_train, y_train, x_test, y_test) as
    `load_mnist` returns it (x_test may be a validation split); config; seed for the initial
    weights and the order of the examples (the same for both networks); steps and eval_every
    (None: the config's); progress: show a bar (None: when a person is watching), labelled
    `desc` (None: the network and its learning rate).
    Returns (history, model): history {"step": [...], "test_acc": [...], "loss": [...]}
    recorded at step 0, every eval_every steps and at the end ("loss": the minibatch loss of
    that step, NaN at step 0). Raises TrainingDiverged if the loss stops being finite.
    """
    x_train, y_train, x_test, y_test = data
    steps = config.steps if steps is None else steps
    eval_every = config.eval_every if eval_every is None else eval_every
    init_seed, order_seed = np.random.SeedSequence(seed).spawn(2)
    model = make_cnn(network, config, np.random.default_rng(init_seed))
    optimizer = SGD(model.params, model.grads, lr)
    batches = minibatches(len(x_train), config.batch_size, np.random.default_rng(order_seed))
    history = {"step": [0], "test_acc": [accuracy(model, x_test, y_test)], "loss": [np.nan]}
    with progress_bar(steps, desc or f"CNN {NETWORKS[network]}, lr {lr:g}", progress) as bar:
        for step in range(1, steps + 1):
            idx = next(batches)                                        # (batch_size,)
            loss = train_step(model, optimizer, x_train[idx], y_train[idx], step)
            if step % eval_every == 0 or step == steps:
                history["step"].append(step)
                history["test_acc"].append(accuracy(model, x_test, y_test))
                history["loss"].append(loss)
            bar.update()
    return history, model


def validation_split(data, size):
    """(first N - size training images and labels, last `size` of them) as a data tuple."""
    x, y = data[0], data[1]
    if not 0 < size < len(x):
        raise ValueError(f"validation size must lie between 0 and {len(x)}, got {size}")
    return x[:-size], y[:-size], x[-size:], y[-size:]


def final_accuracy_or_none(network, lr, data, config, seed, progress=False):
    """Test (or validation) accuracy at the end of `train_cnn`, or None if it diverged."""
    try:
        history, _ = train_cnn(network, lr, data, config, seed, eval_every=config.steps,
                               progress=progress)
    except TrainingDiverged:
        return None
    return history["test_acc"][-1]


def select_learning_rates(data, config=CNNConfig(), progress=None):
    """Step 1 of the protocol: each network's learning rate, chosen on the validation split.

    Returns {"validation_acc": {network: {lr (str): accuracy or None}}, "chosen": {network: lr}}.
    """
    split = validation_split(data, config.validation)
    grid = {network: {} for network in NETWORKS}
    with progress_bar(len(NETWORKS) * len(config.learning_rates), "CNN learning rates",
                      progress) as bar:
        for network in NETWORKS:
            for lr in config.learning_rates:
                grid[network][str(lr)] = final_accuracy_or_none(network, lr, split, config,
                                                                config.selection_seed)
                bar.update()
    chosen = {}
    for network, accs in grid.items():
        trained = {lr: a for lr, a in accs.items() if a is not None}
        if not trained:
            raise TrainingDiverged(config.steps, f"the {network} network diverged at every rate")
        chosen[network] = float(max(trained, key=trained.get))
    return {"validation_acc": grid, "chosen": chosen}


TRAINED = 0.5      # a validation accuracy above this (chance: 0.1) counts as trained


def planned_rates(selection):
    """Step 2's learning rates, in increasing order: the rate chosen for each network, the
    smallest of the grid, and the largest at which either network trained (validation
    accuracy above TRAINED)."""
    grid = selection["validation_acc"]
    rates = {float(lr) for lr in grid["plain"]}
    trained = {float(lr) for network in grid for lr, acc in grid[network].items()
               if acc is not None and acc > TRAINED}
    chosen = set(selection["chosen"].values())
    return sorted(chosen | {min(rates)} | ({max(trained)} if trained else set()))


def run_cnn(config=CNNConfig(), data=None, progress=None):
    """The whole protocol: choose the rates, then train both networks at every planned rate
    for every seed.

    Returns {"config", "selection" (see select_learning_rates), "rates" (planned_rates),
    "runs": [dict(network, lr, seed, step, test_acc, loss), or for a run that diverged
    dict(network, lr, seed, diverged_at)], "seconds"}.
    """
    data = experiment_data() if data is None else data
    start = time.perf_counter()
    selection = select_learning_rates(data, config, progress)
    rates, runs = planned_rates(selection), []
    jobs = [(seed, lr, network) for seed in config.seeds for lr in rates for network in NETWORKS]
    with progress_bar(len(jobs), "CNN runs", progress) as bar:
        for seed, lr, network in jobs:
            run = dict(network=network, lr=lr, seed=seed)
            try:
                history, _ = train_cnn(network, lr, data, config, seed, progress=False)
                runs.append({**run, **history})
            except TrainingDiverged as diverged:               # recorded, not fatal
                runs.append({**run, "diverged_at": diverged.step})
            bar.update()
    return {"config": dataclasses.asdict(config), "selection": selection, "rates": rates,
            "runs": runs, "seconds": round(time.perf_counter() - start, 1)}


def steps_to_reach(steps, accuracies, target):
    """The first recorded step whose accuracy is at least `target`, or None."""
    return next((s for s, a in zip(steps, accuracies) if a >= target), None)


def summary(result, targets=(0.97, 0.98)):
    """Per (network, learning rate): final test accuracy over the seeds and, per target, the
    recorded step at which each seed first reached it (None: never within the budget).

    Returns {(network, lr): {"final": [per seed], "mean", "min", "max", "diverged" (runs
    left out), "steps_to": {str(target): [per seed]}}}, in the order of the runs.
    """
    out = {}
    for run in result["runs"]:
        entry = out.setdefault((run["network"], run["lr"]), {
            "final": [], "diverged": 0, "steps_to": {str(t): [] for t in targets}})
        if "diverged_at" in run:
            entry["diverged"] += 1
            continue
        entry["final"].append(run["test_acc"][-1])
        for t in targets:
            entry["steps_to"][str(t)].append(steps_to_reach(run["step"], run["test_acc"], t))
    for entry in out.values():
        finals = entry["final"] or [np.nan]
        entry.update(mean=float(np.mean(finals)), min=min(finals), max=max(finals))
    return dict(sorted(out.items(), key=lambda item: (item[0][1], item[0][0] == "bn")))


def cnn_table(result):
    """Text tables: the validation accuracy of every learning rate (step 1), then the final test
    accuracy and the steps to 97 % and 98 % of both networks at every planned rate (step 2)."""
    selection, config = result["selection"], result["config"]
    lrs = list(selection["validation_acc"]["plain"])
    lines = [f"validation accuracy after {config['steps']} steps (seed {config['selection_seed']})",
             f"{'learning rate':<14}" + "".join(f"{lr:>8}" for lr in lrs)]
    for network, label in NETWORKS.items():
        accs = selection["validation_acc"][network]
        lines.append(f"{label:<14}" + "".join(
            f"{'div.':>8}" if accs[lr] is None else f"{accs[lr]:>8.4f}" for lr in lrs))
    lines.append("chosen: " + ", ".join(f"{NETWORKS[n]} lr {lr:g}"
                                        for n, lr in selection["chosen"].items()))
    lines += ["", f"test accuracy after {config['steps']} steps, seeds "
                  f"{', '.join(map(str, config['seeds']))}"]
    lines.append(f"{'lr':>6}  {'network':<12}{'final (min-max)':>24}{'steps to 97 %':>16}"
                 f"{'steps to 98 %':>16}")
    show = lambda steps: "/".join("-" if s is None else str(s) for s in steps)
    for (network, lr), entry in summary(result).items():
        lines.append(f"{lr:>6g}  {NETWORKS[network]:<12}{entry['mean']:>10.4f} "
                     f"({entry['min']:.4f}-{entry['max']:.4f}){show(entry['steps_to']['0.97']):>16}"
                     f"{show(entry['steps_to']['0.98']):>16}"
                     + (f"  ({entry['diverged']} diverged)" if entry["diverged"] else ""))
    lines.append(f"(steps: first record at or above the target, per seed; records every "
                 f"{config['eval_every']} steps; '-': not within {config['steps']} steps)")
    return "\n".join(lines)


def save_cnn(result, out):
    """Write cnn.json and cnn.png into the folder `out`; return their paths."""
    from ..figures import common, convolutions      # matplotlib is only needed here
    fig, _ = convolutions.plot_cnn(result)
    return (write_json(result, Path(out) / "cnn.json"),
            common.save_figure(fig, Path(out) / "cnn.png"))


def cnn_command(args):
    """Command-line entry (python -m bnlib.reproduce cnn): the full protocol; writes cnn.json
    and cnn.png into `args.out`, prints the tables and returns 0.

    args: an argparse.Namespace with steps (None: CNNConfig.steps), seed (the first of three
    seeds), out, and subset (see experiment_data; the validation split is then a sixth of it).
    """
    data = experiment_data(args)
    config = CNNConfig()
    steps = args.steps or config.steps
    config = dataclasses.replace(
        config, steps=steps, eval_every=max(1, min(config.eval_every, steps // 4)),
        validation=min(config.validation, len(data[0]) // 6),
        selection_seed=args.seed, seeds=seeds_of(args))
    result = run_cnn(config, data)
    paths = save_cnn(result, args.out)
    print(cnn_table(result))
    print(f"time: {result['seconds']:.0f} s; wrote", *paths)
    return 0


COMMANDS = {"cnn": (cnn_command, "MNIST, small CNN (conv-BN-ReLU twice, then linear) with and "
                                 "without BN, learning rates chosen on a validation split, "
                                 "3 seeds (notebook 12)")}
