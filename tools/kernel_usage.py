"""Measure what each notebook costs its kernel: peak memory (RSS) and CPU seconds, top to bottom.

Usage (from the repository root):
    python -m tools.kernel_usage [NOTEBOOK ...] [--save DIR]

Each notebook runs in a fresh kernel (nbclient, as `make notebooks` does), from its own folder.
Once its last cell has run, and before the kernel is shut down, the kernel process is read
through /proc (Linux only): its peak resident memory VmHWM (/proc/PID/status) and its CPU time
utime + stime, plus that of the children it has waited for (/proc/PID/stat). Prints a markdown
table, one row a notebook, then the load average, to size a JupyterHub's per-user limits.
Run it as `make notebooks` does, with one BLAS thread (OPENBLAS_NUM_THREADS=1 ...).
--save DIR writes the executed notebooks there (the committed ones are left alone).
"""
import argparse
import datetime
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools.course import course_notebooks

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    """Peak resident set size (VmHWM) of process `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the value is in kB
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def cpu_seconds(pid):
    """CPU seconds (user + system) of process `pid` and of the children it has waited for."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) ": field 3 is fields[0]
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])  # fields 14-17
    return (utime + stime + cutime + cstime) / TICKS_PER_SECOND


def measure(path, timeout=600, save_to=None):
    """Run notebook `path` in a fresh kernel; return dict name, peak_mib, cpu_s, wall_s."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.monotonic()
    with client.setup_kernel():
        pid = client.km.provisioner.pid
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        result = dict(name=path.name, peak_mib=peak_rss_mib(pid), cpu_s=cpu_seconds(pid),
                      wall_s=time.monotonic() - start)
    if save_to is not None:
        nbformat.write(nb, Path(save_to) / path.name)
    return result


def table(rows):
    """The measurements as a markdown table (one row a notebook)."""
    lines = ["| notebook | peak kernel RSS (MiB) | kernel CPU (s) | wall (s) |",
             "|---|---:|---:|---:|"]
    lines += [f"| `{r['name']}` | {r['peak_mib']:.0f} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to measure (default: every course notebook)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--save", type=Path, default=None, help="write executed copies here")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    paths = args.notebooks or course_notebooks(root)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        rows.append(measure(Path(path).resolve(), args.timeout, args.save))
        print(f"{path}: {rows[-1]['peak_mib']:.0f} MiB, {rows[-1]['cpu_s']:.1f} s CPU, "
              f"{rows[-1]['wall_s']:.1f} s", flush=True)
    print()
    print(table(rows))
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nmeasured {datetime.date.today().isoformat()}, {os.cpu_count()} cores, "
          f"load average {' '.join(load)} (1, 5, 15 min) at the end")


if __name__ == "__main__":
    main()
