"""Where does one training step of the Fig. 1 network spend its time, and how far could numpy go?

Run from the repository root:
    .venv/bin/python benchmarks/bench_step.py              # about half a minute
    .venv/bin/python benchmarks/bench_step.py --markdown   # the table as markdown

Timed, per training step of the 784-100-100-100-10 sigmoid network on minibatches of 60 MNIST
images (float32, one BLAS thread, plain SGD with the settings of `Fig1Config`):

- "MLP without BN", "MLP with BN": bnlib's `MLP.loss` + `SGD.step`, what `reproduce fig1` runs;
- "fused, with BN": the same step with BN written out by hand as one function: no input
  checks, no layer objects, every operation into a buffer made beforehand, as few numpy calls
  as we could manage. It is not part of bnlib and not meant to be read as course code: it
  measures how much of the MLP's time is numpy's fixed cost per call, which no rewriting in
  numpy removes. Before timing it is checked to compute the MLP's step (same parameters after
  a few steps, to float32 rounding);
- "first-layer products only": x @ W1 and x.T @ dz1, the (60 x 784) by (784 x 100) products
  every step needs whatever the implementation, a floor on one core.

The sides run in turn inside every repeat (order rotating), so a burst of load from other
programs slows them alike; we report the median over the repeats and the range.
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy is imported
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from bnlib import MLP, load_mnist, minibatches  # noqa: E402
from bnlib.model import SGD  # noqa: E402
from bnlib.experiments.fig1 import Fig1Config  # noqa: E402
from tables import load_line, table  # noqa: E402  (benchmarks/tables.py, beside this script)

# After a few steps the fused step and the MLP differ only by float32 rounding in a different
# order of operations: relative 1e-4 of the largest parameter is far above that and far
# below any real difference (a wrong gradient changes a parameter by O(lr * grad)).
AGREE_RTOL = 1e-4


class FusedStep:
    """One SGD step of the Fig. 1 network with BN, written for speed (see the module's text).

    It works on an MLP's own parameter views and gradient arrays, so the two can be compared.
    """

    def __init__(self, model, lr, n):
        self.model, self.lr, self.n, dt = model, np.float32(lr), n, model.dtype
        widths = model.sizes[1:-1]
        self.mean_weights = np.full(n, 1.0 / n, dt)
        self.ones = np.ones(n, dt)
        self.x = np.empty((n, model.sizes[0]), dt)
        self.z, self.x_hat, self.s, self.dh = ([np.empty((n, d), dt) for d in widths] for _ in range(4))
        self.inv_std = [np.empty(d, dt) for d in widths]
        self.logits = np.empty((n, model.sizes[-1]), dt)
        self.update = np.empty_like(model.flat_params)
        self.rows = np.arange(n)

    def __call__(self, x_all, y_all, idx):
        p, g, bns, n = self.model.params, self.model.grads, self.model.bns, self.n
        np.take(x_all, idx, axis=0, out=self.x)
        y, h = y_all[idx], self.x
        for k, bn in enumerate(bns):                  # forward: affine, BN, sigmoid
            z = np.matmul(h, p[f"W{k + 1}"], out=self.z[k])
            mean = self.mean_weights @ z
            x_hat = np.subtract(z, mean, out=self.x_hat[k])
            correction = self.mean_weights @ x_hat
            var = np.einsum("nd,nd->d", x_hat, x_hat)
            var *= 1.0 / n
            var -= correction * correction
            x_hat -= correction
            mean += correction
            inv_std = np.add(var, bn.eps, out=self.inv_std[k])
            np.sqrt(inv_std, out=inv_std)
            np.reciprocal(inv_std, out=inv_std)
            x_hat *= inv_std
            bn.running_mean *= 1 - bn.momentum
            bn.running_mean += bn.momentum * mean
            bn.running_var *= 1 - bn.momentum
            bn.running_var += (bn.momentum * n / (n - 1)) * var
            out = np.multiply(x_hat, p[f"gamma{k + 1}"], out=self.z[k])
            out += p[f"beta{k + 1}"]
            s = np.negative(out, out=self.s[k])       # sigmoid, inputs bounded by BN
            np.exp(s, out=s)
            s += 1
            np.reciprocal(s, out=s)
            h = s
        last = len(bns) + 1                           # softmax cross-entropy, its backward
        logits = np.matmul(h, p[f"W{last}"], out=self.logits)
        logits += p[f"b{last}"]
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[self.rows, y] -= 1
        logits *= 1.0 / n
        np.matmul(h.T, logits, out=g[f"W{last}"])
        np.matmul(self.ones, logits, out=g[f"b{last}"])
        dh = np.matmul(logits, p[f"W{last}"].T, out=self.dh[-1])
        for k in range(len(bns) - 1, -1, -1):          # backward: sigmoid, BN, affine
            s = self.s[k]
            dz = np.subtract(1, s, out=self.z[k])
            dz *= s
            dz *= dh
            dbeta = np.matmul(self.ones, dz, out=g[f"beta{k + 1}"])
            dgamma = np.einsum("nd,nd->d", dz, self.x_hat[k], out=g[f"gamma{k + 1}"])
            dx = np.multiply(self.x_hat[k], dgamma * (-1.0 / n), out=self.x_hat[k])
            dx += dz
            dx -= dbeta * (1.0 / n)
            dx *= p[f"gamma{k + 1}"] * self.inv_std[k]
            np.matmul((self.s[k - 1] if k else self.x).T, dx, out=g[f"W{k + 1}"])
            if k:
                dh = np.matmul(dx, p[f"W{k + 1}"].T, out=self.dh[k - 1])
        np.multiply(self.model.flat_grads, self.lr, out=self.update)
        self.model.flat_params -= self.update


def make_sides(data, config):
    """{name: function(idx) doing one step} for every side, and the fused step's check."""
    x_train, y_train = data[0], data[1]
    models = {use_bn: MLP(config.sizes, use_bn=use_bn, init_std=config.init_std,
                          rng=np.random.default_rng(0)) for use_bn in (False, True)}
    optimizers = {use_bn: SGD(m.flat_params, m.flat_grads, config.lr) for use_bn, m in models.items()}

    def mlp_step(use_bn):
        model, optimizer = models[use_bn], optimizers[use_bn]
        return lambda idx: (model.loss(x_train[idx], y_train[idx]), optimizer.step())

    fused_model = MLP(config.sizes, use_bn=True, init_std=config.init_std, rng=np.random.default_rng(0))
    fused = FusedStep(fused_model, config.lr, config.batch_size)
    check_fused(fused, data, config)
    x, W1 = x_train[:config.batch_size], fused_model.params["W1"].copy()
    dz = np.ones((config.batch_size, W1.shape[1]), np.float32)
    z, dW = np.empty_like(dz), np.empty_like(W1)

    def first_layer(idx):
        np.matmul(x, W1, out=z)
        np.matmul(x.T, dz, out=dW)

    return {"MLP without BN": mlp_step(False), "MLP with BN": mlp_step(True),
            "fused, with BN": lambda idx: fused(x_train, y_train, idx),
            "first-layer products only": first_layer}


def check_fused(fused, data, config, steps=5):
    """Raise AssertionError unless the fused step computes what MLP + SGD compute."""
    model = MLP(config.sizes, use_bn=True, init_std=config.init_std, rng=np.random.default_rng(0))
    optimizer = SGD(model.flat_params, model.flat_grads, config.lr)
    batches = minibatches(len(data[0]), config.batch_size, np.random.default_rng(1))
    for _ in range(steps):
        idx = next(batches)
        model.loss(data[0][idx], data[1][idx])
        optimizer.step()
        fused(data[0], data[1], idx)
    scale = np.abs(model.flat_params).max()
    np.testing.assert_allclose(fused.model.flat_params, model.flat_params, rtol=0,
                               atol=AGREE_RTOL * scale)
    for ours, theirs in zip(fused.model.bns, model.bns):
        np.testing.assert_allclose(ours.running_var, theirs.running_var, rtol=AGREE_RTOL)


def time_steps(sides, data, config, repeats, steps):
    """{side: [ms per step, one per repeat]}, the sides in rotating order within each repeat."""
    batches = minibatches(len(data[0]), config.batch_size, np.random.default_rng(2))
    order, times = list(sides), {name: [] for name in sides}
    for repeat in range(repeats):
        for name in order[repeat % len(order):] + order[:repeat % len(order)]:
            indices = [next(batches) for _ in range(steps)]
            step = sides[name]
            step(indices[0])                                   # warm the buffers
            start = time.perf_counter()
            for idx in indices:
                step(idx)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="repeats per side (default 15)")
    parser.add_argument("--steps", type=int, default=400, help="steps per repeat (default 400)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    config, data = Fig1Config(), load_mnist()
    sides = make_sides(data, config)
    times = time_steps(sides, data, config, args.repeats, args.steps)
    header = ["side", "ms per step (median)", "range", "50,000 steps"]
    rows = [[name, f"{np.median(t):.3f}", f"{min(t):.3f} to {max(t):.3f}",
             f"{np.median(t) * 50:.1f} s"] for name, t in times.items()]
    print("\n".join(table(header, rows, args.markdown)))
    print(f"\n{args.repeats} repeats of {args.steps} steps; fused step checked against the MLP "
          f"(atol {AGREE_RTOL:g} x largest parameter); one BLAS thread (bnlib sets it)")
    print(load_line())


if __name__ == "__main__":
    main()
