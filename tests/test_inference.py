"""Tests for bnlib/inference.py: folding BN into an affine layer, Algorithm 2's statistics,
reading and writing BN statistics, batch-mode predictions, copying and folding an MLP."""
import numpy as np
import pytest

from bnlib import (MLP, BatchNorm1d, FrozenBatchNorm1d, batch_mode_predictions,
                   batchnorm_forward, bn_statistics, class_batches, clone_mlp, fold_batchnorm,
                   fold_mlp, freeze_batchnorm, load_bn_statistics,
                   recompute_population_statistics, shuffled_batches, sigmoid)
from helpers import trained_mlp

# Folding only reorders a few float64 multiplications and additions of O(1) numbers, so the
# two sides agree to a few units in the last place: 1e-12 relative is a strict but safe bar.
RTOL = 1e-12


def trained_bn(rng, d=4):
    """A BatchNorm1d with non-trivial gamma, beta and running statistics, in eval mode."""
    bn = BatchNorm1d(d)
    for _ in range(5):
        bn.forward(2 * rng.standard_normal((8, d)) + 3)
    bn.gamma[:] = rng.standard_normal(d) + 1
    bn.beta[:] = rng.standard_normal(d)
    return bn.eval()


@pytest.mark.parametrize("with_bias", [True, False])
def test_folded_layer_equals_affine_then_bn(rng, with_bias):
    bn = trained_bn(rng)
    W, x = rng.standard_normal((6, 4)), rng.standard_normal((10, 6))
    b = rng.standard_normal(4) if with_bias else None
    W_folded, b_folded = fold_batchnorm(W, b, bn)
    expected = bn.forward(x @ W + (b if with_bias else 0))
    np.testing.assert_allclose(x @ W_folded + b_folded, expected, rtol=RTOL, atol=RTOL)
    assert W_folded.shape == W.shape and b_folded.shape == (4,)


def test_folding_a_whole_mlp_keeps_its_predictions(rng):
    model = MLP((5, 4, 3, 2), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((40, 5)), rng.integers(0, 2, 40)
    for start in range(0, 40, 8):               # a few training forwards move the statistics
        model.loss(x[start:start + 8], y[start:start + 8])
    model.eval()
    h = x
    for k, bn in enumerate(model.bns, start=1):
        W_folded, b_folded = fold_batchnorm(model.params[f"W{k}"], None, bn)
        h = sigmoid(h @ W_folded + b_folded)
    logits = h @ model.params["W3"] + model.params["b3"]
    np.testing.assert_allclose(logits, model.forward(x), rtol=RTOL, atol=RTOL)


def test_fold_refuses_training_mode_and_bad_shapes(rng):
    bn = trained_bn(rng)
    W = rng.standard_normal((6, 4))
    with pytest.raises(RuntimeError, match="evaluation mode"):
        fold_batchnorm(W, None, bn.train())
    bn.eval()
    with pytest.raises(TypeError, match="BatchNorm1d"):
        fold_batchnorm(W, None, "not a layer")
    with pytest.raises(ValueError, match="W must have shape"):
        fold_batchnorm(rng.standard_normal((6, 3)), None, bn)
    with pytest.raises(ValueError, match="b must have shape"):
        fold_batchnorm(W, np.zeros(3), bn)
    with pytest.raises(TypeError, match="real numbers"):
        fold_batchnorm(np.full((6, 4), "w"), None, bn)


def algorithm_2_by_hand(model, x, batch_size):
    """Population statistics of both BN layers of a 2-hidden-layer sigmoid MLP, step by step."""
    p, sums = model.params, [[0, 0], [0, 0]]
    batches = x.reshape(-1, batch_size, x.shape[1])
    for batch in batches:
        h = batch
        for k in (1, 2):
            out, cache = batchnorm_forward(h @ p[f"W{k}"], p[f"gamma{k}"], p[f"beta{k}"])
            sums[k - 1][0] += cache.mean
            sums[k - 1][1] += cache.var * batch_size / (batch_size - 1)   # m / (m - 1)
            h = sigmoid(out)
    return [(m / len(batches), v / len(batches)) for m, v in sums]


def test_population_statistics_follow_algorithm_2(rng):
    model = MLP((5, 4, 3, 2), use_bn=True, init_std=0.5, rng=rng, dtype=np.float64)
    model.params["gamma1"][:] = [0.5, 1.0, 2.0, 1.5]      # so layer 2 sees non-trivial input
    model.params["beta1"][:] = [0.0, 1.0, -1.0, 0.5]
    x = 2 * rng.standard_normal((42, 5)) + 1
    model.bns[0].momentum = 0.3
    recompute_population_statistics(model, x, batch_size=6)
    assert not model.training and model.bns[0].momentum == 0.3      # eval, momentum restored
    for bn, (mean, var) in zip(model.bns, algorithm_2_by_hand(model, x, 6)):
        np.testing.assert_allclose(bn.running_mean, mean, rtol=RTOL)
        np.testing.assert_allclose(bn.running_var, var, rtol=RTOL)
    # the first layer's batches partition the data, so the mean is the plain data mean
    np.testing.assert_allclose(model.bns[0].running_mean, (x @ model.params["W1"]).mean(axis=0),
                               rtol=RTOL)


def test_population_statistics_drop_the_last_batch_and_can_shuffle(rng):
    model = MLP((3, 2, 2), use_bn=True, rng=rng, dtype=np.float64)
    x = rng.standard_normal((11, 3))
    recompute_population_statistics(model, x, batch_size=5)          # uses rows 0..9 only
    in_order = model.bns[0].running_mean.copy()
    recompute_population_statistics(model, x[:10], batch_size=5)
    np.testing.assert_allclose(model.bns[0].running_mean, in_order, rtol=RTOL)
    order = np.random.default_rng(7).permutation(11)
    recompute_population_statistics(model, x, batch_size=5, rng=np.random.default_rng(7))
    expected = (x[order[:10]] @ model.params["W1"]).mean(axis=0)
    np.testing.assert_allclose(model.bns[0].running_mean, expected, rtol=RTOL)


@pytest.mark.parametrize("n, batch_size, words", [(10, 1, ">= 2"), (10, 2.5, ">= 2"),
                                                  (3, 5, "fewer than one batch")])
def test_population_statistics_reject_bad_batches(rng, n, batch_size, words):
    model = MLP((3, 2, 2), use_bn=True, rng=rng, dtype=np.float64)
    with pytest.raises(ValueError, match=words):
        recompute_population_statistics(model, rng.standard_normal((n, 3)), batch_size)


def test_population_statistics_need_a_model_with_bn(rng):
    with pytest.raises(ValueError, match="no batch-norm layers"):
        recompute_population_statistics(MLP((3, 2, 2), use_bn=False, rng=rng),
                                        rng.standard_normal((10, 3)))


def test_bn_statistics_round_trip_and_shape_check(rng):
    model = trained_mlp(rng)
    saved = bn_statistics(model)
    model.bns[0].running_mean[:] = 99.0
    load_bn_statistics(model, saved)
    np.testing.assert_array_equal(model.bns[0].running_mean, saved[0][0])
    with pytest.raises(ValueError, match="the model has 2"):
        load_bn_statistics(model, saved[:1])
    with pytest.raises(ValueError, match="running mean must have shape"):
        load_bn_statistics(model, [(np.zeros(3), np.ones(5)), saved[1]])


def test_shuffled_batches_cover_every_index_once(rng):
    batches = shuffled_batches(103, 10, rng)
    assert len(batches) == 11
    assert sorted(np.concatenate(batches)) == list(range(103))
    assert {len(b) for b in batches} <= {9, 10}


def test_class_batches_hold_one_class_each(rng):
    y = rng.integers(0, 4, 250)
    batches = class_batches(y, 20)
    assert sorted(np.concatenate(batches)) == list(range(250))
    assert all(len(set(y[b])) == 1 for b in batches)
    assert max(len(b) for b in batches) <= 20


def test_batch_mode_predictions_use_batch_statistics_and_restore_the_model(rng):
    model = trained_mlp(rng).eval()
    saved = bn_statistics(model)
    x = rng.standard_normal((30, 6))
    batches = shuffled_batches(30, 10, rng)
    labels = batch_mode_predictions(model, x, batches)
    assert not model.training
    for (mean, var), (saved_mean, saved_var) in zip(bn_statistics(model), saved):
        np.testing.assert_array_equal(mean, saved_mean)
        np.testing.assert_array_equal(var, saved_var)
    model.train()
    for idx in batches:                                   # the same, by hand
        np.testing.assert_array_equal(labels[idx], model.forward(x[idx]).argmax(axis=1))
    assert model.training


def test_batch_mode_predictions_reject_bad_batches(rng):
    model = trained_mlp(rng)
    x = rng.standard_normal((10, 6))
    with pytest.raises(ValueError, match="exactly once"):
        batch_mode_predictions(model, x, [np.arange(5)])
    with pytest.raises(ValueError, match="batch of 1"):  # training mode cannot take one image
        batch_mode_predictions(model, x, [np.arange(9), np.array([9])])
    assert model.training


def test_clone_is_independent_and_equal(rng):
    model = trained_mlp(rng).eval()
    copy = clone_mlp(model)
    x = rng.standard_normal((5, 6))
    np.testing.assert_array_equal(copy.forward(x), model.forward(x))
    assert not copy.training and copy.bns[0].momentum == model.bns[0].momentum
    copy.params["W1"] += 1.0
    copy.bns[0].running_mean += 1.0
    assert not np.allclose(copy.forward(x), model.forward(x))
    frozen = clone_mlp(freeze_batchnorm(clone_mlp(model)))
    assert all(isinstance(bn, FrozenBatchNorm1d) for bn in frozen.bns)


def test_fold_mlp_gives_the_same_logits(rng):
    model = trained_mlp(rng).eval()
    folded = fold_mlp(model)
    x = rng.standard_normal((20, 6))
    # float64; folding reorders a few multiplications and additions: rounding only
    np.testing.assert_allclose(folded.forward(x), model.forward(x), rtol=1e-12, atol=1e-12)
    assert not folded.use_bn and set(folded.params) == {"W1", "b1", "W2", "b2", "W3", "b3"}


def test_fold_mlp_refuses_training_mode_and_plain_networks(rng):
    with pytest.raises(RuntimeError, match="evaluation mode"):
        fold_mlp(trained_mlp(rng))
    with pytest.raises(ValueError, match="no BN"):
        fold_mlp(MLP((4, 3, 2)).eval())
    with pytest.raises(ValueError, match="before the nonlinearity"):
        fold_mlp(MLP((4, 3, 2), use_bn=True, bn_position="after").eval())


def test_clone_keeps_bn_after_the_nonlinearity_and_refuses_other_norms(rng):
    model = MLP((4, 3, 2), use_bn=True, bn_position="after", rng=rng, dtype=np.float64)
    x = rng.standard_normal((6, 4))
    model.loss(x, rng.integers(0, 2, 6))
    copy = clone_mlp(model.eval())
    assert copy.bn_position == "after"
    np.testing.assert_array_equal(copy.forward(x), model.forward(x))
    other = MLP((4, 3, 2), use_bn=True, norm_layer=lambda d: type("Norm", (), {
        "gamma": np.ones(d), "beta": np.zeros(d)})())
    with pytest.raises(TypeError, match="BatchNorm1d"):
        clone_mlp(other)
