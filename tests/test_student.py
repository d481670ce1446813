"""Tests for tools/make_student.py: the student edition strips solutions and keeps the checks.

Every notebook of the course is checked statically: each solution region became a stub that
compiles and names its exercise, each exercise's check cell follows its solution cell and is
kept verbatim, the answers to the questions are gone and the hints are not, no output or
nbgrader tag is left, and every link to a picture resolves inside the edition.
One notebook, the fastest with exercises, also runs in a real kernel (nbclient): whenever a cell
fails, the failure must come from an exercise, at its own cell or its check, with the stub's
NotImplementedError naming the exercise or the check's AssertionError. The test then runs the
teacher's version of that exercise's cell in place of the stub and goes on, so every exercise
of the notebook is shown to fail with its own helpful message, and nothing else may fail.
(nbval runs every teacher notebook in full.)
"""
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools import make_student
from tools.course import course_notebooks

REPO = Path(__file__).resolve().parent.parent
COURSE = course_notebooks(REPO)
LINK = re.compile(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"")
HINT = re.compile(r"<summary>\s*Hint\b", re.IGNORECASE)
CHECK_CALL = re.compile(r"\bcheck\w*\s*\(")
# The notebook run in a kernel: the fastest with exercises (1.6 s, 2 exercises, measured with
# tools.kernel_usage on 2026-12-02); the first notebook with an exercise if it is gone.
FASTEST_WITH_EXERCISES = "01_chain_rule.ipynb"
TEST_PACKAGES = ("pytest", "nbval", "hypothesis", "playwright", "nbgrader", "torch")


def synthetic_notebook():
    """A small course notebook: two code exercises, a question with hints and an answer, a
    markdown solution region (older notebooks' written answers) and plain cells."""
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
        md("**Question 1.** Why does the square grow faster than the sum?\n\n"
           "<details><summary>Hint 1</summary>\n\nCompare x * x with x + x.\n\n</details>\n"
           "<details><summary>Answer</summary>\n\nThe product multiplies the growth of both "
           "factors together.\n\n</details>\n\nOn to the next part."),
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


def test_answers_go_and_hints_stay():
    source = synthetic_notebook().cells[10].source
    new, count = make_student.strip_answers(source)
    assert count == 1
    assert new == ("**Question 1.** Why does the square grow faster than the sum?\n\n"
                   "<details><summary>Hint 1</summary>\n\nCompare x * x with x + x.\n\n"
                   "</details>\n\nOn to the next part.")
    assert make_student.strip_answers("no answer <details><summary>Hint 2</summary>x</details>"
                                      ) == ("no answer <details><summary>Hint 2</summary>x"
                                            "</details>", 0)


def test_student_notebook_keeps_every_other_cell_and_clears_outputs():
    teacher = synthetic_notebook()
    teacher.cells[3].metadata["nbgrader"] = {"solution": True, "grade_id": "x"}
    student, count = make_student.make_student_notebook(teacher)
    assert count == 3
    assert teacher.cells[8].outputs, "the teacher's notebook must not be modified"
    for mine, theirs in zip(student.cells, teacher.cells):
        if "### BEGIN SOLUTION" not in theirs.source and "Answer<" not in theirs.source:
            assert mine.source == theirs.source  # checks and teaching cells kept verbatim
        assert "SOLUTION" not in mine.source and "sum(range" not in mine.source
        assert "nbgrader" not in mine.metadata
        if mine.cell_type == "code":
            assert mine.outputs == [] and mine.execution_count is None
    assert "'Exercise 1: the square - write your solution" in student.cells[3].source
    assert "'Exercise: a sum - write your solution" in student.cells[6].source
    assert "factors together" not in student.cells[10].source
    assert "Hint 1" in student.cells[10].source


def test_the_site_edition_keeps_the_outputs_of_ordinary_cells_only():
    teacher = synthetic_notebook()
    for index in (3, 4, 6, 7):
        teacher.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                               text="secret\n")]
        teacher.cells[index].execution_count = index
    student, _ = make_student.make_student_notebook(teacher, keep_outputs=True)
    assert [i for i, c in enumerate(student.cells) if c.get("outputs")] == [8]
    assert student.cells[8].execution_count == 7


def test_bad_markers_name_the_cell():
    nb = synthetic_notebook()
    nb.cells[6].source = "### BEGIN SOLUTION\ntotal = 10"
    with pytest.raises(ValueError, match="cell 6: ### BEGIN SOLUTION without"):
        make_student.make_student_notebook(nb)


def make_course(root, launcher=False):
    """A tiny course folder: one synthetic notebook, one picture, the package files.

    launcher: also give it tools/lab.py and a Jupyter settings file at its root.
    """
    (root / "notebooks").mkdir(parents=True)
    (root / "pictures").mkdir()
    (root / "pictures" / "tiny.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "requirements.txt").write_text("numpy==2.4.6\nmatplotlib==3.11.2\npytest==9.2.0\n"
                                           "jupyterlab==4.6.6\n-e .\n")
    if launcher:
        (root / "tools").mkdir()
        (root / "tools" / "__init__.py").write_text("")
        (root / "tools" / "lab.py").write_text("print('lab')\n")
        (root / "tools" / "make_student.py").write_text("# a teacher's tool\n")
        (root / "jupyter_server_config.json").write_text("{}\n")
    nbformat.write(synthetic_notebook(), root / "notebooks" / "01_synthetic.ipynb")
    return root


def test_build_writes_a_self_contained_edition(tmp_path):
    root = make_course(tmp_path / "course")
    out = tmp_path / "student"
    assert make_student.build(root, out) == {"01_synthetic.ipynb": 3}
    assert (out / "pictures" / "tiny.png").is_file()
    assert ".venv/" in (out / ".gitignore").read_text().split()
    readme = (out / "README.md").read_text()
    assert ".venv/bin/jupyter lab notebooks/01_synthetic.ipynb" in readme  # no tools/lab.py
    assert "--allow-root" in readme
    assert not (out / "tools").exists()
    assert_links_resolve(out / "notebooks" / "01_synthetic.ipynb")
    assert make_student.build(root, out) == {"01_synthetic.ipynb": 3}  # rebuilds in place


def test_the_edition_launches_with_tools_lab_when_the_course_has_it(tmp_path):
    root = make_course(tmp_path / "course", launcher=True)
    out = tmp_path / "student"
    make_student.build(root, out)
    assert "    .venv/bin/python -m tools.lab\n" in (out / "README.md").read_text()
    assert (out / "tools" / "lab.py").read_text() == "print('lab')\n"
    assert (out / "tools" / "__init__.py").is_file()
    assert not (out / "tools" / "make_student.py").exists()  # the teachers' tools stay home
    assert (out / "jupyter_server_config.json").is_file()


def test_the_edition_requirements_are_the_learners_pinned_as_the_course():
    pins = make_student.pinned_versions(REPO / "requirements.txt")
    lines = [line for line in make_student.learner_requirements(REPO).splitlines()
             if line and not line.startswith("#")]
    assert lines[-1] == "-e ."
    names = [re.split(r"==", line)[0] for line in lines[:-1]]
    assert names == make_student.LEARNER_PACKAGES
    for line in lines[:-1]:
        name, _, version = line.partition("==")
        if name in pins:
            assert version == pins[name], f"{name} is pinned {pins[name]} by the course"
    assert not any(line.startswith(TEST_PACKAGES) for line in lines)


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


def run_student(student, teacher, folder, stop_after_exercises=False, failures=None):
    """Run the student notebook, filling each exercise with the teacher's cell when it fails.

    stop_after_exercises: stop once the last exercise has failed, been filled and passed its
    check, the next code cell (the cells after it are the teacher's own, run by nbval).
    failures: a list to which (cell index, error name, error value) of each failure is added.
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
                if failures is not None:
                    failures.append((index, error.ename, error.evalue))
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


def python_of(source):
    """A cell's source as plain Python (IPython's %magics and !commands translated)."""
    return TransformerManager().transform_cell(source)


def assert_exercise_cells(teacher, student, index):
    """The solution cell `index` became a stub that compiles and names its exercise, and the
    next cell is its check, a call to a check kept verbatim."""
    regions = make_student.solution_regions(teacher.cells[index].source)
    stub = student.cells[index].source
    title = make_student.exercise_title(teacher.cells, index)
    assert stub.count("raise NotImplementedError(") == len(regions)
    assert f"{title} - write your solution here" in stub and title.startswith("Exercise")
    compile(python_of(stub), f"cell {index}", "exec")
    check = teacher.cells[index + 1]
    assert check.cell_type == "code" and make_student.BEGIN not in check.source, (
        f"cell {index}: the check must follow its exercise")
    assert CHECK_CALL.search(check.source), f"cell {index + 1} calls no check"
    assert student.cells[index + 1].source == check.source


@pytest.mark.skipif(not COURSE, reason="no course notebooks yet")
@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_course_student_edition(path, student_edition):
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(student_edition / "notebooks" / path.name, as_version=4)
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in teacher.cells]
    stubs = code_stubs(teacher)
    assert stubs, f"{path.name} has no exercise (### BEGIN SOLUTION in a code cell)"
    for index in stubs:
        assert_exercise_cells(teacher, student, index)
    for mine in student.cells:
        assert "SOLUTION" not in mine.source and "nbgrader" not in mine.metadata
        assert not mine.get("outputs") and mine.get("execution_count") is None
        assert not re.search(r"<summary>\s*Answer", mine.source), "an answer is left"
    hints = [len(HINT.findall(c.source)) for c in teacher.cells]
    assert [len(HINT.findall(c.source)) for c in student.cells] == hints  # hints kept
    assert_links_resolve(student_edition / "notebooks" / path.name)


@pytest.mark.skipif(not COURSE, reason="no course notebooks yet")
def test_course_edition_files(student_edition):
    assert (student_edition / "requirements.txt").read_text() == \
        make_student.learner_requirements(REPO)
    assert (student_edition / ".gitignore").is_file()
    assert (student_edition / "data" / "mnist.npz").is_file()
    has_lab = (REPO / "tools" / "lab.py").is_file()
    assert (student_edition / "tools" / "lab.py").is_file() == has_lab
    launch = "python -m tools.lab" if has_lab else f"jupyter lab notebooks/{COURSE[0].name}"
    assert launch in (student_edition / "README.md").read_text()
    for config in REPO.glob("jupyter_*config*"):
        assert (student_edition / config.name).is_file()


def fastest_with_exercises():
    """The notebook to run in a kernel (see FASTEST_WITH_EXERCISES)."""
    preferred = REPO / "notebooks" / FASTEST_WITH_EXERCISES
    if preferred.is_file():
        return preferred
    return next(p for p in COURSE if code_stubs(nbformat.read(p, as_version=4)))


@pytest.mark.skipif(not COURSE, reason="no course notebooks yet")
def test_each_unfilled_exercise_fails_at_its_own_cell(student_edition, monkeypatch):
    path = fastest_with_exercises()
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(student_edition / "notebooks" / path.name, as_version=4)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("BNLIB_PROGRESS", "0")
    failures = []
    failed = run_student(student, teacher, student_edition / "notebooks",
                         stop_after_exercises=True, failures=failures)
    assert failed == code_stubs(teacher), "every unfilled exercise must fail helpfully"
    for stub, (index, ename, evalue) in zip(failed, failures):
        assert index in (stub, stub + 1), f"exercise of cell {stub} failed at cell {index}"
        if ename == "NotImplementedError":  # the stub's message, naming its exercise
            assert make_student.exercise_title(teacher.cells, stub) in evalue
