"""Figure code, one module per notebook topic, kept out of the teaching cells.

Every plot function draws on a new figure and returns (fig, ax) or (fig, axes); none calls
show(). Figures import bnlib's core only, never the experiments: an experiment passes its
results (and the paper's numbers it quotes) in.

| module       | notebooks |
|--------------|-----------|
| chain_rule   | 01, A1    |
| forward      | 02        |
| backward     | 03        |
| saturation   | 04 (the slider panel too) |
| training     | 06        |
| why_bn       | 07, 08    |
| batch_size   | 09        |
| train_eval   | 10, 11    |
| convolutions | 12        |
| common       | saving a figure as PNG |
"""
