"""The Binder configuration (binder/) agrees with the course's own install files."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def requirement_lines(path):
    """The non-comment, non-blank lines of a requirements file."""
    lines = path.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_binder_installs_exactly_the_course_requirements():
    assert requirement_lines(REPO / "binder" / "requirements.txt") == ["-r ../requirements.txt"]
    assert "-e ." in requirement_lines(REPO / "requirements.txt")  # bnlib editable, beside data/


def test_binder_python_is_allowed_by_pyproject():
    runtime = (REPO / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"binder/runtime.txt must read like python-3.11, not {runtime!r}"
    version = tuple(map(int, match.groups()))
    minimum = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert version >= tuple(map(int, minimum.removeprefix(">=").split(".")))
