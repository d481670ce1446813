"""Where batch norm goes, measured: before the nonlinearity, after it, or not at all.

The networks are bnlib's MLP (see bnlib/model.py); hidden layer k computes, for placement
- "before" (the paper's choice, Ioffe & Szegedy 2015, Sec. 3.2):  h_k = act(BN(h_{k-1} @ W_k))
- "after":                                                 h_k = BN(act(h_{k-1} @ W_k + b_k))
- "none":                                                  h_k = act(h_{k-1} @ W_k + b_k)
With BN before, the affine bias is left out (BN's mean subtraction cancels it; beta takes its
place); with BN after, the bias stays, since nothing cancels it. `run_placement` trains one
such network with plain SGD (bnlib.train) and measures its test accuracy and how saturated its
nonlinearities are; notebook 12 runs a small budget of `compare_placements`, the command
`placement` the full one.
"""
from pathlib import Path

import numpy as np

from ..model import MLP
from ..saturation import SATURATION_THRESHOLD
from ..train import progress_bar, train
from .common import experiment_data, seeds_of, write_json


PLACEMENTS = ("none", "before", "after")


SETTINGS = {"sigmoid": 0.5, "relu": 0.1}   # learning rate per activation, shared by placements


FULL_STEPS = 3000                         # the command `placement`; notebook 12 runs 400


def placement_mlp(sizes, placement, activation="sigmoid", init_std=0.1, rng=None,
                  dtype=np.float32):
    """bnlib's MLP with BN before or after each hidden nonlinearity, or without BN.

    Inputs: sizes, layer widths such as (784, 100, 100, 10); placement, one of PLACEMENTS;
    activation, init_std, rng and dtype as for MLP. Returns the MLP.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    return MLP(sizes, use_bn=placement != "none", activation=activation, init_std=init_std,
               rng=rng, dtype=dtype, bn_position="after" if placement == "after" else "before")


def saturation(z, activation):
    """Share of nonlinearity inputs `z` where the local gradient is (nearly) zero.

    sigmoid: |z| > SATURATION_THRESHOLD (bnlib.saturation: sigmoid' < 0.018 there);
    relu: z <= 0 (the gradient is exactly 0).
    """
    flat = z <= 0 if activation == "relu" else np.abs(z) > SATURATION_THRESHOLD
    return float(np.mean(flat))


def run_placement(data, placement, activation, steps, lr, seed, sizes=(784, 100, 100, 10),
                  batch_size=60, init_std=0.1):
    """Train one `placement_mlp` with plain SGD and measure it on the test set.

    Inputs: data = (x_train, y_train, x_test, y_test) as `load_mnist` returns them; the
    placement and activation; steps of SGD with learning rate lr and minibatches of
    `batch_size` (bnlib.train: one shuffle per epoch); seed for the initial weights and the
    minibatch order.
    Returns dict(test_acc, saturation = share of saturated nonlinearity inputs over the test
    set and all hidden layers, in evaluation mode). Raises TrainingDiverged if training diverges.
    """
    rng = np.random.default_rng(seed)
    model = placement_mlp(sizes, placement, activation, init_std, rng)
    history = train(model, data, steps, lr, batch_size=batch_size, eval_every=[steps],
                    rng=rng, progress=False)
    model.eval().forward(data[2])                 # the test set, for its pre-activations
    z_all = np.concatenate([z.ravel() for z in model.pre_activations])
    return dict(test_acc=history["test_acc"][-1], saturation=saturation(z_all, activation))


def compare_placements(data, settings, placements=PLACEMENTS, seeds=(0, 1, 2), steps=500,
                       progress=None):
    """Run `run_placement` for every activation, placement and seed.

    Inputs: data as for `run_placement`; settings: {activation: learning rate}, one rate
    shared by all placements of that activation; seeds; steps per run; progress: show a bar
    over the runs (None: when a person is watching).
    Returns {(activation, placement): [one result dict per seed]}.
    """
    results = {}
    with progress_bar(len(settings) * len(placements) * len(seeds), "placements", progress) as bar:
        for activation, lr in settings.items():
            for placement in placements:
                results[activation, placement] = []
                for seed in seeds:
                    results[activation, placement].append(
                        run_placement(data, placement, activation, steps, lr, seed))
                    bar.update()
    return results


def placement_table(results):
    """A text table of `compare_placements`'s results: mean and range over the seeds."""
    lines = [f"{'activation':<10} {'BN':<7} {'test accuracy (min-max)':<26} saturated"]
    for (activation, placement), runs in results.items():
        acc = [r["test_acc"] for r in runs]
        sat = np.mean([r["saturation"] for r in runs])
        lines.append(f"{activation:<10} {placement:<7} {np.mean(acc):.4f} "
                     f"({min(acc):.4f}-{max(acc):.4f})      {100 * sat:5.1f} %")
    return "\n".join(lines)


def placement_command(args):
    """Command-line entry: compare the placements; write placement.json and .png, print a table.

    args: the options of `python -m bnlib.reproduce` (steps: None for FULL_STEPS; seed: the
    first of three seeds; out: the output folder). Returns the exit code 0.
    """
    from ..figures import common, convolutions       # matplotlib is only needed here
    steps, seeds = args.steps or FULL_STEPS, seeds_of(args)
    results = compare_placements(experiment_data(args), SETTINGS, seeds=seeds, steps=steps)
    out = Path(args.out)
    runs = [dict(activation=act, placement=placement, lr=SETTINGS[act], steps=steps, seed=seed,
                 **result) for (act, placement), per_seed in results.items()
            for seed, result in zip(seeds, per_seed)]
    write_json({"config": {"settings": SETTINGS, "steps": steps, "seeds": list(seeds),
                           "placements": list(PLACEMENTS)}, "runs": runs},
               out / "placement.json")
    common.save_figure(convolutions.plot_placement(results, SATURATION_THRESHOLD)[0],
                       out / "placement.png")
    print(placement_table(results))
    print("wrote", out / "placement.json", out / "placement.png")
    return 0


COMMANDS = {"placement": (placement_command, "MNIST, 784-100-100-10 MLP with BN before or after "
                                             "the nonlinearity or none, sigmoid and ReLU, 3 seeds "
                                             "(notebook 12 at a larger budget)")}
