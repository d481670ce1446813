"""Figure code for the notebooks and pictures/, kept out of the teaching cells.

Every function draws on a new figure and returns (fig, ax) or (fig, axes); none calls show().
"""
import matplotlib.pyplot as plt
import numpy as np
