"""The course's experiments: each module runs one, at a small budget for its notebook and at
full scale from the command line (`python -m bnlib.reproduce NAME`, see bnlib/reproduce.py).

Each module holds the experiment's settings (a frozen dataclass), the constants it quotes from
papers, the function that runs it and returns a JSON-ready dict (settings and seeds included),
a text table, and its command-line entries in COMMANDS = {name: (function(args), description)}.
Experiments build on bnlib's core (model, train, ...) and draw with bnlib.figures; the core
never imports them.

| module          | notebook | what it measures (commands)                                          |
|-----------------|----------|----------------------------------------------------------------------|
| fig1            | 06       | the paper's Fig. 1: MNIST MLP without and with BN (fig1, fig1_seeds) |
| fig1_fair       | 06       | each network at its own learning rate, chosen on a validation split  |
| sweep           | 06       | learning rate x init scale (sweep); inside both at lr 10 (large_lr)   |
| affine_ablation | 06       | BN's gamma and beta learned against frozen at 1 and 0                |
| noisy_bn        | 07       | Santurkar et al.'s noisy BN and the shift of a layer's input         |
| landscape       | 07, 08   | the loss along the gradient; a learning-rate sweep                   |
| regularization  | 08       | BN against dropout on 1,000 training images (the paper's Sec. 3.4)   |
| batch_size      | 09       | batch, layer, group or no norm across batch sizes (batchsize)        |
| eval_gap        | 10       | running averages against Algorithm 2; training vs evaluation mode    |
| fine_tuning     | 11       | fine-tuning on shifted images with frozen or updating statistics     |
| placement       | 12       | BN before or after the nonlinearity                                  |
| cnn             | 12       | a small CNN with and without BN                                      |

`common` holds what several experiments share: seeds, the data they train on, writing results.
"""
