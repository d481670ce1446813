"""Optional oracle: bnlib's batch norm against torch.nn.BatchNorm1d, in float64.

Skipped where torch is absent; it is never a dependency of the course. To run it:
    .venv/bin/pip install torch==2.13.0   # the CPU build
Tolerance: both compute in float64 with different summation orders, so agreement to
~1e-12 relative is what exact semantics look like (a wrong convention, such as the unbiased
variance or eps outside the root, shows up at 1e-2 or worse).
"""
import numpy as np
import pytest

from bnlib import BatchNorm1d, MLP, batchnorm_backward, batchnorm_backward_staged, batchnorm_forward

torch = pytest.importorskip("torch")
RTOL = 1e-12


def close(ours, theirs, rtol=RTOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_staged])
def test_forward_and_backward_match_torch(rng, backward):
    x = 2 * rng.standard_normal((16, 5)) + 3
    gamma, beta, dout = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal((16, 5))
    tx = torch.tensor(x, requires_grad=True)
    tgamma = torch.tensor(gamma, requires_grad=True)
    tbeta = torch.tensor(beta, requires_grad=True)
    tout = torch.nn.functional.batch_norm(tx, None, None, tgamma, tbeta, training=True, eps=1e-5)
    tout.backward(torch.tensor(dout))
    out, cache = batchnorm_forward(x, gamma, beta, eps=1e-5)
    close(out, tout)
    for ours, theirs in zip(backward(dout, cache), (tx.grad, tgamma.grad, tbeta.grad)):
        close(ours, theirs)


def test_layer_matches_torch_over_several_steps_and_in_eval(rng):
    ours = BatchNorm1d(4, eps=1e-5, momentum=0.1)
    theirs = torch.nn.BatchNorm1d(4, eps=1e-5, momentum=0.1).double()
    for step in range(5):
        x = rng.standard_normal((8, 4)) * (step + 1) + step
        close(ours.forward(x), theirs(torch.tensor(x)))
        close(ours.running_mean, theirs.running_mean)
        close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((1, 4))
    close(ours.forward(x), theirs(torch.tensor(x)))


def test_mlp_with_bn_gradients_match_torch(rng):
    ours = MLP((6, 5, 5, 3), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64)
    layers = []
    for k in (1, 2):
        linear = torch.nn.Linear(*ours.params[f"W{k}"].shape, bias=False).double()
        linear.weight.data = torch.tensor(ours.params[f"W{k}"].T.copy())
        layers += [linear, torch.nn.BatchNorm1d(5).double(), torch.nn.Sigmoid()]
    head = torch.nn.Linear(5, 3).double()
    head.weight.data, head.bias.data = torch.tensor(ours.params["W3"].T.copy()), torch.zeros(3).double()
    net = torch.nn.Sequential(*layers, head)
    x, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    loss = torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    assert ours.loss(x, y) == pytest.approx(loss.item(), rel=RTOL)
    close(ours.grads["W1"], layers[0].weight.grad.T)
    close(ours.grads["gamma2"], layers[4].weight.grad)
    close(ours.grads["W3"], head.weight.grad.T)
