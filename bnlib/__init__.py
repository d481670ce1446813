"""bnlib: a small, exact numpy library behind the Batch Normalization course.

Three layers, in three places:
- the core, which a learner reads (this folder): `layers` (affine, sigmoid, relu, dropout, softmax
  cross-entropy), `batchnorm` (Algorithms 1 and 2 of Ioffe & Szegedy 2015; its speed helpers in
  `columns`), `layernorm`, `groupnorm`, `spatial` (BN for convolutions), `variants` (frozen and
  noisy BN), `inference` (population statistics, folding), `model` (MLP and SGD), `train` (one
  step, the loop, the divergence error), `data` (MNIST, offline), `gradcheck`, `checks`,
  `saturation` (notebook 04's maths), `conv` (a convolution layer and a small convolutional
  network), `threads`, and `exercises` (the notebooks' checks);
- `bnlib.experiments`: one module per experiment, run by `python -m bnlib.reproduce NAME`;
- `bnlib.figures`: the figures, one module per notebook topic.
The core imports neither experiments nor figures. The names below are the core's; the few
experiment and figure functions the notebooks call by their short name are looked up on first
use (so `import bnlib` loads neither matplotlib nor ipywidgets).

Importing bnlib limits BLAS to one thread (bnlib/threads.py says why and how to opt out).
"""
import importlib

from .batchnorm import (BatchNorm1d, BatchNormCache, NormLayer, batch_statistics,
                        batchnorm_backward, batchnorm_backward_staged, batchnorm_eval_forward,
                        batchnorm_forward)
from .checks import NonFiniteError
from .conv import ConvNet, col2im, conv_backward, conv_forward, im2col
from .data import load_mnist
from .gradcheck import numerical_gradient, rel_error
from .groupnorm import GroupNorm1d, GroupNormCache, groupnorm_backward, groupnorm_forward
from .inference import (batch_mode_predictions, bn_statistics, class_batches, clone_mlp,
                        fold_batchnorm, fold_mlp, load_bn_statistics,
                        recompute_population_statistics, shuffled_batches)
from .layernorm import LayerNorm1d, LayerNormCache, layernorm_backward, layernorm_forward
from .layers import (affine_backward, affine_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, sigmoid, sigmoid_backward, sigmoid_forward,
                     softmax_cross_entropy)
from .model import MLP, SGD
from .saturation import (SATURATION_THRESHOLD, SliderParams, deep_signal, saturation_demo_data,
                         saturation_stats, sigmoid_inputs, sigmoid_local_gradient)
from .spatial import (SpatialBatchNorm2d, SpatialBatchNormCache, conv2d_forward,
                      spatial_batchnorm_backward, spatial_batchnorm_forward)
from .threads import limit_blas_threads
from .train import TrainingDiverged, evaluate, minibatches, train, train_step
from .variants import (FrozenBatchNorm1d, NoisyBatchNorm1d, freeze_batchnorm,
                       frozen_batchnorm_backward, frozen_batchnorm_forward, noisy_norm_layer)

limit_blas_threads()

# Experiment and figure functions reachable as bnlib.NAME, imported when first used.
_ELSEWHERE = {
    "bnlib.experiments.batch_size": ("BatchSizeConfig", "batch_size_sweep", "batch_size_table",
                                     "gradient_norms", "normalized_in_both_modes",
                                     "train_at_batch_size", "wu_he_table"),
    "bnlib.experiments.eval_gap": ("EvalGapConfig", "run_eval_gap"),
    "bnlib.experiments.fine_tuning": ("run_fine_tuning",),
    "bnlib.experiments.landscape": ("compare_landscapes", "landscape_during_training",
                                    "landscape_summary", "landscape_table",
                                    "learning_rate_sweep", "loss_along_gradient", "sweep_table"),
    "bnlib.experiments.noisy_bn": ("distribution_shift", "noisy_table", "run_noisy_comparison",
                                   "sigmoid_input_moments"),
    "bnlib.experiments.placement": ("compare_placements", "placement_mlp", "placement_table",
                                    "run_placement"),
    "bnlib.figures.saturation": ("render_saturation", "saturation_widget"),
}
_HOME = {name: module for module, names in _ELSEWHERE.items() for name in names}


def __getattr__(name):
    """Look up an experiment or figure function on first use (PEP 562)."""
    if name not in _HOME:
        raise AttributeError(f"module 'bnlib' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


__all__ = [
    "BatchNorm1d", "BatchNormCache", "NormLayer", "batch_statistics", "batchnorm_backward",
    "batchnorm_backward_staged", "batchnorm_eval_forward", "batchnorm_forward",
    "NonFiniteError", "ConvNet", "col2im", "conv_backward", "conv_forward", "im2col",
    "load_mnist", "numerical_gradient", "rel_error",
    "GroupNorm1d", "GroupNormCache", "groupnorm_backward", "groupnorm_forward",
    "batch_mode_predictions", "bn_statistics", "class_batches", "clone_mlp", "fold_batchnorm",
    "fold_mlp", "load_bn_statistics", "recompute_population_statistics", "shuffled_batches",
    "LayerNorm1d", "LayerNormCache", "layernorm_backward", "layernorm_forward",
    "affine_backward", "affine_forward", "dropout_backward", "dropout_forward",
    "relu_backward", "relu_forward", "sigmoid", "sigmoid_backward", "sigmoid_forward",
    "softmax_cross_entropy", "MLP", "SGD",
    "SATURATION_THRESHOLD", "SliderParams", "deep_signal", "saturation_demo_data",
    "saturation_stats", "sigmoid_inputs", "sigmoid_local_gradient",
    "SpatialBatchNorm2d", "SpatialBatchNormCache", "conv2d_forward", "spatial_batchnorm_backward",
    "spatial_batchnorm_forward", "limit_blas_threads",
    "TrainingDiverged", "evaluate", "minibatches", "train", "train_step",
    "FrozenBatchNorm1d", "NoisyBatchNorm1d", "freeze_batchnorm", "frozen_batchnorm_backward",
    "frozen_batchnorm_forward", "noisy_norm_layer", *_HOME,
]
