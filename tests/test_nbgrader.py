"""nbgrader on a small copy of the course, through its own command line.

tools/nbgrader_course.py lays out an nbgrader course folder (in a temporary folder) from the
course's first notebook (about 2 s in a kernel, two exercises); then, from that folder and with
no extra flags, `nbgrader generate_assignment` releases it and `nbgrader autograde` grades two
submissions: the released notebook untouched (every check must score 0) and the teacher's
notebook with its solutions (every check must score full marks). nbgrader is a test-only
requirement (requirements-test.txt): skipped where it is not installed, except in CI.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import nbgrader_course
from tools.course import course_notebooks

from helpers import skip_or_fail
from tools.make_student import BEGIN, solution_regions

REPO = Path(__file__).resolve().parent.parent
COURSE = course_notebooks(REPO)
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def nbgrader():
    """Runs `nbgrader ARGS...` in a folder; fails the test when it reports an error."""
    if importlib.util.find_spec("nbgrader") is None:
        skip_or_fail("nbgrader is not installed: pip install -r requirements-test.txt")

    def run(folder, *args):
        # nbgrader runs `alembic` from PATH: the venv's bin must come first, as when activated.
        env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   JUPYTER_CONFIG_DIR=str(folder / ".jupyter"), BNLIB_PROGRESS="0",
                   MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=folder, env=env,
                                capture_output=True, text=True, timeout=900)
        log = result.stdout + result.stderr
        assert result.returncode == 0 and "| ERROR]" not in log, log[-4000:]
        return log
    return run


@pytest.fixture(scope="module")
def graded(tmp_path_factory, nbgrader):
    """The course folder after generate_assignment and autograde of the first notebook.

    Yields dict: folder, name (assignment), scores {student: (score, max, {grade_id: score})}.
    """
    if not COURSE:
        pytest.skip("no course notebooks yet")
    folder, path = tmp_path_factory.mktemp("grading"), COURSE[0]
    (name,) = nbgrader_course.build(REPO, folder, [path])
    nbgrader(folder, "generate_assignment", name)
    submissions = {"untouched": folder / "release" / name / path.name,
                   "teacher": folder / "source" / name / path.name}
    for student, notebook in submissions.items():
        (folder / "submitted" / student / name).mkdir(parents=True)
        shutil.copy2(notebook, folder / "submitted" / student / name / path.name)
    nbgrader(folder, "autograde", name)
    from nbgrader.api import Gradebook
    scores = {}
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        for student in submissions:
            notebook = gradebook.find_submission_notebook(path.stem, name, student)
            scores[student] = (notebook.score, notebook.max_score,
                               {grade.name: grade.score for grade in notebook.grades})
    return dict(folder=folder, name=name, path=path, scores=scores,
                source=folder / "source" / name / path.name)


def check_ids(path):
    """The grade ids of the notebook's check cells (one point each)."""
    nb = nbformat.read(path, as_version=4)
    return [cell.metadata.nbgrader.grade_id for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade")]


def test_the_untouched_student_version_scores_zero(graded):
    score, maximum, grades = graded["scores"]["untouched"]
    checks = check_ids(graded["source"])
    assert checks, "the notebook has no graded check"
    assert maximum == len(checks)
    assert grades == {grade_id: 0.0 for grade_id in checks} and score == 0.0


def test_the_teachers_solutions_score_full_marks(graded):
    score, maximum, grades = graded["scores"]["teacher"]
    checks = check_ids(graded["source"])
    assert grades == {grade_id: 1.0 for grade_id in checks} and score == maximum == len(checks)


def test_the_release_has_stubs_instead_of_solutions(graded):
    teacher = nbformat.read(graded["path"], as_version=4)
    release = graded["folder"] / "release" / graded["name"]
    student = nbformat.read(release / graded["path"].name, as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert BEGIN not in text and "NotImplementedError" in text
    for cell in teacher.cells:
        for region in solution_regions(cell.source):
            lines = [line.strip() for line in region.split("\n") if len(line.strip()) > 12]
            assert not any(line in text for line in lines), f"released solution: {region}"
    assert "<summary>Answer" not in text  # the answers to the questions are not released
    assert all(not cell.get("outputs") for cell in student.cells)
    for picture in (graded["folder"] / "source" / graded["name"] / "pictures").glob("*"):
        assert (release / "pictures" / picture.name).is_file()  # released beside it


def test_links_are_rewritten_for_one_folder_an_assignment():
    copies = set()
    source = ("![graph](../pictures/bn_graph.png) and [next](02_forward_pass.ipynb#Part-2), "
              '<img src="../pictures/a.png">, [web](https://example.org/x.ipynb), [top](#Top)')
    assert nbgrader_course.relink(source, copies) == (
        "![graph](pictures/bn_graph.png) and [next](../02_forward_pass/02_forward_pass.ipynb"
        '#Part-2), <img src="pictures/a.png">, [web](https://example.org/x.ipynb), [top](#Top)')
    assert copies == {"pictures/bn_graph.png", "pictures/a.png"}


def test_rebuilding_keeps_the_teachers_config_and_grades(tmp_path):
    if not COURSE:
        pytest.skip("no course notebooks yet")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # mine\n")
    (tmp_path / "gradebook.db").write_bytes(b"grades")
    (tmp_path / "source" / "old_assignment").mkdir(parents=True)
    assert nbgrader_course.build(REPO, tmp_path, [COURSE[0]]) == [COURSE[0].stem]
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()  # mine\n"
    assert (tmp_path / "gradebook.db").read_bytes() == b"grades"
    assert (tmp_path / "source" / "old_assignment").is_dir()
    nb = nbformat.read(tmp_path / "source" / COURSE[0].stem / COURSE[0].name, as_version=4)
    assert any(cell.metadata.get("nbgrader", {}).get("solution") for cell in nb.cells)
