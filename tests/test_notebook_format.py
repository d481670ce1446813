"""Tests for tools/notebook_format.py and tools/nbgrader_tags.py: clean notebook diffs.

The committed notebooks must be in normal form (what `make notebooks` writes): no execution
timestamps, no saved widget state, streams merged, every exercise tagged for nbgrader by the
rule of tools/nbgrader_tags.py. A rerun keeps a cell's stored outputs when they only differ by
what nbval's sanitising patterns hide, so rerunning an unchanged notebook leaves it byte for
byte the same: checked on a synthetic notebook that prints a timing, and on the course's first
notebook (about 2 s in a kernel).
"""
import copy
import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import nbgrader_tags, notebook_format
from tools.course import course_notebooks

from helpers import skip_or_fail

REPO = Path(__file__).resolve().parent.parent
COURSE = course_notebooks(REPO)
NEEDS_COURSE = pytest.mark.skipif(not COURSE, reason="no course notebooks yet")
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
output = nbformat.v4.new_output
TIMESTAMPS = {"iopub.execute_input": "2026-11-30T01:47:31.314699Z",
              "shell.execute_reply": "2026-11-30T01:47:31.744242Z"}


def exercise_notebook():
    """Two code exercises with their checks, a written (markdown) answer, a plain cell."""
    return nbformat.v4.new_notebook(cells=[
        md("# 07 · A synthetic notebook"),
        md("### Exercise 1: the γ of the layer"),
        code("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        code("from bnlib.exercises import check_close\ncheck_close('f(2)', f(2), 4)"),
        md("## 3. Exercise: a sum"),
        code("### BEGIN SOLUTION\ntotal = 10\n### END SOLUTION"),
        code("check_close('total', total, 10)"),
        md("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        code("print(1)", metadata={"nbgrader": {"grade": True, "grade_id": "stale",
                                                "locked": True, "points": 3,
                                                "schema_version": 3, "solution": False}}),
    ])


def run_main(module, *args, capsys=None):
    """Run a tool's main(args) in this process; returns (exit code, what it printed)."""
    try:
        module.main([str(arg) for arg in args])
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    return code, capsys.readouterr().out if capsys else ""


@pytest.fixture
def kernel_env(monkeypatch):
    """The environment `make notebooks` gives the kernel."""
    for name, value in dict(BNLIB_PROGRESS="0", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
                            OMP_NUM_THREADS="1", MKL_NUM_THREADS="1").items():
        monkeypatch.setenv(name, value)


# --- the committed notebooks ----------------------------------------------------------------

@NEEDS_COURSE
@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_committed_notebook_is_normalised(path):
    nb = nbformat.read(path, as_version=4)
    assert path.read_text(encoding="utf-8") == notebook_format.normalised_text(nb, path.name), (
        f"{path.name} is not in normal form: run `python -m tools.notebook_format "
        f"notebooks/{path.name}` (or `make notebooks NB=notebooks/{path.name}`) and commit")


@NEEDS_COURSE
@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_every_solution_region_carries_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert nbgrader_tags.untagged_solutions(nb) == [], "run python -m tools.nbgrader_tags"
    solutions = [i for i, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and nbgrader_tags.has_solution(cell)]
    assert solutions, f"{path.name} has no exercise"
    ids = []
    for index in solutions:
        answer, check = nb.cells[index].metadata.nbgrader, nb.cells[index + 1].metadata.nbgrader
        assert (answer.solution, answer.grade, answer.locked) == (True, False, False)
        assert (check.solution, check.grade, check.locked, check.points) == (False, True, True, 1)
        assert check.grade_id == answer.grade_id + "_check"
        assert answer.grade_id.startswith("nb" + path.name.split("_")[0] + "_")
        ids += [answer.grade_id, check.grade_id]
    tagged = [c.metadata.nbgrader.grade_id for c in nb.cells if "nbgrader" in c.metadata]
    assert len(set(tagged)) == len(tagged) and set(ids) <= set(tagged)


# --- tagging ---------------------------------------------------------------------------------

def test_tags_follow_the_markers():
    nb = exercise_notebook()
    ids = nbgrader_tags.tag_notebook(nb, "07_synthetic.ipynb")
    assert ids == {2: "nb07_ex1_gamma_of_layer", 3: "nb07_ex1_gamma_of_layer_check",
                   5: "nb07_ex2_sum", 6: "nb07_ex2_sum_check", 7: "nb07_answer1"}
    meta = [cell.metadata.get("nbgrader") for cell in nb.cells]
    assert meta[2] == {"grade": False, "grade_id": "nb07_ex1_gamma_of_layer", "locked": False,
                       "schema_version": 3, "solution": True, "task": False}
    assert meta[3] == {"grade": True, "grade_id": "nb07_ex1_gamma_of_layer_check",
                       "locked": True, "points": 1, "schema_version": 3, "solution": False,
                       "task": False}
    assert (meta[7]["solution"], meta[7]["grade"], meta[7]["points"]) == (True, True, 1)
    assert meta[0] is meta[1] is meta[8] is None  # the stale tag of a plain cell is gone


def test_tagging_is_checked_by_nbgraders_own_validator():
    if importlib.util.find_spec("nbgrader") is None:
        skip_or_fail("nbgrader is not installed: pip install -r requirements-test.txt")
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    nb = exercise_notebook()
    nbgrader_tags.tag_notebook(nb, "07_synthetic.ipynb")
    MetadataValidator().validate_nb(nb)  # raises on any fault
    nb.cells[7].metadata.nbgrader["grade"] = False  # an ungraded written answer: refused
    with pytest.raises(ValidationError):
        MetadataValidator().validate_nb(nb)


def test_an_exercise_without_its_check_cell_is_refused():
    nb = exercise_notebook()
    nb.cells.insert(3, md("A word between the exercise and its check."))
    with pytest.raises(ValueError, match="cell 2 needs its check in the next cell"):
        nbgrader_tags.tag_notebook(nb, "07_synthetic.ipynb")


def test_two_exercises_with_one_heading_are_refused():
    nb = exercise_notebook()
    nb.cells[4].source = "### Exercise 1: the γ of the layer"
    with pytest.raises(ValueError, match="share the grade_id nb07_ex1_gamma_of_layer"):
        nbgrader_tags.tag_notebook(nb, "07_synthetic.ipynb")


def test_standalone_tagging_command(tmp_path, capsys):
    path = tmp_path / "A1_appendix.ipynb"
    nbformat.write(exercise_notebook(), path)
    code, printed = run_main(nbgrader_tags, "--check", path, capsys=capsys)
    assert code == 1 and "not tagged" in printed
    assert run_main(nbgrader_tags, path)[0] == 0
    assert nbformat.read(path, as_version=4).cells[2].metadata.nbgrader.grade_id == \
        "nbA1_ex1_gamma_of_layer"
    assert run_main(nbgrader_tags, "--check", path)[0] == 0


# --- normal form -----------------------------------------------------------------------------

def executed_notebook():
    """An exercise notebook as `jupyter nbconvert --execute` leaves it."""
    nb = exercise_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nb.cells[8]
    cell.metadata.update(execution=dict(TIMESTAMPS), scrolled=True, tags=["keep-me"])
    cell.execution_count = 5
    cell.outputs = [output("stream", name="stdout", text="1"),
                    output("stream", name="stdout", text="\n"),
                    output("display_data", data={"image/png": "iVBORw0KGgo="})]
    return nb


def test_normalise_drops_per_run_metadata_and_keeps_outputs():
    nb = notebook_format.normalise(executed_notebook(), "07_synthetic.ipynb")
    assert set(nb.metadata) == {"kernelspec"}
    cell = nb.cells[8]
    assert cell.metadata == {"tags": ["keep-me"]}
    assert cell.execution_count == 5
    assert [o.output_type for o in cell.outputs] == ["stream", "display_data"]
    assert cell.outputs[0].text == "1\n"  # the two flushes merged, as nbval compares them
    assert nb.cells[2].metadata.nbgrader.grade_id == "nb07_ex1_gamma_of_layer"
    text = nbformat.writes(nb)
    assert "execute_input" not in text and "widget-state" not in text


def test_normal_form_is_stable():
    once = notebook_format.normalised_text(executed_notebook(), "07_synthetic.ipynb")
    twice = notebook_format.normalised_text(nbformat.reads(once, as_version=4),
                                            "07_synthetic.ipynb")
    assert once == twice and once.endswith("}\n")


def timing_outputs(text, model_id="a1"):
    return [output("stream", name="stdout", text=text),
            output("display_data", data={
                "text/plain": "IntSlider(value=3)",
                notebook_format.WIDGET_MIME: {"model_id": model_id, "version_major": 2,
                                              "version_minor": 0}})]


@pytest.mark.parametrize("new_text, new_model, kept", [
    ("step took 0.91 ms at 0x7f3a2c\n", "b2", True),   # a timing, an address, a widget id
    ("step took 3 s at 0x1\n", "a1", True),
    ("step took 0.91 ms, loss 0.25\n", "a1", False),    # a new number: a real change
    ("step took 0.42 ms at 0x7f3a2c\nmore\n", "a1", False),
])
def test_a_rerun_keeps_outputs_that_only_differ_in_sanitised_parts(new_text, new_model, kept):
    patterns = notebook_format.sanitize_patterns()
    old = nbformat.v4.new_notebook(cells=[code("run()", outputs=timing_outputs(
        "step took 0.42 ms at 0x55d1e0\n"), execution_count=1)])
    new = copy.deepcopy(old)
    new.cells[0].outputs = timing_outputs(new_text, new_model)
    expected = old.cells[0].outputs if kept else copy.deepcopy(new.cells[0].outputs)
    assert notebook_format.keep_unchanged_outputs(old, new, patterns) == ([0] if kept else [])
    assert new.cells[0].outputs == expected


def test_a_changed_source_or_figure_takes_the_new_outputs():
    patterns = notebook_format.sanitize_patterns()
    figure = [output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"})]
    old = nbformat.v4.new_notebook(cells=[code("plot(1)", outputs=figure)])
    new = copy.deepcopy(old)
    new.cells[0].outputs[0].data["image/png"] = "BBBB"
    assert notebook_format.keep_unchanged_outputs(old, new, patterns) == []
    new = copy.deepcopy(old)
    new.cells[0].source = "plot(2)"
    assert notebook_format.keep_unchanged_outputs(old, new, patterns) == []


def timing_notebook():
    return nbformat.v4.new_notebook(cells=[
        md("# 01 · Timing"),
        code("import time\nstart = time.perf_counter(); sum(range(10**5))\n"
             "print(f'summed in {1e3 * (time.perf_counter() - start):.3f} ms')"),
        code("print(2 + 2)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


def test_make_notebooks_twice_leaves_the_file_unchanged(tmp_path, kernel_env, capsys):
    path = tmp_path / "notebooks" / "01_timing.ipynb"
    path.parent.mkdir()
    nbformat.write(timing_notebook(), path)
    assert run_main(notebook_format, "--execute", path)[0] == 0
    once = path.read_text()
    nb = json.loads(once)
    assert "".join(nb["cells"][2]["outputs"][0]["text"]) == "4\n"
    assert "iopub.execute_input" not in once
    code, printed = run_main(notebook_format, "--execute", path, capsys=capsys)
    assert code == 0 and "kept in 2 of 2 code cells" in printed
    assert path.read_text() == once  # the timing moved, the file did not
    nb = nbformat.reads(once, as_version=4)
    nb.cells[2].source = "print(2 + 3)"  # a real change
    nbformat.write(nb, path)
    assert run_main(notebook_format, "--execute", path)[0] == 0
    assert nbformat.read(path, as_version=4).cells[2].outputs[0].text == "5\n"


def test_check_fails_on_a_notebook_that_is_not_normalised(tmp_path, capsys):
    path = tmp_path / "01_timing.ipynb"
    nb = timing_notebook()
    path.write_text(notebook_format.normalised_text(nb, path.name))
    assert run_main(notebook_format, "--check", path)[0] == 0
    nb.cells[1].metadata["execution"] = dict(TIMESTAMPS)
    nbformat.write(nb, path)
    code, printed = run_main(notebook_format, "--check", path, capsys=capsys)
    assert code == 1 and "not normalised" in printed


@NEEDS_COURSE
def test_rerunning_the_first_notebook_changes_nothing(tmp_path, kernel_env):
    """`make notebooks` on an unchanged notebook leaves git clean (the fastest notebook)."""
    source = COURSE[0]
    path = tmp_path / "notebooks" / source.name
    path.parent.mkdir()
    shutil.copy2(source, path)
    notebook_format.run_and_normalise(path)
    assert path.read_text(encoding="utf-8") == source.read_text(encoding="utf-8"), (
        f"re-running {source.name} changed it: its outputs are not reproducible, or it was "
        "committed without `make notebooks`")
