"""Give every exercise its nbgrader cell metadata, derived from the solution markers.

Usage (from the repository root; `make notebooks` applies it through tools.notebook_format):
    python -m tools.nbgrader_tags [--check] [NOTEBOOK ...]

The rule, applied to every cell of a notebook (any earlier nbgrader metadata is replaced, so
the tags follow the markers and never drift from them):
- a code cell holding a region `### BEGIN SOLUTION` ... `### END SOLUTION` is an
  "Autograded answer": solution, not graded, not locked;
- the code cell right after it is its check, "Autograder tests": graded, locked, 1 point;
- a markdown cell holding a solution region (older notebooks' written answers) is a "Manually
  graded answer": solution and graded, 1 point, for the teacher to mark in the formgrader
  (nbgrader accepts no ungraded markdown solution cell, and refuses to release a solution
  region in an untagged cell, so such a cell cannot simply be left out);
- every other cell has no nbgrader metadata.
grade_id is readable and stable: the notebook's number, the exercise's number K (from its
heading `### Exercise K: title`, else its rank among the notebook's exercises) and the first
words of the title, e.g. nb03_ex1_closed_form_in_numpy and its check
nb03_ex1_closed_form_in_numpy_check; a markdown answer gets nbNN_answerK[_words]. It changes only when the heading does.
--check: change nothing, exit 1 naming each notebook whose tags are not the rule's.
"""
import argparse
import re
import sys
import unicodedata
from pathlib import Path

import nbformat

from tools.course import course_notebooks, notebook_number
from tools.make_student import BEGIN, exercise_title

SCHEMA_VERSION = 3
POINTS_PER_CHECK = 1
MAX_WORDS = 5
SKIPPED_WORDS = {"a", "an", "the"}


def has_solution(cell):
    """True when the cell's source holds a `### BEGIN SOLUTION` line."""
    return any(line.strip().startswith(BEGIN) for line in cell.source.split("\n"))


def ascii_words(text):
    """Lower-case ASCII words of `text`; Greek letters spelled out (γ -> gamma), accents dropped."""
    spelled = []
    for char in text:
        name = unicodedata.name(char, "")
        if name.startswith("GREEK SMALL LETTER") or name.startswith("GREEK CAPITAL LETTER"):
            spelled.append(f" {name.split()[-1].lower()} ")
        else:
            spelled.append(unicodedata.normalize("NFKD", char))
    words = re.findall(r"[a-z0-9]+", "".join(spelled).encode("ascii", "ignore").decode().lower())
    return [word for word in words if word not in SKIPPED_WORDS]


def split_title(title):
    """("Exercise 2: the γ that saturates") -> (2, ["gamma", "that", "saturates"]).

    The number is None when the title has none ("Exercise: group norm by hand").
    """
    match = re.match(r"^\s*exercise\s*(\d+)?\s*[:.\-–—]?\s*(.*)$", title, re.IGNORECASE)
    if not match:
        return None, ascii_words(title)
    number = int(match.group(1)) if match.group(1) else None
    return number, ascii_words(match.group(2))


def grade_ids(nb, name):
    """{cell index: (kind, grade_id)} for the notebook's exercise cells.

    kind is "solution", "check" or "answer" (a markdown solution region).
    Raises ValueError when a code exercise has no check cell right after it, or two ids clash.
    """
    prefix, ids = "nb" + notebook_number(name), {}
    exercises = answers = 0
    for index, cell in enumerate(nb.cells):
        if not has_solution(cell):
            continue
        number, words = split_title(exercise_title(nb.cells, index))
        words = words[:MAX_WORDS]
        if cell.cell_type == "markdown":
            answers += 1
            ids[index] = ("answer", "_".join([f"{prefix}_answer{answers}", *words]))
            continue
        exercises += 1
        check = index + 1
        if check >= len(nb.cells) or nb.cells[check].cell_type != "code" \
                or has_solution(nb.cells[check]):
            raise ValueError(f"{name}: the exercise in cell {index} needs its check in the next "
                             "cell, a code cell without a solution region")
        base = "_".join([f"{prefix}_ex{number or exercises}", *words])
        ids[index], ids[check] = ("solution", base), ("check", base + "_check")
    seen = [grade_id for _, grade_id in ids.values()]
    clashes = sorted({grade_id for grade_id in seen if seen.count(grade_id) > 1})
    if clashes:
        raise ValueError(f"{name}: two exercises would share the grade_id {clashes[0]}; "
                         "give them distinct headings `### Exercise K: title`")
    return ids


def nbgrader_metadata(kind, grade_id):
    """The nbgrader cell metadata (schema 3) of an exercise cell of the given kind."""
    meta = {"grade": kind != "solution", "grade_id": grade_id, "locked": kind == "check",
            "schema_version": SCHEMA_VERSION, "solution": kind != "check", "task": False}
    if meta["grade"]:
        meta["points"] = POINTS_PER_CHECK
    return meta


def tag_notebook(nb, name):
    """Set the nbgrader metadata of every cell of `nb` (in place) from its markers.

    name: the notebook's file name (its number starts the grade ids).
    Returns {cell index: grade_id} of the tagged cells.
    """
    ids = grade_ids(nb, name)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        if index in ids:
            cell.metadata["nbgrader"] = nbgrader_metadata(*ids[index])
    return {index: grade_id for index, (_, grade_id) in ids.items()}


def untagged_solutions(nb):
    """Indices of cells holding a solution region without nbgrader solution metadata."""
    return [index for index, cell in enumerate(nb.cells) if has_solution(cell)
            and not cell.metadata.get("nbgrader", {}).get("solution")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to tag in place (default: every course notebook)")
    parser.add_argument("--check", action="store_true", help="only report untagged notebooks")
    args = parser.parse_args(argv)
    paths = args.notebooks or course_notebooks(Path(__file__).resolve().parent.parent)
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        ids = tag_notebook(nb, Path(path).name)
        if nbformat.writes(nb) == before:
            continue
        stale.append(path)
        if not args.check:
            nbformat.write(nb, path)
            print(f"{path}: tagged {len(ids)} cell(s): " + ", ".join(ids.values()))
    if args.check and stale:
        print("not tagged as the markers say (run python -m tools.nbgrader_tags): "
              + ", ".join(map(str, stale)))
        sys.exit(1)


if __name__ == "__main__":
    main()
