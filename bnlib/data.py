"""MNIST, loaded offline from the .npz shipped in data/, with its checksum verified.

`load_mnist` reads and checks the file once per process and hands out the same read-only arrays
afterwards (about 1.6 s the first time, nothing after): experiments, notebooks and tests can
all call it freely. To change the images, make a copy (`x.copy()`, or arithmetic, which makes
new arrays anyway).
"""
import functools
import hashlib
from pathlib import Path

import numpy as np

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "mnist.npz"


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_mnist(path=None):
    """Load MNIST: 60,000 training and 10,000 test images (read once per process and path).

    Inputs: path to mnist.npz (None: the copy in the repository's data/ folder).
    Returns (x_train (60000, 784) float32 in [0, 1], y_train (60000,) int64,
             x_test (10000, 784) float32, y_test (10000,) int64), all read-only.
    Raises FileNotFoundError if the file is missing and ValueError if its sha256 is wrong.
    Never unpickles (np.load with allow_pickle=False).
    """
    return _load_checked(Path(path).resolve() if path is not None else DEFAULT_PATH)


@functools.lru_cache(maxsize=2)
def _load_checked(path):
    """`load_mnist` for one resolved path, cached (errors are not cached: they raise)."""
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path} (it ships with the course as "
                                "data/mnist.npz; restore it with git checkout data/mnist.npz)")
    digest = sha256_of(path)
    if digest != MNIST_SHA256:
        raise ValueError(f"MNIST file {path} is corrupt or not the expected one: sha256 {digest}, "
                         f"expected {MNIST_SHA256}")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    # one float32 array made directly from the bytes (no float copy to divide afterwards)
    images = lambda a: np.divide(a.reshape(len(a), -1), np.float32(255.0), dtype=np.float32)
    labels = lambda a: a.astype(np.int64)
    data = (images(arrays["x_train"]), labels(arrays["y_train"]),
            images(arrays["x_test"]), labels(arrays["y_test"]))
    for array in data:
        array.flags.writeable = False        # shared by every caller: nobody may change it
    return data
