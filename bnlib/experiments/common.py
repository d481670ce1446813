"""What the experiments share: loading their data, saving results, copying a model's state."""
import contextlib
import json
from pathlib import Path

from ..data import load_mnist


def experiment_data(args=None):
    """MNIST for an experiment: the whole of it, or with `args.subset` = n only its first n
    training and n test images (for quick checks of a command; the numbers mean nothing)."""
    data = load_mnist()
    subset = getattr(args, "subset", None)
    return data if not subset else tuple(array[:subset] for array in data)


def seeds_of(args, default=3):
    """The seeds a command runs: --seeds of them (default `default`), counting from --seed."""
    return tuple(range(args.seed, args.seed + (args.seeds or default)))


def write_json(result, path):
    """Write an experiment's `result` (JSON-serialisable) to `path`, its folder made if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def rounded(values, digits=6):
    """Plain Python floats with `digits` significant digits (for a readable JSON file)."""
    return [float(f"{v:.{digits}g}") for v in values]


@contextlib.contextmanager
def restored(model):
    """Inside this block `model` may be changed freely: its parameters, gradients, BN running
    statistics and mode come back on leaving."""
    params, grads = model.flat_params.copy(), model.flat_grads.copy()
    stats = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in model.bns
             if hasattr(bn, "running_mean")]
    was_training = model.training
    try:
        yield model
    finally:
        model.flat_params[...], model.flat_grads[...] = params, grads
        for bn, (mean, var) in zip([bn for bn in model.bns if hasattr(bn, "running_mean")], stats):
            bn.running_mean[...], bn.running_var[...] = mean, var
        model.train() if was_training else model.eval()
