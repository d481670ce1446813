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
