"""Run and normalise the course's notebooks, so that what is committed is a clean diff.

Usage (from the repository root; `make notebooks [NB=notebooks/03_backward_pass.ipynb]` runs
the first form with one BLAS thread):
    python -m tools.notebook_format --execute [--timeout 600] [NOTEBOOK ...]
    python -m tools.notebook_format [NOTEBOOK ...]          # normalise only, no kernel
    python -m tools.notebook_format --check [NOTEBOOK ...]  # exit 1 if one is not normalised
Without NOTEBOOK: every course notebook (tools.course).

--execute runs each notebook top to bottom in a fresh kernel (nbclient, from the notebook's
folder, `--timeout` seconds per cell) and stops at the first error without writing anything.
Then, for each code cell whose new outputs equal the outputs stored in the file before the run
once both are sanitised with nbval's patterns (notebooks/sanitize.cfg: timings, memory
addresses) and widget model ids are ignored, the stored outputs are kept: a rerun without a
real change (a timing that moved, a new widget id) leaves `git status` clean, while any other
change (a number, a figure's pixels, a new line) takes the new outputs.

A normalised notebook has:
- outputs and execution counts (nbval and the site need them), consecutive stream outputs of a
  cell merged into one (as nbval compares them; where they split depends on flush timing);
- no per-run metadata: no cell execution timestamps (`execution`, `ExecuteTime`) or view state
  (`scrolled`), and notebook metadata reduced to `kernelspec` and `language_info` (no saved
  widget state: it belongs to one kernel session and differs on every run);
- every exercise tagged for nbgrader from its solution markers (tools.nbgrader_tags);
- nbformat's own JSON layout (one-space indent, sorted keys, final newline).
"""
import argparse
import configparser
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from tools.course import course_notebooks
from tools.nbgrader_tags import tag_notebook

REPO = Path(__file__).resolve().parent.parent
SANITIZE_CFG = REPO / "notebooks" / "sanitize.cfg"
NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info")
CELL_METADATA_DROPPED = ("execution", "ExecuteTime", "scrolled")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def normalise(nb, name):
    """Normalise notebook `nb` in place (see the module's docstring); returns it.

    name: the notebook's file name (the nbgrader grade ids start with its number).
    """
    for key in list(nb.metadata):
        if key not in NOTEBOOK_METADATA_KEPT:
            del nb.metadata[key]
    merge_streams = CoalesceStreamsPreprocessor()
    for index, cell in enumerate(nb.cells):
        for key in CELL_METADATA_DROPPED:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            merge_streams.preprocess_cell(cell, {}, index)
    tag_notebook(nb, name)
    return nb


def normalised_text(nb, name):
    """The file contents of notebook `nb` once normalised (nb itself is left unchanged)."""
    text = nbformat.writes(normalise(copy.deepcopy(nb), name))
    return text if text.endswith("\n") else text + "\n"


def sanitize_patterns(path=SANITIZE_CFG):
    """[(compiled regex, replacement)] from an nbval sanitize file (none if it is missing)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return [(re.compile(parser[section]["regex"]), parser[section]["replace"])
            for section in parser.sections()]


def comparable(outputs, patterns):
    """The outputs as nbval would compare them: streams merged, text sanitised, no widget ids."""
    cell = nbformat.v4.new_code_cell(outputs=copy.deepcopy(outputs))
    CoalesceStreamsPreprocessor().preprocess_cell(cell, {}, 0)

    def clean(text):
        text = ANSI.sub("", "".join(text) if isinstance(text, list) else text)
        for regex, replacement in patterns:
            text = regex.sub(replacement, text)
        return text

    result = []
    for output in cell.outputs:
        if output.output_type == "stream":
            result.append(("stream", output.name, clean(output.text)))
        elif output.output_type == "error":
            result.append(("error", output.ename, clean(output.evalue),
                           [clean(line) for line in output.traceback]))
        else:
            data = {}
            for mime, value in output.get("data", {}).items():
                if mime == WIDGET_MIME:
                    value = {k: v for k, v in value.items() if k != "model_id"}
                elif mime.startswith("text/"):
                    value = clean(value)
                data[mime] = value
            result.append((output.output_type, data, dict(output.get("metadata", {}))))
    return result


def keep_unchanged_outputs(old, new, patterns):
    """Give each code cell of `new` the outputs it had in `old` when they are the same.

    The same: same cell (same id, or same position when ids are absent) with the same source,
    and outputs equal after `comparable`. Changes `new` in place; returns the indices of the
    cells whose stored outputs were kept.
    """
    old_cells = {cell.get("id", index): cell for index, cell in enumerate(old.cells)}
    kept = []
    for index, cell in enumerate(new.cells):
        before = old_cells.get(cell.get("id", index))
        if cell.cell_type != "code" or before is None or before.source != cell.source:
            continue
        if comparable(before.outputs, patterns) == comparable(cell.outputs, patterns):
            cell.outputs = before.outputs
            kept.append(index)
    return kept


def execute(nb, folder, timeout=600):
    """Run every cell of `nb` (in place) in a fresh kernel started in `folder`."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            store_widget_state=False,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def run_and_normalise(path, timeout=600, patterns=None):
    """Execute the notebook at `path`, keep its unchanged outputs, normalise, write it back.

    Returns (number of code cells whose stored outputs were kept, number of code cells).
    """
    path = Path(path)
    old = nbformat.read(path, as_version=4)
    new = execute(copy.deepcopy(old), path.resolve().parent, timeout)
    kept = keep_unchanged_outputs(old, new, sanitize_patterns() if patterns is None else patterns)
    path.write_text(normalised_text(new, path.name), encoding="utf-8")
    return len(kept), sum(1 for cell in new.cells if cell.cell_type == "code")


def not_normalised(paths):
    """The notebooks of `paths` whose file differs from their normalised text."""
    return [path for path in paths if Path(path).read_text(encoding="utf-8")
            != normalised_text(nbformat.read(path, as_version=4), Path(path).name)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks (default: every course notebook)")
    parser.add_argument("--execute", action="store_true", help="run them first, in a kernel")
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or course_notebooks(REPO)
    if args.check:
        stale = not_normalised(paths)
        for path in stale:
            print(f"{path}: not normalised (run python -m tools.notebook_format {path})")
        sys.exit(1 if stale else 0)
    for path in paths:
        if args.execute:
            kept, total = run_and_normalise(path, args.timeout)
            print(f"{path}: executed; stored outputs kept in {kept} of {total} code cells "
                  "(unchanged up to notebooks/sanitize.cfg)", flush=True)
        else:
            nb = nbformat.read(path, as_version=4)
            Path(path).write_text(normalised_text(nb, Path(path).name), encoding="utf-8")
            print(f"{path}: normalised", flush=True)


if __name__ == "__main__":
    main()
