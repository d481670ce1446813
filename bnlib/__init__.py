"""bnlib: a small, exact numpy library behind the Batch Normalization course.

Modules, one idea each: `layers` (affine, sigmoid, relu, softmax cross-entropy),
`batchnorm` (Algorithms 1 and 2 of Ioffe & Szegedy 2015), `gradcheck` (central differences),
`data` (MNIST, offline), `model` (MLP and SGD), `train` (the training loop).
BN's relatives and extensions: `layernorm`, `groupnorm`, `spatial` (BN for convolutions),
`inference` (Algorithm 2's statistics, folding BN into a layer), `placement` (BN before or
after the nonlinearity, measured).
Nothing runs at import time.
"""
from .batchnorm import (BatchNorm1d, BatchNormCache, batch_statistics, batchnorm_backward,
                        batchnorm_backward_staged, batchnorm_eval_forward, batchnorm_forward)
from .data import load_mnist
from .gradcheck import numerical_gradient, rel_error
from .groupnorm import GroupNormCache, groupnorm_backward, groupnorm_forward
from .inference import fold_batchnorm, recompute_population_statistics
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward, sigmoid,
                     sigmoid_backward, sigmoid_forward, softmax_cross_entropy)
from .layernorm import LayerNormCache, layernorm_backward, layernorm_forward
from .model import MLP, SGD
from .placement import PlacementMLP, compare_placements, placement_table, run_placement
from .spatial import (SpatialBatchNormCache, conv2d_forward, spatial_batchnorm_backward,
                      spatial_batchnorm_forward)
from .train import evaluate, minibatches, train
from .widgets import (SATURATION_THRESHOLD, SliderParams, deep_signal, render_saturation,
                      saturation_demo_data, saturation_stats, saturation_widget, sigmoid_inputs,
                      sigmoid_local_gradient)

__all__ = [
    "BatchNorm1d", "BatchNormCache", "batch_statistics", "batchnorm_backward",
    "batchnorm_backward_staged", "batchnorm_eval_forward", "batchnorm_forward",
    "load_mnist", "numerical_gradient", "rel_error",
    "affine_backward", "affine_forward", "relu_backward", "relu_forward", "sigmoid",
    "sigmoid_backward", "sigmoid_forward", "softmax_cross_entropy",
    "MLP", "SGD", "evaluate", "minibatches", "train",
    "GroupNormCache", "groupnorm_backward", "groupnorm_forward",
    "fold_batchnorm", "recompute_population_statistics",
    "LayerNormCache", "layernorm_backward", "layernorm_forward",
    "SpatialBatchNormCache", "conv2d_forward", "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "PlacementMLP", "compare_placements", "placement_table", "run_placement",
    "SATURATION_THRESHOLD", "SliderParams", "deep_signal", "render_saturation",
    "saturation_demo_data", "saturation_stats", "saturation_widget", "sigmoid_inputs",
    "sigmoid_local_gradient",
]
