"""The teacher's answer key (tools/make_answer_key.py): every answer and every solution of the
course, taken from the notebooks, with the hints left out."""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import make_answer_key
from tools.course import course_notebooks
from tools.make_student import ANSWER, BEGIN, solution_regions

REPO = Path(__file__).resolve().parent.parent
COURSE = course_notebooks(REPO)


def test_a_question_shows_its_answer_in_place_and_no_hint():
    source = ("**Question 1.** Why?\n\n<details><summary>Hint 1</summary>\n\nLook up.\n\n"
              "</details>\n<details><summary>Answer</summary>\n\nBecause.\n\n</details>\n\n"
              "**Question 2.** And then?\n\n<details><summary>Answer</summary>\nSo.\n</details>"
              "\n\n**Next:** [02](02_b.ipynb)")
    entry = make_answer_key.relink(make_answer_key.question_entry(source))
    assert entry == ("**Question 1.** Why?\n\n**Answer.** Because.\n\n**Question 2.** And then?"
                     "\n\n**Answer.** So.\n\n**Next:** [02](../notebooks/02_b.ipynb)")


def test_a_synthetic_notebook(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# 01 · One\n\n## 1. Part"),
        new_markdown_cell("### Exercise 1: add\n\nWrite it."),
        new_code_cell(f"def add(a, b):\n    {BEGIN}\n    return a + b\n    ### END SOLUTION"),
        new_code_cell("check_add(add)"),
        new_markdown_cell("**Question 1.** Sum?\n<details><summary>Answer</summary>3</details>"),
    ])
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "01_one.ipynb")
    assert make_answer_key.build(tmp_path, tmp_path / "key") == {"01_one.ipynb": (1, 1)}
    key = (tmp_path / "key" / "answer_key.md").read_text()
    assert ("## 01 · One\n\n#### Solution: Exercise 1: add\n\n```python\ndef add(a, b):\n"
            "    return a + b\n```\n\n**Question 1.** Sum?\n\n**Answer.** 3\n") in key
    assert "check_add" not in key and BEGIN not in key


@pytest.fixture(scope="module")
def course_key(tmp_path_factory):
    out = tmp_path_factory.mktemp("key") / "answer-key"
    counts = make_answer_key.build(REPO, out)
    return counts, (out / "answer_key.md").read_text(encoding="utf-8")


def test_the_key_holds_every_answer_and_every_solution_of_the_course(course_key):
    counts, key = course_key
    assert list(counts) == [path.name for path in COURSE]
    answers = solutions = 0
    for path in COURSE:
        nb = nbformat.read(path, as_version=4)
        assert f"## {nb.cells[0].source.splitlines()[0].lstrip('# ')}" in key
        for cell in nb.cells:
            answers += len(ANSWER.findall(cell.source)) if cell.cell_type == "markdown" else 0
            for region in solution_regions(cell.source):
                solutions += 1
                assert region.strip() in key, f"{path.name}: a solution is missing: {region}"
    assert key.count("**Answer.**") == answers == sum(q for q, _ in counts.values()) > 0
    assert key.count("#### Solution:") == solutions == sum(e for _, e in counts.values()) > 0
    assert "<summary>Hint" not in key and BEGIN not in key
