"""Optional oracle: layer norm, group norm, spatial batch norm and BN folding against PyTorch.

Skipped where torch is absent; it is never a dependency of the course (see
tests/test_batchnorm_torch.py for how to install the CPU build). Both sides compute in float64
with different summation orders, so ~1e-12 relative is what identical semantics look like.
"""
import numpy as np
import pytest

from bnlib import (BatchNorm1d, fold_batchnorm, fold_mlp, frozen_batchnorm_backward,
                   frozen_batchnorm_forward, groupnorm_backward, groupnorm_forward,
                   layernorm_backward, layernorm_forward, spatial_batchnorm_backward,
                   spatial_batchnorm_forward)
from helpers import trained_mlp

torch = pytest.importorskip("torch")
F = torch.nn.functional
RTOL = 1e-12


def close(ours, theirs, rtol=RTOL):
    theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


def run_both(ours_forward, ours_backward, torch_forward, x, gamma, beta, dout):
    """Forward and backward on both sides; assert output and the three gradients agree."""
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    tout = torch_forward(*tensors)
    tout.backward(torch.tensor(dout))
    out, cache = ours_forward(x, gamma, beta)
    close(out, tout)
    for ours, tensor in zip(ours_backward(dout, cache), tensors):
        close(ours, tensor.grad)


def random_problem(rng, shape):
    c = shape[1]
    return (3 * rng.standard_normal(shape) + 2, rng.standard_normal(c) + 1,
            rng.standard_normal(c), rng.standard_normal(shape))


def test_layernorm_matches_torch(rng):
    x, gamma, beta, dout = random_problem(rng, (7, 9))
    run_both(lambda x, g, b: layernorm_forward(x, g, b, eps=1e-5), layernorm_backward,
             lambda x, g, b: F.layer_norm(x, (9,), g, b, eps=1e-5), x, gamma, beta, dout)


@pytest.mark.parametrize("num_groups", [1, 3, 6])
def test_groupnorm_matches_torch(rng, num_groups):
    x, gamma, beta, dout = random_problem(rng, (3, 6, 5, 4))
    run_both(lambda x, g, b: groupnorm_forward(x, g, b, num_groups, eps=1e-5), groupnorm_backward,
             lambda x, g, b: F.group_norm(x, num_groups, g, b, eps=1e-5), x, gamma, beta, dout)


def test_spatial_batchnorm_matches_torch_batch_norm_on_4d(rng):
    x, gamma, beta, dout = random_problem(rng, (4, 3, 5, 2))
    run_both(lambda x, g, b: spatial_batchnorm_forward(x, g, b, eps=1e-5),
             spatial_batchnorm_backward,
             lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
             x, gamma, beta, dout)


def test_fold_batchnorm_matches_torch_fusion(rng):
    from torch.nn.utils.fusion import fuse_linear_bn_weights
    bn = BatchNorm1d(4)
    for _ in range(3):
        bn.forward(2 * rng.standard_normal((8, 4)) + 1)
    bn.gamma[:], bn.beta[:] = rng.standard_normal(4), rng.standard_normal(4)
    W, b = rng.standard_normal((6, 4)), rng.standard_normal(4)
    W_folded, b_folded = fold_batchnorm(W, b, bn.eval())
    # torch stores a Linear's weight as (out, in): the transpose of our W
    t = [torch.tensor(a) for a in (W.T, b, bn.running_mean, bn.running_var, bn.gamma, bn.beta)]
    t_weight, t_bias = fuse_linear_bn_weights(t[0], t[1], t[2], t[3], bn.eps, t[4], t[5])
    close(W_folded, t_weight.T)
    close(b_folded, t_bias)


def test_frozen_batchnorm_and_folding_match_torch(rng):
    """Optional oracle (skipped without torch): evaluation-mode BN with gradients, and
    torch.nn.utils.fuse_linear_bn_eval, in float64."""
    torch = pytest.importorskip("torch")
    x, gamma, beta = rng.standard_normal((5, 4)) * 2 + 1, rng.standard_normal(4) + 1, rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    dout = rng.standard_normal(x.shape)
    tx, tgamma, tbeta = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tout = torch.nn.functional.batch_norm(tx, torch.tensor(mean), torch.tensor(var), tgamma,
                                          tbeta, training=False, eps=1e-5)
    tout.backward(torch.tensor(dout))
    out, cache = frozen_batchnorm_forward(x, gamma, beta, mean, var)
    # both float64, different orders of operations: rounding only
    for ours, theirs in zip((out, *frozen_batchnorm_backward(dout, cache)),
                            (tout, tx.grad, tgamma.grad, tbeta.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    model = trained_mlp(rng).eval()
    folded = fold_mlp(model)
    linear = torch.nn.Linear(6, 5, bias=False).double().eval()
    bn = torch.nn.BatchNorm1d(5, eps=model.bns[0].eps).double().eval()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(model.params["W1"].T))
        bn.weight.copy_(torch.tensor(model.params["gamma1"]))
        bn.bias.copy_(torch.tensor(model.params["beta1"]))
        bn.running_mean.copy_(torch.tensor(model.bns[0].running_mean))
        bn.running_var.copy_(torch.tensor(model.bns[0].running_var))
    fused = torch.nn.utils.fuse_linear_bn_eval(linear, bn)
    np.testing.assert_allclose(folded.params["W1"], fused.weight.detach().numpy().T, rtol=1e-12)
    np.testing.assert_allclose(folded.params["b1"], fused.bias.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
