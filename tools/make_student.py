"""Write the student edition of the course: the notebooks with their solutions taken out.

Usage (from the repository root; `make student` runs this):
    python -m tools.make_student [--out student]

Every region between a line `### BEGIN SOLUTION` and a line `### END SOLUTION` (the nbgrader
convention) becomes a stub at the same indentation: in a code cell
    # YOUR CODE HERE
    raise NotImplementedError("Exercise 1: ... - write your solution here, in place of this line.")
and in a markdown cell the line "_Write your answer here._". The answers to the questions, the
folded blocks `<details><summary>Answer</summary> ... </details>`, are removed; the hints
(`<summary>Hint 1</summary>` ...) stay. Every other line and cell (the checks included) is kept
as it is; outputs, execution counts, saved widget states and nbgrader metadata are cleared.

The edition is a self-contained copy of the course that can be pushed as a repository of its own
(Binder, nbgitpuller): student/notebooks/ (stripped), plus pictures/, bnlib/, data/, binder/,
pyproject.toml, the launcher (tools/lab.py and the Jupyter settings files at the root, when the
course has them), a lean requirements.txt (what a learner needs: no test tools), a .gitignore
and a README, so every relative link of the notebooks (../pictures/...) still works.
"""
import argparse
import copy
import importlib.metadata
import re
import shutil
from pathlib import Path

import nbformat

from tools.course import course_notebooks
from tools.outdir import fresh_output_dir

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SUPPORT = ["pictures", "bnlib", "data", "binder", "pyproject.toml"]
LAUNCHER = ["tools/__init__.py", "tools/lab.py"]  # copied when they exist
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
# What a learner needs to run the notebooks, pinned as in the course's requirements.txt.
LEARNER_PACKAGES = ["numpy", "matplotlib", "jupyterlab", "ipywidgets", "tqdm", "threadpoolctl"]
# A folded answer: <details><summary>Answer</summary> ... </details> (hints keep theirs).
ANSWER = re.compile(r"[ \t]*<details[^>]*>\s*<summary>\s*Answer\b.*?</details>[ \t]*\n?",
                    re.IGNORECASE | re.DOTALL)
GITIGNORE = """.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
.virtual_documents/
"""

STUDENT_README = """# Batch Normalization, student edition

The course's notebooks with the exercises left for you. Install once (Python 3.10 or newer),
then start JupyterLab on the first notebook:

    python3 -m venv .venv
    .venv/bin/pip install -r requirements.txt
{launch}

Each exercise has a cell that raises `NotImplementedError("Exercise ...")`: replace that line
with your code, run the cell, then run the check cell below it; it prints "✓ ... is correct"
or tells you what is off. Each question's answer is yours to write. Nothing here needs the
internet once installed.
"""
LAUNCH_WITH_TOOL = """    .venv/bin/python -m tools.lab

It starts JupyterLab on this computer only (127.0.0.1), opens notebook {first} and prints the
address to open, with its token. (On Windows: `.venv\\Scripts\\python -m tools.lab`.)"""
LAUNCH_PLAIN = """    .venv/bin/jupyter lab notebooks/{first}

(Jupyter refuses to run as root: as root, in a container for example, add `--allow-root`.)"""


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


def solution_regions(source):
    """The text of each solution region of a cell's source (the lines between the markers)."""
    regions, inside = [], None
    for line in source.split("\n"):
        marker = line.strip()
        if marker.startswith(BEGIN):
            inside = []
        elif marker.startswith(END) and inside is not None:
            regions.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return regions


def strip_answers(source):
    """Remove every folded answer block from a markdown cell's source.

    Returns (new_source, number of answers removed). Hints and other <details> blocks stay.
    """
    new, count = ANSWER.subn("", source)
    return (re.sub(r"\n{3,}", "\n\n", new).rstrip("\n") if count else source), count


def exercise_cells(nb):
    """Indices of the exercise cells: those with a solution region, and the check after each."""
    cells = set()
    for index, cell in enumerate(nb.cells):
        if BEGIN in cell.source:
            cells.add(index)
            if cell.cell_type == "code" and index + 1 < len(nb.cells) \
                    and nb.cells[index + 1].cell_type == "code":
                cells.add(index + 1)
    return cells


def make_student_notebook(nb, keep_outputs=False):
    """A copy of notebook `nb` with its solutions stubbed and its answers removed.

    keep_outputs: False (the edition to hand out) clears every output and execution count;
    True (the student site) keeps those of the ordinary cells and clears only the exercise
    cells' (a solution's output and its check's output would show the answer).
    Returns (student_nb, number of solution regions replaced).
    Raises ValueError naming the cell when its markers do not pair up.
    """
    student, total = copy.deepcopy(nb), 0
    student.metadata.pop("widgets", None)  # saved widget states would show the teacher's run
    exercises = exercise_cells(nb)
    for index, cell in enumerate(student.cells):
        try:
            cell.source, count = strip_source(cell.source, cell.cell_type,
                                              exercise_title(nb.cells, index))
        except ValueError as error:
            raise ValueError(f"cell {index}: {error}") from None
        total += count
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "markdown":
            cell.source, _ = strip_answers(cell.source)
        elif cell.cell_type == "code" and (index in exercises or not keep_outputs):
            cell.outputs, cell.execution_count = [], None
    return student, total


def pinned_versions(requirements):
    """{lower-case package name: version} of the `name==version` lines of a requirements file."""
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines() \
            if requirements.is_file() else []:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def learner_requirements(root):
    """The edition's requirements.txt: LEARNER_PACKAGES pinned, then `-e .` (bnlib).

    Each version is the course's pin (root/requirements.txt); for a package the course does not
    pin, the version installed here, else none.
    """
    pins = pinned_versions(Path(root) / "requirements.txt")
    lines = ["# What a learner needs to run the notebooks (the course's tested versions).",
             "# Install with: pip install -r requirements.txt"]
    for name in LEARNER_PACKAGES:
        version = pins.get(name)
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = None
        lines.append(f"{name}=={version}" if version else name)
    return "\n".join(lines + ["-e ."]) + "\n"


def copy_support(root, out):
    """Copy the pictures, the package, the data, the install files and the launcher."""
    for name in SUPPORT + LAUNCHER:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORE)
        elif source.is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / name)
    for source in sorted(root.glob("jupyter_*config*")):  # the Jupyter settings of tools/lab.py
        if source.is_file():
            shutil.copy2(source, out / source.name)


def readme(root, first):
    """The edition's README: install, then launch with tools.lab when the course has it."""
    launch = LAUNCH_WITH_TOOL if (root / "tools" / "lab.py").is_file() else LAUNCH_PLAIN
    return STUDENT_README.format(launch=launch.format(first=first))


def build(root, out):
    """Write the student edition of the course at `root` into folder `out`.

    Inputs: root (the repository, with its notebooks in notebooks/), out (a new or previously
    written edition folder).
    Returns {notebook file name: number of exercises stubbed}.
    """
    root, out = Path(root), fresh_output_dir(out, "tools/make_student.py")
    (out / "notebooks").mkdir()
    counts = {}
    for path in course_notebooks(root):
        student, counts[path.name] = make_student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(student, out / "notebooks" / path.name)
    copy_support(root, out)
    (out / "requirements.txt").write_text(learner_requirements(root), encoding="utf-8")
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    first = next(iter(counts), "01_chain_rule.ipynb")
    (out / "README.md").write_text(readme(root, first), encoding="utf-8")
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
