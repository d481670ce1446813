"""A multi-layer perceptron with optional batch norm in each hidden layer, and SGD.

Hidden layer k computes, with act the sigmoid (or relu) and z_k the input of act:
- BN before the nonlinearity (the default, the paper's choice, Ioffe & Szegedy 2015, Sec. 3.2):
  z_k = BN_k(h_{k-1} @ W_k),       h_k = act(z_k).
  The affine bias is left out: BN subtracts the batch mean, which cancels any bias, and beta
  takes its role;
- BN after the nonlinearity:  z_k = h_{k-1} @ W_k + b_k,  h_k = BN_k(act(z_k)).
  The bias stays, since nothing cancels it;
- no BN:                      z_k = h_{k-1} @ W_k + b_k,  h_k = act(z_k).
With dropout p > 0, in training mode each h_k then goes through inverted dropout (each entry
zeroed with probability p, the rest divided by 1 - p; bnlib.layers.dropout_forward); in
evaluation mode h_k is used as it is.
The output layer is affine, followed by softmax cross-entropy.

Two things make a training step cheap without changing the maths:
- every parameter is a view into one flat array, `flat_params` (the gradients likewise into
  `flat_grads`), so SGD can update all of them with one vectorised operation;
- the arrays of a forward and backward pass live in a workspace made once per batch size and
  reused at every step (the layers' `out=` buffers), so a step allocates almost nothing.
  Hence `pre_activations` is overwritten by the next pass with the same batch size: copy it
  to keep it.
"""
import numpy as np

from .batchnorm import BatchNorm1d
from .checks import as_float_array
from .layers import (affine_backward, affine_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
                     softmax_cross_entropy)

ACTIVATIONS = {"sigmoid": (sigmoid_forward, sigmoid_backward),
               "relu": (relu_forward, relu_backward)}
BN_POSITIONS = ("before", "after")   # BN's place relative to the nonlinearity
MAX_WORKSPACES = 4   # batch sizes whose buffers are kept (training, test set, ...)


def parameter_slices(shapes):
    """Where each array lies in a flat array holding them one after the other.

    Inputs: shapes, a list of (name, shape). Returns {name: slice of the flat array}.
    """
    slices, start = {}, 0
    for name, shape in shapes:
        size = int(np.prod(shape))
        slices[name] = slice(start, start + size)
        start += size
    return slices


def _flat_arrays(shapes, dtype):
    """One zeroed flat array and a dict of named views into it, laid out in order of `shapes`.

    Inputs: shapes, a list of (name, shape). Returns (flat (total,), {name: view of shape}).
    """
    slices = parameter_slices(shapes)
    flat = np.zeros(sum(s.stop - s.start for s in slices.values()), dtype)
    return flat, {name: flat[slices[name]].reshape(shape) for name, shape in shapes}


def _check_settings(sizes, activation, dtype, bn_position, dropout=0.0):
    """Raise a clear ValueError or TypeError for an MLP setting that cannot work."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout (a drop probability) must lie in [0, 1), got {dropout!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float type such as np.float32, got {dtype!r}")
    if bn_position not in BN_POSITIONS:
        raise ValueError(f"bn_position must be one of {BN_POSITIONS} (BN before or after the "
                         f"nonlinearity), got {bn_position!r}")


class MLP:
    """Fully-connected network: sizes[0] inputs, hidden layers, sizes[-1] classes.

    Inputs:
    - sizes: layer widths, e.g. (784, 100, 100, 100, 10) as in the paper's Sec. 4.1.
    - use_bn: put a BatchNorm1d in every hidden layer, at `bn_position`.
    - activation: "sigmoid" or "relu".
    - init_std: standard deviation of the Gaussian initial weights (biases start at 0).
    - rng: a np.random.Generator, for the initial weights.
    - dtype: float32 (fast) or float64 (for gradient checks).
    - norm_layer: with use_bn, a function num_features -> layer to use instead of
      BatchNorm1d(num_features, bn_eps, bn_momentum, dtype): anything with BatchNorm1d's
      interface (gamma, beta, train(), eval(), forward(z), backward(dz) storing dgamma, dbeta),
      such as a layer norm or a noisy batch norm.
    - bn_position: with use_bn, "before" the nonlinearity (on the affine output, no hidden
      bias) or "after" it (on the nonlinearity's output; the hidden layers keep their bias).
    - dropout: drop probability p of inverted dropout on every hidden layer's output, in
      training mode (0: none); dropout_rng, a np.random.Generator for its masks.

    `params` maps names ("W1", "b1", "gamma1", "beta1", ...) to arrays, updated in place, each
    a view of `flat_params[param_slices[name]]`:
    hidden layer k has b_k unless BN sits before its nonlinearity, and gamma_k, beta_k with BN.
    After `loss(x, y)`, `grads` has the same keys, and `pre_activations[k]` holds the input
    z (N, width) of hidden layer k+1's nonlinearity.
    """

    def __init__(self, sizes, use_bn=False, activation="sigmoid", init_std=0.01, rng=None,
                 dtype=np.float32, bn_momentum=0.1, bn_eps=1e-5, norm_layer=None,
                 bn_position="before", dropout=0.0, dropout_rng=None):
        _check_settings(sizes, activation, dtype, bn_position, dropout)
        rng = np.random.default_rng(0) if rng is None else rng
        self.sizes, self.use_bn, self.activation = tuple(sizes), bool(use_bn), activation
        self.bn_position, self.dropout = bn_position, float(dropout)
        self.dropout_rng = np.random.default_rng(0) if dropout_rng is None else dropout_rng
        self._bn_before = self.use_bn and bn_position == "before"   # BN on h @ W: no hidden b
        self._bn_after = self.use_bn and bn_position == "after"     # BN on act(h @ W + b)
        self.n_hidden, self.dtype = len(sizes) - 2, np.dtype(dtype)
        make_norm = norm_layer or (lambda d: BatchNorm1d(d, bn_eps, bn_momentum, dtype))
        self.bns = [make_norm(d) for d in sizes[1:-1]] if use_bn else []
        self.param_slices = parameter_slices(self._shapes())   # name -> slice of flat_params
        self.flat_params, self.params = _flat_arrays(self._shapes(), dtype)
        self.flat_grads, self.grads = _flat_arrays(self._shapes(), dtype)
        for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{k}"][...] = init_std * rng.standard_normal((d_in, d_out))
        for k, bn in enumerate(self.bns, start=1):   # the layer works on our views of gamma, beta
            self.params[f"gamma{k}"][...], self.params[f"beta{k}"][...] = bn.gamma, bn.beta
            bn.gamma, bn.beta = self.params[f"gamma{k}"], self.params[f"beta{k}"]
        self.pre_activations, self.training = [], True
        self._workspaces, self._pass = {}, None

    def _shapes(self):
        """(name, shape) of every parameter, in the order they are stored."""
        shapes = []
        for k, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            hidden = k <= self.n_hidden
            shapes.append((f"W{k}", (d_in, d_out)))
            if not (hidden and self._bn_before):     # BN before the nonlinearity cancels b
                shapes.append((f"b{k}", (d_out,)))
            if hidden and self.use_bn:
                shapes += [(f"gamma{k}", (d_out,)), (f"beta{k}", (d_out,))]
        return shapes

    def _workspace(self, n):
        """Buffers for a pass over a batch of n rows: made once per batch size, then reused."""
        if n not in self._workspaces:
            if len(self._workspaces) >= MAX_WORKSPACES:
                self._workspaces.clear()
            widths = self.sizes[1:-1]
            buffers = lambda: [np.empty((n, d), self.dtype) for d in widths]   # (N, width)
            self._workspaces[n] = {"z": buffers(), "h": buffers(), "dh": buffers(),
                                   "dz": buffers(),
                                   "logits": np.empty((n, self.sizes[-1]), self.dtype)}
        return self._workspaces[n]

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
        return self._forward(x).copy()

    def _forward(self, x):
        """`forward`, returning the logits in the workspace (overwritten by the next pass)."""
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have {self.sizes[0]} columns, got shape {x.shape}")
        x = x.astype(self.dtype, copy=False)
        act_forward, _ = ACTIVATIONS[self.activation]
        ws, p = self._workspace(len(x)), self.params
        h, inputs, act_caches, masks, self.pre_activations = x, [x], [], [], []
        for k in range(1, self.n_hidden + 1):
            z, _ = affine_forward(h, p[f"W{k}"], p.get(f"b{k}"), out=ws["z"][k - 1])
            if self._bn_before:
                z = self.bns[k - 1].forward(z)                  # (N, width)
            h, act_cache = act_forward(z, out=ws["h"][k - 1])   # (N, width)
            if self._bn_after:
                h = self.bns[k - 1].forward(h)                  # (N, width)
            if self.training and self.dropout:
                h, mask = dropout_forward(h, self.dropout, self.dropout_rng)   # (N, width)
                masks.append(mask)
            self.pre_activations.append(z)
            inputs.append(h)
            act_caches.append(act_cache)
        k = self.n_hidden + 1
        logits, _ = affine_forward(h, p[f"W{k}"], p[f"b{k}"], out=ws["logits"])
        self._pass = (ws, inputs, act_caches, masks)
        return logits                                           # (N, classes)

    def backward(self, dlogits):
        """Fill `grads` from the gradient of the loss w.r.t. the logits (N, classes)."""
        if self._pass is None:
            raise RuntimeError("MLP.backward called before forward: call loss(x, y) or forward(x)")
        _, act_backward = ACTIVATIONS[self.activation]
        (ws, inputs, act_caches, masks), p, g = self._pass, self.params, self.grads
        k = self.n_hidden + 1
        dh, _, _ = affine_backward(dlogits, (inputs[k - 1], p[f"W{k}"]), need_dx=k > 1,
                                   out=(ws["dh"][-1] if k > 1 else None, g[f"W{k}"], g[f"b{k}"]))
        for k in range(self.n_hidden, 0, -1):
            if masks:
                dh = dropout_backward(dh, masks[k - 1])                     # (N, width)
            if self._bn_after:
                dh = self._bn_backward(k, dh)                               # (N, width)
            dz = act_backward(dh, act_caches[k - 1], out=ws["dz"][k - 1])   # (N, width)
            if self._bn_before:
                dz = self._bn_backward(k, dz)
            dh, _, _ = affine_backward(dz, (inputs[k - 1], p[f"W{k}"]), need_dx=k > 1,
                                       need_db=not self._bn_before,   # BN before: no bias
                                       out=(ws["dh"][k - 2] if k > 1 else None, g[f"W{k}"],
                                            g.get(f"b{k}")))

    def _bn_backward(self, k, dout):
        """Backward through hidden layer k's BN: stores dgamma_k, dbeta_k; returns dx (N, width)."""
        bn = self.bns[k - 1]
        dx = bn.backward(dout)
        self.grads[f"gamma{k}"][...], self.grads[f"beta{k}"][...] = bn.dgamma, bn.dbeta
        return dx

    def loss(self, x, y):
        """Mean softmax cross-entropy on (x, y); also computes `grads`. Returns the loss."""
        loss, dlogits = softmax_cross_entropy(self._forward(x), y)
        self.backward(dlogits)
        return loss

    def predict(self, x, batch_size=10000):
        """Predicted class (N,) for inputs `x`, in evaluation mode, in chunks of `batch_size`."""
        was_training = self.training
        self.eval()
        labels = np.concatenate([self._forward(x[i:i + batch_size]).argmax(axis=1)
                                 for i in range(0, len(x), batch_size)])
        if was_training:
            self.train()
        return labels


class SGD:
    """Stochastic gradient descent with momentum, updating the parameters in place.

    PyTorch's form: v <- momentum * v + grad;  p <- p - lr * v  (v starts at 0).
    Inputs: params and grads, dicts of arrays with the same keys (as an MLP has them), or two
    arrays of the same shape, such as an MLP's `flat_params` and `flat_grads` (one update
    then covers every parameter).
    """

    def __init__(self, params, grads, lr, momentum=0.0):
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        if isinstance(params, np.ndarray):
            params, grads = {"all": params}, {"all": grads}
        if params.keys() != grads.keys() or any(params[k].shape != grads[k].shape for k in params):
            raise ValueError("params and grads must have the same names and shapes")
        self.params, self.grads, self.lr, self.momentum = params, grads, lr, momentum
        self.velocities = {name: np.zeros_like(p) for name, p in params.items()}
        self._updates = {name: np.zeros_like(p) for name, p in params.items()}   # lr * v

    def step(self):
        """Apply one update with the current gradients."""
        for name, p in self.params.items():
            update = self._updates[name]
            if self.momentum:
                v = self.velocities[name]
                v *= self.momentum
                v += self.grads[name]
                np.multiply(v, self.lr, out=update)
            else:                                   # v = grad: skip the velocity
                np.multiply(self.grads[name], self.lr, out=update)
            p -= update
