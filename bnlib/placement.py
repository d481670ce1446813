"""Where batch norm goes, measured: before the nonlinearity, after it, or not at all.

Hidden layer k of `PlacementMLP` computes, for placement
- "before" (the paper's choice, Ioffe & Szegedy 2015, Sec. 3.2):  h_k = act(BN(h_{k-1} @ W_k))
- "after":                                                 h_k = BN(act(h_{k-1} @ W_k + b_k))
- "none":                                                  h_k = act(h_{k-1} @ W_k + b_k)
With BN before, the affine bias is left out (BN's mean subtraction cancels it; beta takes its
place); with BN after, the bias stays, since nothing cancels it. The output layer is affine,
followed by softmax cross-entropy. `run_placement` trains one such network with plain SGD and
measures its test accuracy and how saturated its nonlinearities are; notebook 09 runs a small
budget of `compare_placements`; `placement_experiment` runs the full one from the command
line (`python -m bnlib.reproduce placement`, once registered in bnlib/reproduce.py's EXPERIMENTS).
"""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import plots
from .batchnorm import BatchNorm1d
from .data import load_mnist
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                     sigmoid_backward, sigmoid_forward, softmax_cross_entropy)
from .model import SGD
from .widgets import SATURATION_THRESHOLD

PLACEMENTS = ("none", "before", "after")
SETTINGS = {"sigmoid": 0.5, "relu": 0.1}   # learning rate per activation, shared by placements
FULL_STEPS = 3000                         # `reproduce placement`; notebook 09 runs 400
ACTIVATIONS = {"sigmoid": (sigmoid_forward, sigmoid_backward),
               "relu": (relu_forward, relu_backward)}


class PlacementMLP:
    """Fully-connected network with BN before or after each hidden nonlinearity, or none.

    Inputs:
    - sizes: layer widths, e.g. (784, 100, 100, 10).
    - placement: "before", "after" or "none" (see the module's docstring).
    - activation: "sigmoid" or "relu".
    - init_std: standard deviation of the Gaussian initial weights (biases start at 0).
    - rng: np.random.Generator for the initial weights; dtype: float32 or float64.

    `params` and `grads` are dicts of arrays with the same keys (W1, b1 or gamma1/beta1, ...);
    after `forward`, `pre_activations[k]` is the input z (N, width) of hidden layer k+1's
    nonlinearity.
    """

    def __init__(self, sizes, placement="before", activation="sigmoid", init_std=0.1, rng=None,
                 dtype=np.float32):
        if placement not in PLACEMENTS or activation not in ACTIVATIONS:
            raise ValueError(f"placement must be one of {PLACEMENTS} and activation one of "
                             f"{tuple(ACTIVATIONS)}, got {placement!r} and {activation!r}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.placement, self.activation = placement, activation
        self.n_hidden = len(sizes) - 2
        self.bns, self.params = [], {}
        for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{k}"] = (init_std * rng.standard_normal((d_in, d_out))).astype(dtype)
            if k > self.n_hidden or placement != "before":
                self.params[f"b{k}"] = np.zeros(d_out, dtype)
            if k <= self.n_hidden and placement != "none":
                bn = BatchNorm1d(d_out, dtype=dtype)
                self.bns.append(bn)
                self.params[f"gamma{k}"], self.params[f"beta{k}"] = bn.gamma, bn.beta  # shared
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.pre_activations = []

    def train(self):
        """Training mode: BN normalises with batch statistics."""
        for bn in self.bns:
            bn.train()
        return self

    def eval(self):
        """Evaluation mode: BN normalises with its running statistics."""
        for bn in self.bns:
            bn.eval()
        return self

    def forward(self, x):
        """Logits (N, classes) for inputs `x` (N, sizes[0]); keeps what backward needs."""
        act_forward, _ = ACTIVATIONS[self.activation]
        h, self._caches, self.pre_activations = x, [], []
        for k in range(1, self.n_hidden + 1):
            z, affine_cache = affine_forward(h, self.params[f"W{k}"], self.params.get(f"b{k}"))
            if self.placement == "before":
                z = self.bns[k - 1].forward(z)                  # (N, width)
            h, act_cache = act_forward(z)                       # (N, width)
            if self.placement == "after":
                h = self.bns[k - 1].forward(h)
            self.pre_activations.append(z)
            self._caches.append((affine_cache, act_cache))
        logits, affine_cache = affine_forward(h, self.params[f"W{self.n_hidden + 1}"],
                                              self.params[f"b{self.n_hidden + 1}"])
        self._caches.append(affine_cache)
        return logits                                           # (N, classes)

    def backward(self, dlogits):
        """Fill `grads` from the gradient of the loss w.r.t. the logits (N, classes)."""
        _, act_backward = ACTIVATIONS[self.activation]
        g, top = self.grads, self.n_hidden + 1
        dh, g[f"W{top}"][...], g[f"b{top}"][...] = affine_backward(dlogits, self._caches[-1])
        for k in range(self.n_hidden, 0, -1):
            affine_cache, act_cache = self._caches[k - 1]
            if self.placement == "after":
                dh = self._bn_backward(k, dh)
            dz = act_backward(dh, act_cache)
            if self.placement == "before":
                dz = self._bn_backward(k, dz)
            dh, g[f"W{k}"][...], db = affine_backward(dz, affine_cache, need_dx=k > 1)
            if f"b{k}" in g:
                g[f"b{k}"][...] = db

    def _bn_backward(self, k, dout):
        """Backward through hidden layer k's BN; stores dgamma{k}, dbeta{k}; returns dx."""
        bn = self.bns[k - 1]
        dx = bn.backward(dout)
        self.grads[f"gamma{k}"][...], self.grads[f"beta{k}"][...] = bn.dgamma, bn.dbeta
        return dx

    def loss(self, x, y):
        """Mean softmax cross-entropy on (x, y); also computes `grads`. Returns the loss."""
        loss, dlogits = softmax_cross_entropy(self.forward(x), y)
        self.backward(dlogits)
        return loss


def saturation(z, activation):
    """Share of nonlinearity inputs `z` where the local gradient is (nearly) zero.

    sigmoid: |z| > SATURATION_THRESHOLD (bnlib.widgets: sigmoid' < 0.018 there);
    relu: z <= 0 (the gradient is exactly 0).
    """
    flat = z <= 0 if activation == "relu" else np.abs(z) > SATURATION_THRESHOLD
    return float(np.mean(flat))


def run_placement(data, placement, activation, steps, lr, seed, sizes=(784, 100, 100, 10),
                  batch_size=60, init_std=0.1):
    """Train one PlacementMLP with SGD and measure it on the test set.

    Inputs: data = (x_train, y_train, x_test, y_test) as `load_mnist` returns them; the
    placement and activation; steps of SGD with learning rate lr and minibatches of
    `batch_size`; seed for the initial weights and the minibatch order.
    Returns dict(test_acc, saturation = share of saturated nonlinearity inputs over the test
    set and all hidden layers, in evaluation mode). Raises RuntimeError on a non-finite loss.
    """
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    model = PlacementMLP(sizes, placement, activation, init_std, rng)
    optimizer = SGD(model.params, model.grads, lr)
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(x_train), batch_size)        # drawn with replacement
        cause = None
        try:
            loss = model.loss(x_train[idx], y_train[idx])
        except ValueError as error:                            # BN met an overflow
            loss, cause = float("nan"), error
        if not np.isfinite(loss):
            raise RuntimeError(f"training diverged at step {step} (lr={lr}, BN {placement}, "
                               f"{activation}); try a lower learning rate") from cause
        optimizer.step()
    logits = model.eval().forward(x_test)
    z_all = np.concatenate([z.ravel() for z in model.pre_activations])
    return dict(test_acc=float(np.mean(logits.argmax(axis=1) == y_test)),
                saturation=saturation(z_all, activation))


def compare_placements(data, settings, placements=PLACEMENTS, seeds=(0, 1, 2), steps=500,
                       progress=None):
    """Run `run_placement` for every activation, placement and seed.

    Inputs: data as for `run_placement`; settings: {activation: learning rate}, one rate
    shared by all placements of that activation; seeds; steps per run; progress: a function
    called with a short text after each run (None: silent).
    Returns {(activation, placement): [one result dict per seed]}.
    """
    results = {}
    for activation, lr in settings.items():
        for placement in placements:
            results[activation, placement] = [
                run_placement(data, placement, activation, steps, lr, seed) for seed in seeds]
            if progress is not None:
                progress(f"{activation}, BN {placement}: done")
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


PLACEMENT_DESCRIPTION = ("MNIST, 784-100-100-10 MLP with BN before or after the nonlinearity or "
                         "none, sigmoid and ReLU, 3 seeds (notebook 09 at a larger budget)")


def placement_experiment(args):
    """Command-line entry: compare the placements; write placement.json and .png, print a table.

    args: the options of `python -m bnlib.reproduce` (steps: None for FULL_STEPS; seed: the
    first of three seeds; out: the output folder). Returns the exit code 0.
    """
    steps, seeds = args.steps or FULL_STEPS, tuple(range(args.seed, args.seed + 3))
    results = compare_placements(load_mnist(), SETTINGS, seeds=seeds, steps=steps,
                                 progress=print)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [dict(activation=act, placement=placement, lr=SETTINGS[act], steps=steps, seed=seed,
                 **result) for (act, placement), per_seed in results.items()
            for seed, result in zip(seeds, per_seed)]
    (out / "placement.json").write_text(json.dumps(runs, indent=1))
    fig, _ = plots.plot_placement(results, SATURATION_THRESHOLD)
    fig.savefig(out / "placement.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(placement_table(results))
    print("wrote", out / "placement.json", out / "placement.png")
    return 0
