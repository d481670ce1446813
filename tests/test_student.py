"""Tests for tools/make_student.py: the student edition strips solutions and keeps the checks.

The execution tests run a student notebook cell by cell in a real kernel (nbclient). Whenever a
cell fails, the failure must come from an exercise: the stub's NotImplementedError, or the
AssertionError of the check cell that follows a stub. The test then runs the teacher's version
of that exercise's cell in place of the stub and goes on, so every exercise of the notebook is
shown to fail with its own helpful message, and nothing else is allowed to fail.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools import make_student

REPO = Path(__file__).resolve().parent.parent
COURSE = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
LINK = re.compile(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"")


def synthetic_notebook():
    """A small course notebook with two code exercises, a markdown answer and plain cells."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(cells=[
        md("# A synthetic notebook\n![sigmoid](../pictures/tiny.png)"),
        code("from bnlib.exercises import check_close\nbase = 3.0"),
        md("### Exercise 1: the square"),
        code("def square(x):\n    \"\"\"x squared.\"\"\"\n    ### BEGIN SOLUTION\n"
             "    return x * x\n    ### END SOLUTION"),
        code("check_close(\"square(3)\", square(base), 9.0)"),
        md("## 2. Exercise: a sum"),
        code("total = None\n### BEGIN SOLUTION\ntotal = sum(range(5))\n### END SOLUTION"),
        code("check_close(\"total\", total, 10)"),
        code("print(total + square(2))", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="14\n")], execution_count=7),
        md("Why? **Answer.**\n### BEGIN SOLUTION\nBecause 0+1+2+3+4 = 10.\n### END SOLUTION"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


def test_strip_source_keeps_indentation_and_counts_regions():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\ny = 1"
    new, count = make_student.strip_source(source, "code", "Exercise 3: double")
    assert count == 1
    assert new.split("\n") == [
        "def f(x):", "    # YOUR CODE HERE",
        "    raise NotImplementedError('Exercise 3: double - write your solution here, in place "
        "of this line.')", "y = 1"]
    compile(new, "<stub>", "exec")  # the stubbed cell is still valid Python


def test_strip_source_markdown_and_no_region():
    new, count = make_student.strip_source("a\n### BEGIN SOLUTION\nsecret\n### END SOLUTION",
                                           "markdown")
    assert (new, count) == ("a\n_Write your answer here._", 1)
    assert make_student.strip_source("x = 1\n# no exercise", "code") == ("x = 1\n# no exercise", 0)


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "without an ### END SOLUTION"),
    ("x = 1\n### END SOLUTION", "line 2: ### END SOLUTION without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: ### BEGIN SOLUTION in"),
])
def test_unpaired_markers_are_refused(source, problem):
    with pytest.raises(ValueError, match=problem):
        make_student.strip_source(source)


def test_student_notebook_keeps_every_other_cell_and_clears_outputs():
    teacher = synthetic_notebook()
    student, count = make_student.make_student_notebook(teacher)
    assert count == 3
    assert teacher.cells[8].outputs, "the teacher's notebook must not be modified"
    for mine, theirs in zip(student.cells, teacher.cells):
        if "### BEGIN SOLUTION" not in theirs.source:
            assert mine.source == theirs.source  # checks and teaching cells kept verbatim
        assert "SOLUTION" not in mine.source and "sum(range" not in mine.source
        if mine.cell_type == "code":
            assert mine.outputs == [] and mine.execution_count is None
    assert "'Exercise 1: the square - write your solution" in student.cells[3].source
    assert "'Exercise: a sum - write your solution" in student.cells[6].source


def test_bad_markers_name_the_cell():
    nb = synthetic_notebook()
    nb.cells[6].source = "### BEGIN SOLUTION\ntotal = 10"
    with pytest.raises(ValueError, match="cell 6: ### BEGIN SOLUTION without"):
        make_student.make_student_notebook(nb)


def make_course(root):
    """A tiny course folder: one synthetic notebook, one picture, the package files."""
    (root / "notebooks").mkdir(parents=True)
    (root / "pictures").mkdir()
    (root / "pictures" / "tiny.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "requirements.txt").write_text("numpy\n")
    nbformat.write(synthetic_notebook(), root / "notebooks" / "01_synthetic.ipynb")
    return root


def test_build_writes_a_self_contained_edition(tmp_path):
    root = make_course(tmp_path / "course")
    out = tmp_path / "student"
    assert make_student.build(root, out) == {"01_synthetic.ipynb": 3}
    assert (out / "pictures" / "tiny.png").is_file() and (out / "requirements.txt").is_file()
    assert "jupyter lab notebooks/01_synthetic.ipynb" in (out / "README.md").read_text()
    assert_links_resolve(out / "notebooks" / "01_synthetic.ipynb")
    assert make_student.build(root, out) == {"01_synthetic.ipynb": 3}  # rebuilds in place


def test_build_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    root = make_course(tmp_path / "course")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="not written by tools/make_student.py"):
        make_student.build(root, tmp_path / "precious")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def assert_links_resolve(path):
    """Every relative link or image of the notebook's markdown points at an existing file."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in LINK.finditer(cell.source):
            target = (match.group(1) or match.group(2)).split("#")[0]
            if target and ":" not in target:  # skip http(s):, mailto:, data: and anchors
                assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def code_stubs(teacher):
    """Indices of the teacher's code cells that hold a solution region."""
    return [i for i, c in enumerate(teacher.cells)
            if c.cell_type == "code" and make_student.BEGIN in c.source]


def is_exercise_failure(error, index, open_stubs):
    """True when a failure at cell `index` is the helpful failure of an unfilled exercise."""
    if not open_stubs or open_stubs[0] > index:
        return False
    if error.ename == "NotImplementedError":
        return "write your solution here" in error.evalue
    return error.ename == "AssertionError"


def last_check_cell(teacher):
    """Index of the code cell after the last exercise (its check); len(cells) if none."""
    stubs, end = code_stubs(teacher), len(teacher.cells)
    return next((i for i, cell in enumerate(teacher.cells)
                 if cell.cell_type == "code" and i > max(stubs, default=end)), end)


def run_student(student, teacher, folder, stop_after_exercises=False):
    """Run the student notebook, filling each exercise with the teacher's cell when it fails.

    stop_after_exercises: stop once the last exercise has failed, been filled and passed its
    check, the next code cell (the cells after it are the teacher's own, run by nbval).
    Returns the indices of the stubbed code cells whose exercise failed helpfully.
    Fails the test on any other error.
    """
    open_stubs, failed, last_failure = code_stubs(teacher), [], -1
    last_check = last_check_cell(teacher)
    client = NotebookClient(student, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        index = 0
        while index < len(student.cells):
            if stop_after_exercises and not open_stubs and index > max(last_failure, last_check):
                break
            try:
                if student.cells[index].cell_type == "code":
                    client.execute_cell(student.cells[index], index)
            except CellExecutionError as error:
                assert is_exercise_failure(error, index, open_stubs), (
                    f"cell {index} failed, but not as an unfilled exercise:\n{error}")
                failed.append(open_stubs.pop(0))
                student.cells[failed[-1]].source = teacher.cells[failed[-1]].source  # the fix
                index, last_failure = failed[-1], index  # run the filled exercise and its check
                continue
            index += 1
    return failed


def test_synthetic_student_notebook_fails_only_at_its_exercises(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    teacher = synthetic_notebook()
    student, _ = make_student.make_student_notebook(teacher)
    assert run_student(student, teacher, tmp_path) == [3, 6]
    assert student.cells[8].outputs[0]["text"] == "14\n"  # ran to the end once filled


def test_the_run_can_stop_after_the_last_exercise(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    teacher = synthetic_notebook()
    student, _ = make_student.make_student_notebook(teacher)
    assert run_student(student, teacher, tmp_path, stop_after_exercises=True) == [3, 6]
    assert student.cells[7].outputs[0]["text"] == "✓ total is correct\n"  # the last check ran
    assert student.cells[8].outputs == []  # and nothing after it


def test_a_crash_outside_the_exercises_is_caught(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    teacher = synthetic_notebook()
    teacher.cells[8].source = "print(total + square(2) / 0)"  # a bug in a teaching cell
    student, _ = make_student.make_student_notebook(teacher)
    with pytest.raises(AssertionError, match="cell 8 failed, but not as an unfilled exercise"):
        run_student(student, teacher, tmp_path)


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    """The student edition of the real course, built once into a temporary folder."""
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student.build(REPO, out)
    return out


@pytest.mark.skipif(not COURSE, reason="no notebooks/NN_slug.ipynb in the course yet")
@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_course_student_edition(path, student_edition, monkeypatch):
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(student_edition / "notebooks" / path.name, as_version=4)
    assert_links_resolve(student_edition / "notebooks" / path.name)
    assert "### BEGIN SOLUTION" not in "".join(c.source for c in student.cells)
    assert code_stubs(teacher), f"{path.name} has no exercise (### BEGIN SOLUTION in a code cell)"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("BNLIB_PROGRESS", "0")
    failed = run_student(student, teacher, student_edition / "notebooks",
                         stop_after_exercises=True)
    assert failed == code_stubs(teacher), "every unfilled exercise must fail helpfully"
