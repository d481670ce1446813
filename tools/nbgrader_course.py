"""Lay out an nbgrader course folder from the course's notebooks: one assignment a notebook.

Usage (from the repository root):
    python -m tools.nbgrader_course [--out grading] [NOTEBOOK ...]

Writes, for each notebook NN_slug.ipynb (default: every course notebook):
    OUT/source/NN_slug/NN_slug.ipynb   the teacher's notebook: solutions in, the answers to the
                                       questions taken out (nbgrader would release them), every
                                       exercise tagged for nbgrader (tools.nbgrader_tags)
    OUT/source/NN_slug/pictures/...    the pictures it shows; its links ../pictures/x become
                                       pictures/x and NN_other.ipynb become
                                       ../NN_other/NN_other.ipynb (one folder an assignment)
and, when OUT has none yet, OUT/nbgrader_config.py (kept afterwards: it is the teacher's).
Each source/NN_slug/ is replaced; nothing else in OUT is touched (gradebook, submissions).
Then, from OUT, with no extra flags:
    nbgrader generate_assignment NN_slug    # release/NN_slug/: solutions become stubs
    nbgrader autograde NN_slug              # grades submitted/STUDENT/NN_slug/
The grading kernel is the `python3` kernel of the environment nbgrader runs in: install the
course there, editable (`pip install -r requirements.txt` in the checkout), so that `bnlib`
finds data/mnist.npz and pictures/*.json beside it.
"""
import argparse
import re
import shutil
from pathlib import Path

import nbformat

from tools.course import NOTEBOOK_NAME, course_notebooks
from tools.make_student import strip_answers
from tools.nbgrader_tags import tag_notebook

LINK = re.compile(r"(\]\(|src=\")([^)\"\s]+)")
CONFIG = '''# nbgrader settings of this course (written by tools/nbgrader_course.py; yours to edit).
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "batch-normalization"
# Some cells train a network for tens of seconds: nbgrader's default (30 s a cell) is too short.
c.Execute.timeout = 600
# The stub that replaces each solution region in the released notebook.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\\nraise NotImplementedError("
              "'write your solution here, in place of this line.')"}
c.ClearSolutions.text_stub = "_Write your answer here._"
'''


def relink(source, copies):
    """Rewrite a markdown cell's relative links for the one-folder-an-assignment layout.

    ../pictures/x -> pictures/x (and x is added to the set `copies`); NN_slug.ipynb[#...] ->
    ../NN_slug/NN_slug.ipynb[#...]. Returns the new source.
    """
    def fix(match):
        opening, url = match.groups()
        path, _, anchor = url.partition("#")
        if path.startswith("../pictures/"):
            copies.add(path[len("../"):])
            return opening + url[len("../"):]
        if "/" not in path and NOTEBOOK_NAME.match(path):
            stem = path[:-len(".ipynb")]
            return opening + f"../{stem}/{path}" + (f"#{anchor}" if anchor else "")
        return match.group(0)

    return LINK.sub(fix, source)


def source_notebook(path):
    """The notebook at `path` as an nbgrader source: tagged, answers out, links rewritten.

    Returns (notebook, set of picture paths relative to the repository it links to).
    """
    nb = nbformat.read(path, as_version=4)
    copies = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(strip_answers(cell.source)[0], copies)
    tag_notebook(nb, Path(path).name)
    return nb, copies


def write_assignment(root, out, path):
    """Write source/NN_slug/ for the notebook at `path`; returns the assignment's name."""
    name = Path(path).stem
    folder = out / "source" / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nb, copies = source_notebook(path)
    nbformat.write(nb, folder / Path(path).name)
    for picture in sorted(copies):
        if (root / picture).is_file():
            (folder / picture).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / picture, folder / picture)
    return name


def build(root, out, paths=None):
    """Lay out (or update) the nbgrader course folder `out` from the course at `root`.

    paths: the notebooks to make assignments of (default: every course notebook).
    Returns the names of the assignments written.
    """
    root, out = Path(root).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "nbgrader_config.py").exists():
        (out / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    return [write_assignment(root, out, Path(p)) for p in (paths or course_notebooks(root))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to make assignments of (default: all)")
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--out", default="grading", type=Path)
    args = parser.parse_args(argv)
    names = build(args.root, args.out, args.notebooks)
    print(f"{args.out}/source/: {len(names)} assignment(s): " + ", ".join(names))
    print(f"next: cd {args.out} && nbgrader generate_assignment {names[0] if names else 'NAME'}")


if __name__ == "__main__":
    main()
