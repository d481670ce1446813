"""bnlib: a small, exact numpy library behind the Batch Normalization course.

Modules, one idea each: `layers` (affine, sigmoid, relu, softmax cross-entropy),
`batchnorm` (Algorithms 1 and 2 of Ioffe & Szegedy 2015), `gradcheck` (central differences),
`data` (MNIST, offline), `model` (MLP and SGD), `train` (the training loop).
Nothing runs at import time.
"""
from .batchnorm import (BatchNorm1d, BatchNormCache, batch_statistics, batchnorm_backward,
                        batchnorm_backward_staged, batchnorm_eval_forward, batchnorm_forward)
from .data import load_mnist
from .gradcheck import numerical_gradient, rel_error
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward, sigmoid,
                     sigmoid_backward, sigmoid_forward, softmax_cross_entropy)
from .model import MLP, SGD
from .train import evaluate, minibatches, train

__all__ = [
    "BatchNorm1d", "BatchNormCache", "batch_statistics", "batchnorm_backward",
    "batchnorm_backward_staged", "batchnorm_eval_forward", "batchnorm_forward",
    "load_mnist", "numerical_gradient", "rel_error",
    "affine_backward", "affine_forward", "relu_backward", "relu_forward", "sigmoid",
    "sigmoid_backward", "sigmoid_forward", "softmax_cross_entropy",
    "MLP", "SGD", "evaluate", "minibatches", "train",
]
