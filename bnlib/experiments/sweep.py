"""The networks of Fig. 1 over learning rates x initial weight scales (notebook 06).

Each cell of the grid trains both networks (without and with BN) from the same start for a
fixed number of steps and records the final test accuracy, or "diverged" when the loss or a
batch statistic stopped being finite (bnlib.train.TrainingDiverged). Command: `sweep`.
"""
import dataclasses
from pathlib import Path

from ..train import TrainingDiverged, progress_bar
from .common import experiment_data, write_json
from .fig1 import NETWORKS, Fig1Config, run_network


def lr_init_sweep(lrs, init_stds, steps, data=None, seed=0, progress=None):
    """Final test accuracy of both networks of Fig. 1 for every (lr, init_std) pair.

    Inputs: lrs and init_stds, sequences of numbers; steps per training run; data as
    `load_mnist` returns it (None: load it); seed; progress: show a bar (None: if watched).
    Returns {"lr", "init_std", "steps", "plain", "bn"}, where result[name][i][j] is the test
    accuracy after `steps` steps with init_stds[i] and lrs[j] (None if the loss diverged).
    """
    data = experiment_data() if data is None else data
    result = {"lr": list(lrs), "init_std": list(init_stds), "steps": steps, "seed": seed}
    with progress_bar(2 * len(lrs) * len(init_stds), "sweep", progress) as bar:
        for name in NETWORKS:
            result[name] = [[_final_accuracy(name == "bn", Fig1Config(
                steps, lr, init_std=std, eval_every=steps, seed=seed), data, bar)
                for lr in lrs] for std in init_stds]
    return result


def _final_accuracy(use_bn, config, data, bar):
    """Test accuracy at the end of one run, or None if its loss stopped being finite."""
    try:
        accuracy = run_network(use_bn, config, data, progress=False)["test_acc"][-1]
    except TrainingDiverged:
        accuracy = None
    bar.update()
    return accuracy


SWEEP_LRS, SWEEP_INIT_STDS = (0.1, 1.0, 10.0), (0.01, 0.1, 1.0)


def sweep_command(args):
    """`python -m bnlib.reproduce sweep`: write sweep.json and sweep.png, print the accuracies."""
    from ..figures import common, training       # matplotlib is only needed here
    steps = args.steps or 2000
    result = lr_init_sweep(SWEEP_LRS, SWEEP_INIT_STDS, steps, data=experiment_data(args),
                           seed=args.seed)
    config = {**dataclasses.asdict(Fig1Config(steps=steps, seed=args.seed)),
              "lrs": list(SWEEP_LRS), "init_stds": list(SWEEP_INIT_STDS)}
    out = Path(args.out)
    write_json({"config": config, **result}, out / "sweep.json")
    common.save_figure(training.plot_sweep(result)[0], out / "sweep.png")
    print(f"test accuracy after {result['steps']} steps (rows: initial std; columns: lr "
          f"{', '.join(f'{lr:g}' for lr in result['lr'])})")
    for name in NETWORKS:
        for std, row in zip(result["init_std"], result[name]):
            cells = "  ".join("div." if a is None else f"{a:.3f}" for a in row)
            print(f"{NETWORKS[name]:<11} std {std:<5g} {cells}")
    print("wrote", out / "sweep.json", out / "sweep.png")
    return 0


COMMANDS = {"sweep": (sweep_command, "the networks of fig1 over learning rates x initial weight "
                                     "scales (Ioffe & Szegedy 2015, Sec. 3.3)")}
