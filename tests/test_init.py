"""Tests for bnlib/__init__.py: importing bnlib stays light, and every exported name exists."""
import subprocess
import sys

import pytest

import bnlib


@pytest.mark.parametrize("heavy", ["matplotlib", "ipywidgets", "torch", "bnlib.experiments",
                                   "bnlib.figures"])
def test_import_bnlib_does_not_import(heavy):
    """Figures and widgets import matplotlib / ipywidgets inside the functions that draw, and the
    experiments are looked up on first use; torch is only an optional test oracle. A fresh
    interpreter, since this one may have them loaded."""
    code = f"import sys, bnlib; print({heavy!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False", f"import bnlib imported {heavy}"


def test_every_exported_name_exists():
    missing = [name for name in bnlib.__all__ if not hasattr(bnlib, name)]
    assert not missing and len(set(bnlib.__all__)) == len(bnlib.__all__)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'plots'"):
        bnlib.plots
