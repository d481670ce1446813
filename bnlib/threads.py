"""One BLAS thread: the right setting for the course's small matrices.

Every product the course computes is small: one training step of the MNIST network multiplies
(60, 784) by (784, 100) and a few (60, 100) by (100, 100). Split over two threads, such a
product spends more time handing work between the threads than computing, and when another
program keeps a core busy, the threads wait for each other. Measured on the 2-core machine the
course is developed on (numpy 2.4 with OpenBLAS 0.3.31, another program using about one core):
a training step took 0.8-1.1 ms with one BLAS thread and 4.7-7.9 ms with two; notebook 12's
placement comparison took 12 s with one thread and 78-133 s with two.

So `import bnlib` limits BLAS to one thread in the whole process (a notebook's kernel, a test,
a command), with threadpoolctl, whichever way the kernel was started. This is the one thing
bnlib does when imported. To keep your own setting, set the environment variable
BNLIB_BLAS_THREADS to the number of threads you want, or to "keep" to leave BLAS alone.
"""
import os

from threadpoolctl import threadpool_limits

ENVIRONMENT_VARIABLE = "BNLIB_BLAS_THREADS"


def blas_threads_wanted(environ=os.environ):
    """The number of BLAS threads bnlib sets: 1, or what BNLIB_BLAS_THREADS says (None: "keep").

    Raises ValueError for a setting that is neither "keep" nor a whole number >= 1.
    """
    setting = environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower()
    if setting == "keep":
        return None
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be a whole number >= 1 or 'keep', "
                         f"got {setting!r}")
    return int(setting)


def limit_blas_threads(environ=os.environ):
    """Limit BLAS (OpenBLAS, MKL, ...) to `blas_threads_wanted()` threads in this process.

    Returns the number of threads set, or None when told to keep the current setting.
    """
    threads = blas_threads_wanted(environ)
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")
    return threads
