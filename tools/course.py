"""Which files are the course's notebooks, in course order (shared by the build scripts)."""
import re
from pathlib import Path

# Numbered notebooks NN_slug.ipynb, then the appendices A1_slug.ipynb, A2_slug.ipynb, ...
NOTEBOOK_NAME = re.compile(r"^(?:(\d+)|A(\d+))_[^/]*\.ipynb$")


def course_order(name):
    """Sort key of a notebook file name: numbered notebooks first, then appendices."""
    match = NOTEBOOK_NAME.match(name)
    number, appendix = match.groups()
    return (0, int(number)) if number is not None else (1, int(appendix))


def course_notebooks(root):
    """The course's notebook files under root/notebooks, numbered first, then appendices."""
    folder = Path(root) / "notebooks"
    names = [p.name for p in folder.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name)]
    return [folder / name for name in sorted(names, key=course_order)]


def notebook_number(name):
    """The notebook's number as written in its file name: "03" or "A1"."""
    return name.split("_", 1)[0]
