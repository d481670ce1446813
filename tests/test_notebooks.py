"""What every notebook of the course opens and ends with, and that its stated times are the
README's: a title, its goal, what to know first, the study time and the run time (both equal
to the README's notebook table, which the browser test times the notebooks against), and a
summary. The notebooks themselves run in tests/test_browser.py (or nbval)."""
import re
from pathlib import Path

import nbformat
import pytest

from helpers import parse_seconds, readme_column

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(path.name for path in NOTEBOOK_DIR.glob("[0-9A]*.ipynb"))


def header_of(name):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4).cells[0].source


def stated(header, label):
    """Seconds in the header's '**Study time.** About 60 min' line, or None."""
    line = re.search(rf"\*\*{label}\.\*\*([^\n]*)", header)
    return parse_seconds(line.group(1).split(".")[0]) if line else None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_opens_with_title_goal_prerequisites_and_times(name):
    header = header_of(name)
    assert header.startswith(f"# {name[:2]} · "), f"{name}: the first cell is not its title"
    for label in ("Goal", "You should know", "Study time", "Runs in"):
        assert f"**{label}.**" in header, f"{name}: the first cell has no **{label}.**"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_states_the_readmes_times(name):
    header = header_of(name)
    assert stated(header, "Study time") == readme_column("study").get(name), \
        f"{name}: its study time differs from the README's table"
    assert stated(header, "Runs in") == readme_column("runs in").get(name), \
        f"{name}: its run time differs from the README's table (which the browser test uses)"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_a_summary(name):
    cells = nbformat.read(NOTEBOOK_DIR / name, as_version=4).cells
    headings = [line for cell in cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    assert any("Summary" in line for line in headings), f"{name}: no '## ... Summary' section"


def test_readme_column_reads_the_tables():
    text = ("| notebook | what | runs in |\n|---|---|---|\n"
            "| [01 · A](notebooks/01_a.ipynb) | x | 4 s |\n"
            "| [02 · B](notebooks/02_b.ipynb) | \\|z\\| > 4 | about 1 min 5 s |\n\n"
            "| notebook | wall time |\n|---|---|\n| [03](notebooks/03_c.ipynb) | 9 s |\n")
    assert readme_column("runs in", text) == {"01_a.ipynb": 4.0, "02_b.ipynb": 65.0}
    assert readme_column("wall time", text) == {"03_c.ipynb": 9.0}


def test_readme_states_both_times_for_every_notebook():
    for header in ("study", "runs in"):
        missing = [name for name in NOTEBOOKS if not readme_column(header).get(name)]
        assert not missing, f"the README's notebook table states no '{header}' for {missing}"
