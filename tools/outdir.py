"""A build folder that a tool may empty and rewrite: only one that the tool wrote itself."""
import shutil
from pathlib import Path

MARK_FILE = ".written-by-tools"


def fresh_output_dir(out, writer):
    """Empty folder `out` for a new build, refusing to delete a folder no tool of ours wrote.

    Inputs: out (path of the build folder), writer (the tool's name, recorded in the mark file).
    Returns out as a Path, existing and holding only the mark file.
    Raises RuntimeError when out exists without the mark file (it may hold someone's work).
    """
    out = Path(out)
    if out.exists():
        if not (out / MARK_FILE).exists():
            raise RuntimeError(f"{out} exists and was not written by {writer} (no {MARK_FILE} "
                               "in it); move it away or choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARK_FILE).write_text(f"Written by {writer}; replaced on every run.\n")
    return out
