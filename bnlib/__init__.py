"""bnlib: a small, exact numpy library behind the Batch Normalization course.

Modules, one idea each: `layers` (affine, sigmoid, relu, softmax cross-entropy),
`batchnorm` (Algorithms 1 and 2 of Ioffe & Szegedy 2015), `gradcheck` (central differences),
`data` (MNIST, offline), `model` (MLP and SGD), `train` (the training loop).
BN's relatives and extensions: `layernorm`, `groupnorm`, `spatial` (BN for convolutions),
`inference` (Algorithm 2's statistics, folding BN into a layer), `placement` (BN before or
after the nonlinearity, measured), `eval_gap` (training against evaluation mode, measured),
`batch_size` (batch, layer and group norm across batch sizes, measured).
Why BN works (Santurkar et al. 2018): `noisy_bn` (noisy BN, input-distribution shift),
`landscape` (the loss landscape along the gradient, learning-rate sweep).
Nothing runs at import time.
"""
from .batch_size import (BatchSizeConfig, batch_size_sweep, batch_size_table, gradient_norms,
                         normalized_in_both_modes, train_at_batch_size, wu_he_table)
from .batchnorm import (BatchNorm1d, BatchNormCache, NormLayer, batch_statistics,
                        batchnorm_backward, batchnorm_backward_staged, batchnorm_eval_forward,
                        batchnorm_forward)
from .data import load_mnist
from .eval_gap import (EvalGapConfig, FrozenBatchNorm1d, batch_mode_predictions, class_batches,
                       clone_mlp, fold_mlp, freeze_batchnorm, frozen_batchnorm_backward,
                       frozen_batchnorm_forward, run_eval_gap, run_fine_tuning, shuffled_batches)
from .gradcheck import numerical_gradient, rel_error
from .groupnorm import GroupNorm1d, GroupNormCache, groupnorm_backward, groupnorm_forward
from .inference import fold_batchnorm, recompute_population_statistics
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward, sigmoid,
                     sigmoid_backward, sigmoid_forward, softmax_cross_entropy)
from .landscape import (compare_landscapes, landscape_during_training, landscape_summary,
                        landscape_table, learning_rate_sweep, loss_along_gradient, sweep_table)
from .layernorm import LayerNorm1d, LayerNormCache, layernorm_backward, layernorm_forward
from .model import MLP, SGD
from .noisy_bn import (NoisyBatchNorm1d, distribution_shift, noisy_norm_layer, noisy_table,
                       run_noisy_comparison, sigmoid_input_moments)
from .placement import compare_placements, placement_mlp, placement_table, run_placement
from .spatial import (SpatialBatchNormCache, conv2d_forward, spatial_batchnorm_backward,
                      spatial_batchnorm_forward)
from .train import evaluate, minibatches, train
from .widgets import (SATURATION_THRESHOLD, SliderParams, deep_signal, render_saturation,
                      saturation_demo_data, saturation_stats, saturation_widget, sigmoid_inputs,
                      sigmoid_local_gradient)

__all__ = [
    "BatchNorm1d", "BatchNormCache", "NormLayer", "batch_statistics", "batchnorm_backward",
    "batchnorm_backward_staged", "batchnorm_eval_forward", "batchnorm_forward",
    "load_mnist", "numerical_gradient", "rel_error",
    "EvalGapConfig", "FrozenBatchNorm1d", "batch_mode_predictions", "class_batches", "clone_mlp",
    "fold_mlp", "freeze_batchnorm", "frozen_batchnorm_backward", "frozen_batchnorm_forward",
    "run_eval_gap", "run_fine_tuning", "shuffled_batches",
    "affine_backward", "affine_forward", "relu_backward", "relu_forward", "sigmoid",
    "sigmoid_backward", "sigmoid_forward", "softmax_cross_entropy",
    "MLP", "SGD", "evaluate", "minibatches", "train",
    "GroupNorm1d", "GroupNormCache", "groupnorm_backward", "groupnorm_forward",
    "fold_batchnorm", "recompute_population_statistics",
    "LayerNorm1d", "LayerNormCache", "layernorm_backward", "layernorm_forward",
    "SpatialBatchNormCache", "conv2d_forward", "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "compare_placements", "placement_mlp", "placement_table", "run_placement",
    "SATURATION_THRESHOLD", "SliderParams", "deep_signal", "render_saturation",
    "saturation_demo_data", "saturation_stats", "saturation_widget", "sigmoid_inputs",
    "sigmoid_local_gradient",
    "NoisyBatchNorm1d", "distribution_shift", "noisy_norm_layer", "noisy_table",
    "run_noisy_comparison", "sigmoid_input_moments",
    "compare_landscapes", "landscape_during_training", "landscape_summary", "landscape_table",
    "learning_rate_sweep", "loss_along_gradient", "sweep_table",
    "BatchSizeConfig", "batch_size_sweep", "batch_size_table", "gradient_norms",
    "normalized_in_both_modes", "train_at_batch_size", "wu_he_table",
]
