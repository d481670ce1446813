"""The one table printer of the benchmarks (imported by the scripts beside it)."""


def table(header, body, markdown):
    """Lines of a table: markdown, or plain text with aligned columns.

    Inputs: header, a list of column titles; body, a list of rows, each a list of strings.
    """
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return lines + ["| " + " | ".join(row) + " |" for row in body]
    widths = [max(len(row[k]) for row in [header] + body) for k in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header] + body]


def load_line(cores=None):
    """The machine's load average, flagged when it is above 1: on the 2-core machine the
    course is measured on, that means another program shared the cores during the run."""
    import os
    one, five, fifteen = os.getloadavg()
    line = (f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min), "
            f"{cores or os.cpu_count()} cores")
    if one > 1:
        line += ("  ** above 1: other programs shared the cores; these times are slower and "
                 "noisier than on a quiet machine")
    return line
