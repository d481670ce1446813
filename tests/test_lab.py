"""Tests for tools/lab.py (`make lab`) and the JupyterLab settings of jupyter-config/."""
import json
import sys
from pathlib import Path

import pytest

from tools import lab

REPO = Path(__file__).resolve().parent.parent
SHIPPED = {  # file in jupyter-config/ -> where pip installs it, under sys.prefix
    "jupyter_lab_config.json": "etc/jupyter/jupyter_lab_config.json",
    "labconfig/default_setting_overrides.d/bnlib-course.json":
        "etc/jupyter/labconfig/default_setting_overrides.d/bnlib-course.json",
}


def option(command, name):
    """The value of --name=value in a command line (the last one wins), or None."""
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"--{name}=")]
    return values[-1] if values else None


def test_lab_serves_the_repository_from_notebook_01_on_loopback():
    command = lab.lab_command()
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert Path(option(command, "ServerApp.root_dir")) == REPO
    url = option(command, "LabApp.default_url")
    assert url == "/lab/tree/notebooks/01_chain_rule.ipynb"
    assert (REPO / url.removeprefix("/lab/tree/")).is_file()
    assert option(command, "ServerApp.ip") == "127.0.0.1"


def test_lab_lets_jupyter_make_up_the_token_so_it_prints_it():
    assert not [arg for arg in lab.lab_command() if "token" in arg.lower()]


@pytest.mark.parametrize("root", [True, False])
def test_allow_root_only_for_root(monkeypatch, root):
    monkeypatch.setattr(lab, "running_as_root", lambda: root)
    assert ("--allow-root" in lab.lab_command()) == root


def test_extra_options_come_last():
    assert lab.lab_command(["--no-browser", "--ServerApp.port=0"])[-2:] == \
        ["--no-browser", "--ServerApp.port=0"]


def test_lab_environment_leaves_the_backend_to_the_notebooks():
    env = lab.lab_environment({"MPLBACKEND": "Agg", "PATH": "/bin"})
    assert env == {"PATH": "/bin"}


@pytest.mark.parametrize("source", sorted(SHIPPED))
def test_the_environment_has_the_course_jupyter_settings(source):
    """`make venv` (pip install -r requirements.txt) installed jupyter-config/ as it is now."""
    installed = Path(sys.prefix) / SHIPPED[source]
    assert installed.is_file(), f"{installed} is missing: run `make venv`"
    assert json.loads(installed.read_text()) == \
        json.loads((REPO / "jupyter-config" / source).read_text()), \
        f"{installed} differs from jupyter-config/{source}: run `make venv`"


def test_shipped_settings_turn_off_news_updates_and_pypi():
    server = json.loads((REPO / "jupyter-config" / "jupyter_lab_config.json").read_text())
    assert server["LabApp"]["news_url"] is None
    assert server["LabApp"]["check_for_updates_class"].endswith("NeverCheckForUpdate")
    assert server["LabApp"]["extension_manager"] == "readonly"
    source = "labconfig/default_setting_overrides.d/bnlib-course.json"
    client = json.loads((REPO / "jupyter-config" / source).read_text())
    notification = client["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
