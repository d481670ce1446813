"""A multi-layer perceptron with optional batch norm after each hidden affine layer, and SGD.

Hidden layer k computes  z_k = BN_k(h_{k-1} @ W_k)  (or h_{k-1} @ W_k + b_k without BN),
then h_k = sigmoid(z_k) (or relu). With BN the affine bias is left out: BN subtracts the batch
mean, which cancels any bias, and beta takes its role (Ioffe & Szegedy 2015, Sec. 3.2).
The output layer is affine, followed by softmax cross-entropy.
"""
import numpy as np

from .batchnorm import BatchNorm1d
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                     sigmoid_backward, sigmoid_forward, softmax_cross_entropy)

ACTIVATIONS = {"sigmoid": (sigmoid_forward, sigmoid_backward),
               "relu": (relu_forward, relu_backward)}


class MLP:
    """Fully-connected network: sizes[0] inputs, hidden layers, sizes[-1] classes.

    Inputs:
    - sizes: layer widths, e.g. (784, 100, 100, 100, 10) as in the paper's Sec. 4.1.
    - use_bn: put a BatchNorm1d after every hidden affine layer.
    - activation: "sigmoid" or "relu".
    - init_std: standard deviation of the Gaussian initial weights (biases start at 0).
    - rng: a np.random.Generator, for the initial weights.
    - dtype: float32 (fast) or float64 (for gradient checks).

    `params` maps names ("W1", "b1" or "gamma1"/"beta1", ...) to arrays, updated in place.
    After `loss(x, y)`, `grads` has the same keys, and `pre_activations[k]` holds the input
    z (N, width) of hidden layer k+1's nonlinearity.
    """

    def __init__(self, sizes, use_bn=False, activation="sigmoid", init_std=0.01, rng=None,
                 dtype=np.float32, bn_momentum=0.1, bn_eps=1e-5):
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.sizes, self.use_bn, self.activation = tuple(sizes), bool(use_bn), activation
        self.n_hidden = len(sizes) - 2
        self.bns = [BatchNorm1d(d, bn_eps, bn_momentum, dtype) for d in sizes[1:-1]] if use_bn else []
        self.params = {}
        for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{k}"] = (init_std * rng.standard_normal((d_in, d_out))).astype(dtype)
            if use_bn and k <= self.n_hidden:
                self.params[f"gamma{k}"] = self.bns[k - 1].gamma   # shared with the layer
                self.params[f"beta{k}"] = self.bns[k - 1].beta
            else:
                self.params[f"b{k}"] = np.zeros(d_out, dtype)
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.pre_activations = []
        self.training = True

    def train(self):
        """Training mode: BN uses batch statistics and updates its running averages."""
        self.training = True
        for bn in self.bns:
            bn.train()
        return self

    def eval(self):
        """Evaluation mode: BN uses its running statistics."""
        self.training = False
        for bn in self.bns:
            bn.eval()
        return self

    def forward(self, x):
        """Logits (N, classes) for inputs `x` (N, sizes[0]); keeps what backward needs."""
        act_forward, _ = ACTIVATIONS[self.activation]
        h, self._caches, self.pre_activations = x, [], []
        for k in range(1, self.n_hidden + 1):
            z, affine_cache = affine_forward(h, self.params[f"W{k}"], self.params.get(f"b{k}"))
            if self.use_bn:
                z = self.bns[k - 1].forward(z)                  # (N, width)
            h, act_cache = act_forward(z)
            self.pre_activations.append(z)
            self._caches.append((affine_cache, act_cache))
        k = self.n_hidden + 1
        logits, affine_cache = affine_forward(h, self.params[f"W{k}"], self.params[f"b{k}"])
        self._caches.append(affine_cache)
        return logits                                           # (N, classes)

    def backward(self, dlogits):
        """Fill `grads` from the gradient of the loss w.r.t. the logits (N, classes)."""
        _, act_backward = ACTIVATIONS[self.activation]
        k = self.n_hidden + 1
        dh, self.grads[f"W{k}"][...], self.grads[f"b{k}"][...] = affine_backward(
            dlogits, self._caches[-1])
        for k in range(self.n_hidden, 0, -1):
            affine_cache, act_cache = self._caches[k - 1]
            dz = act_backward(dh, act_cache)
            if self.use_bn:
                bn = self.bns[k - 1]
                dz = bn.backward(dz)
                self.grads[f"gamma{k}"][...], self.grads[f"beta{k}"][...] = bn.dgamma, bn.dbeta
            dh, self.grads[f"W{k}"][...], db = affine_backward(dz, affine_cache, need_dx=k > 1)
            if not self.use_bn:
                self.grads[f"b{k}"][...] = db

    def loss(self, x, y):
        """Mean softmax cross-entropy on (x, y); also computes `grads`. Returns the loss."""
        loss, dlogits = softmax_cross_entropy(self.forward(x), y)
        self.backward(dlogits)
        return loss

    def predict(self, x, batch_size=10000):
        """Predicted class (N,) for inputs `x`, in evaluation mode, in chunks of `batch_size`."""
        was_training = self.training
        self.eval()
        labels = np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                                 for i in range(0, len(x), batch_size)])
        if was_training:
            self.train()
        return labels


class SGD:
    """Stochastic gradient descent with momentum, updating the parameters in place.

    PyTorch's form: v <- momentum * v + grad;  p <- p - lr * v  (v starts at 0).
    Inputs: params and grads, dicts of arrays with the same keys (as an MLP has them).
    """

    def __init__(self, params, grads, lr, momentum=0.0):
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.params, self.grads, self.lr, self.momentum = params, grads, lr, momentum
        self.velocities = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self):
        """Apply one update with the current gradients."""
        for name, p in self.params.items():
            v = self.velocities[name]
            v *= self.momentum
            v += self.grads[name]
            p -= self.lr * v
