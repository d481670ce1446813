"""Start JupyterLab for the course: what `make lab` runs (on Windows: .venv\\Scripts\\python -m tools.lab).

Usage, from the repository root: python -m tools.lab [more JupyterLab options, e.g. --no-browser]

This is the one place the course's JupyterLab command line is built; tests/test_browser.py
starts its server with `lab_command()` too. The server
- serves the whole repository (root_dir), so the notebooks' ../pictures/ links load and the
  file browser shows pictures/, bnlib/ and data/ beside notebooks/;
- opens at notebook 01 (default_url), the address it prints;
- listens on 127.0.0.1 only;
- makes up a fresh token each start and prints the whole address with it, e.g.
  http://127.0.0.1:8888/lab/tree/notebooks/01_chain_rule.ipynb?token=3f9c... (a token given
  on the command line would be printed as "..."); port 8888, or the next free one;
- is told --allow-root only when run as root (Jupyter refuses root otherwise; containers and
  CI machines often are root).
News, update checks and PyPI queries are off through the settings that jupyter-config/
installs into the environment, so a plain `jupyter lab` gets them too.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST_NOTEBOOK = "notebooks/01_chain_rule.ipynb"


def running_as_root():
    """True for the superuser on a POSIX system (never on Windows)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(extra=(), python=sys.executable):
    """The JupyterLab command line of the course, as a list of arguments.

    Inputs: extra, more JupyterLab options appended at the end (later options win);
    python, the interpreter whose JupyterLab runs (default: this one, the venv's).
    """
    command = [python, "-m", "jupyterlab",
               f"--ServerApp.root_dir={REPO}",
               f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
               "--ServerApp.ip=127.0.0.1"]
    if running_as_root():
        command.append("--allow-root")
    return command + list(extra)


def lab_environment(base=None):
    """The server's environment: `base` (default os.environ) without MPLBACKEND.

    The Makefile exports MPLBACKEND=Agg for tests and builds; the kernels inherit the server's
    environment, and the notebooks' `%matplotlib inline` should decide their backend.
    """
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)
    return env


def main(argv=None):
    """Run JupyterLab in the foreground until it stops; return its exit code."""
    extra = sys.argv[1:] if argv is None else argv
    process = subprocess.Popen(lab_command(extra), cwd=REPO, env=lab_environment())
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())  # stop it with us
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # Ctrl+C reaches JupyterLab too: it asks, or shuts down
            continue


if __name__ == "__main__":
    sys.exit(main())
