"""Write the student edition of the course: the notebooks with their solutions taken out.

Usage (from the repository root; `make student` runs this):
    python -m tools.make_student [--out student]

Every region between a line `### BEGIN SOLUTION` and a line `### END SOLUTION` (the nbgrader
convention) becomes a stub at the same indentation: in a code cell
    # YOUR CODE HERE
    raise NotImplementedError("Exercise 1: ... - write your solution here, in place of this line.")
and in a markdown cell the line "_Write your answer here._". Every other line and cell (the
checks included) is kept as it is; outputs, execution counts and saved widget states are cleared.

The edition is a self-contained copy of the course that can be pushed as a repository of its own
(Binder, nbgitpuller): student/notebooks/ (stripped), plus pictures/, bnlib/, data/ and the
install files, so every relative link of the notebooks (../pictures/...) still works.
"""
import argparse
import copy
import re
import shutil
from pathlib import Path

import nbformat

from tools.outdir import fresh_output_dir

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SUPPORT = ["pictures", "bnlib", "data", "binder", "jupyter-config", "pyproject.toml",
           "requirements.txt"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

STUDENT_README = """# Batch Normalization, student edition

The course's notebooks with the exercises left for you. Install once, then open the first
notebook in JupyterLab:

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    .venv/bin/jupyter lab notebooks/{first}

Each exercise has a cell that raises `NotImplementedError("Exercise ...")`: replace that line
with your code, run the cell, then run the check cell below it; it prints "✓ ... is correct"
or tells you what is off. Nothing here needs the internet once installed.
"""


def stub_lines(indent, cell_type, title):
    """The lines that replace one solution region.

    Inputs: indent (the whitespace before `### BEGIN SOLUTION`), cell_type ("code" or
    "markdown"), title (the exercise's name, used in the message).
    Returns a list of lines (without newlines).
    """
    if cell_type == "markdown":
        return [indent + "_Write your answer here._"]
    message = f"{title} - write your solution here, in place of this line."
    return [indent + "# YOUR CODE HERE", indent + f"raise NotImplementedError({message!r})"]


def strip_source(source, cell_type="code", title="Exercise"):
    """Replace every solution region of one cell's source by a stub.

    Inputs: source (str), cell_type, title (see stub_lines).
    Returns (new_source, number of regions replaced).
    Raises ValueError for a marker without its partner or a nested BEGIN.
    """
    out, inside, count = [], False, 0
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker.startswith(BEGIN):
            if inside:
                raise ValueError(f"line {number}: {BEGIN} inside another solution region")
            inside, count = True, count + 1
            out += stub_lines(line[:len(line) - len(line.lstrip())], cell_type, title)
        elif marker.startswith(END):
            if not inside:
                raise ValueError(f"line {number}: {END} without a {BEGIN} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without an {END} after it")
    return "\n".join(out), count


def exercise_title(cells, index):
    """The name of the exercise that cell `index` belongs to, for the stub's message.

    The nearest markdown heading above the cell that mentions "exercise" (searching back no
    further than the previous cell with a solution region); "Exercise" when there is none.
    """
    for cell in reversed(cells[:index]):
        if cell.cell_type == "code" and BEGIN in cell.source:
            break
        if cell.cell_type == "markdown":
            for line in reversed(cell.source.split("\n")):
                if line.startswith("#") and "exercise" in line.lower():
                    title = line.lstrip("#").strip().replace("*", "")
                    return re.sub(r"^\d+(\.\d+)*\.?\s+", "", title)  # no section number
    return "Exercise"


def make_student_notebook(nb):
    """A copy of notebook `nb` with its solutions stubbed and its outputs cleared.

    Returns (student_nb, number of solution regions replaced).
    Raises ValueError naming the cell when its markers do not pair up.
    """
    student, total = copy.deepcopy(nb), 0
    student.metadata.pop("widgets", None)  # saved widget states would show the teacher's run
    for index, cell in enumerate(student.cells):
        try:
            cell.source, count = strip_source(cell.source, cell.cell_type,
                                              exercise_title(nb.cells, index))
        except ValueError as error:
            raise ValueError(f"cell {index}: {error}") from None
        total += count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return student, total


def copy_support(root, out):
    """Copy the pictures, the package, the data and the install files beside the notebooks."""
    for name in SUPPORT:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORE)
        elif source.is_file():
            shutil.copy2(source, out / name)


def build(root, out):
    """Write the student edition of the course at `root` into folder `out`.

    Inputs: root (the repository, with notebooks/NN_slug.ipynb), out (a new or previously
    written edition folder).
    Returns {notebook file name: number of exercises stubbed}.
    """
    root, out = Path(root), fresh_output_dir(out, "tools/make_student.py")
    (out / "notebooks").mkdir()
    counts = {}
    for path in sorted((root / "notebooks").glob("[0-9]*.ipynb")):
        student, counts[path.name] = make_student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(student, out / "notebooks" / path.name)
    copy_support(root, out)
    first = min(counts, default="01_chain_rule.ipynb")
    (out / "README.md").write_text(STUDENT_README.format(first=first), encoding="utf-8")
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--out", default="student", type=Path)
    args = parser.parse_args(argv)
    counts = build(args.root, args.out)
    for name, count in counts.items():
        print(f"{name}: {count} solution region(s) replaced by a stub")
    print(f"student edition written to {args.out}/ ({len(counts)} notebooks)")


if __name__ == "__main__":
    main()
