"""Tests for bnlib/threads.py: importing bnlib leaves BLAS with one thread, unless told not to."""
import subprocess
import sys

import pytest

from bnlib.threads import blas_threads_wanted


def blas_threads_after_import(env_value=None):
    """The BLAS thread count a fresh interpreter reports after `import bnlib`."""
    code = ("import bnlib\nfrom threadpoolctl import threadpool_info\n"
            "print(max(p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'))")
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2"}   # as a learner's kernel may be
    if env_value is not None:
        env["BNLIB_BLAS_THREADS"] = env_value
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env)
    return int(done.stdout)


def test_import_bnlib_sets_one_blas_thread():
    assert blas_threads_after_import() == 1


def test_the_setting_can_be_kept_or_changed():
    assert blas_threads_after_import("keep") == 2
    assert blas_threads_after_import("2") == 2


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_setting_is_a_clear_error(value):
    with pytest.raises(ValueError, match="BNLIB_BLAS_THREADS"):
        blas_threads_wanted({"BNLIB_BLAS_THREADS": value})
