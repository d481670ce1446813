"""Write the teacher's answer key: every question's answer and every exercise's solution.

Usage (from the repository root; `make answer-key` runs this):
    python -m tools.make_answer_key [--out answer-key]

The key is made from the notebooks themselves, the same source as the student edition, so it
cannot drift from them. It is one markdown file, answer-key/answer_key.md (readable in
JupyterLab, on GitHub, or printed), with a section per notebook in course order and in it, in
the notebook's order:
- each question (a markdown cell with a folded `<details><summary>Answer</summary>` block):
  its text with the answer unfolded where it stands, and without the hints;
- each exercise (a cell with a `### BEGIN SOLUTION` ... `### END SOLUTION` region): its title
  and the solution cell without the marker lines, code in a python block.
Links to pictures and to other notebooks are rewritten to work from answer-key/. Keep the key
away from students: the folder is in .gitignore, and `make student` never includes it.
"""
import argparse
import re
from pathlib import Path

import nbformat

from tools.course import course_notebooks
from tools.make_student import ANSWER, BEGIN, END, exercise_title, solution_regions
from tools.outdir import fresh_output_dir

DETAILS = re.compile(r"[ \t]*<details[^>]*>.*?</details>[ \t]*\n?", re.IGNORECASE | re.DOTALL)
ANSWER_BODY = re.compile(r"</summary>(.*)</details>", re.IGNORECASE | re.DOTALL)
NOTEBOOK_LINK = re.compile(r"\]\((?!https?:|#|\.\./)([\w.-]+\.ipynb)")


def relink(text):
    """Links as seen from answer-key/: ../pictures stays, NAME.ipynb -> ../notebooks/NAME.ipynb."""
    return NOTEBOOK_LINK.sub(r"](../notebooks/\1", text)


def demote(text):
    """Markdown headings two levels down, so a notebook's own headings sit under its section."""
    return re.sub(r"^(#{1,4}) ", r"\1## ", text, flags=re.MULTILINE)


def question_entry(source):
    """A question cell as the key shows it: each folded answer unfolded where it stands,
    "**Answer.** ...", and every other <details> block (the hints) left out."""
    def shown(block):
        answer = ANSWER_BODY.search(block.group(0))
        return f"\n**Answer.** {answer.group(1).strip()}\n\n" if ANSWER.match(block.group(0)) \
            else ""
    return demote(re.sub(r"\n{3,}", "\n\n", DETAILS.sub(shown, source)).strip())


def solution_entry(cells, index):
    """An exercise's title and its solution: a code cell whole, without the marker lines (so
    the function around the solution shows); a markdown cell's written answer."""
    cell = cells[index]
    parts = [f"#### Solution: {exercise_title(cells, index)}"]
    if cell.cell_type == "code":
        code = "\n".join(line for line in cell.source.split("\n")
                         if line.strip() not in (BEGIN, END))
        parts.append(f"```python\n{code.strip(chr(10))}\n```")
    else:
        parts += [region.strip() for region in solution_regions(cell.source)]
    return "\n\n".join(parts)


def notebook_key(nb, stem):
    """The key's section for one notebook: (markdown text, questions, exercises)."""
    title = next((line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
                  for line in cell.source.split("\n") if line.startswith("# ")), stem)
    entries, questions, exercises = [f"## {title}"], 0, 0
    for index, cell in enumerate(nb.cells):
        if BEGIN in cell.source:
            entries.append(solution_entry(nb.cells, index))
            exercises += 1
        elif cell.cell_type == "markdown" and ANSWER.search(cell.source):
            entries.append(question_entry(cell.source))
            questions += len(ANSWER.findall(cell.source))
    return relink("\n\n".join(entries)), questions, exercises


def build(root, out):
    """Write the answer key of the course at `root` into folder `out`.

    Returns {notebook file name: (questions answered, exercises solved)}.
    """
    out = fresh_output_dir(out, "tools/make_answer_key.py")
    sections, counts = ["# Answer key\n\nFor teachers: the answers to every question and the "
                        "solution of every exercise, generated from the notebooks "
                        "(`make answer-key`). Not for students."], {}
    for path in course_notebooks(root):
        text, questions, exercises = notebook_key(nbformat.read(path, as_version=4), path.stem)
        sections.append(text)
        counts[path.name] = (questions, exercises)
    (out / "answer_key.md").write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--out", default="answer-key", type=Path)
    args = parser.parse_args(argv)
    counts = build(args.root, args.out)
    for name, (questions, exercises) in counts.items():
        print(f"{name}: {questions} answer(s), {exercises} solution(s)")
    print(f"answer key written to {args.out}/answer_key.md")


if __name__ == "__main__":
    main()
