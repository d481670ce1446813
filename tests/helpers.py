"""What several test files share: the gradient tolerance, the checks against central
differences, small data sets and networks, random (N, C, H, W) problems, the notebooks'
exercises, and the README's notebook table.

Central differences in float64 with h = 1e-5 (bnlib.numerical_gradient) are accurate to about
1e-10 absolute on the tests' small problems, whose gradients are O(1): a relative error of
1e-7 (the course's bar) leaves a wide margin, while a wrong term gives O(1).
"""
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from bnlib import MLP, SGD, load_mnist, numerical_gradient, rel_error

GRAD_TOL = 1e-7
README = Path(__file__).resolve().parent.parent / "README.md"


def assert_layer_gradients(forward, backward, dout, inputs):
    """Assert that a layer's backward agrees with central differences of its forward.

    forward(): (out, cache), computed from the arrays `inputs` (x, gamma, beta, ... changed in
    place by the differences); backward(dout, cache): the gradients of `inputs`, in order.
    """
    _, cache = forward()
    analytic = backward(dout, cache)
    assert len(analytic) == len(inputs)
    for got, wrt in zip(analytic, inputs):
        assert rel_error(got, numerical_gradient(lambda: forward()[0], wrt, dout)) < GRAD_TOL


def assert_model_gradients(model, x, y, names=None):
    """Assert that `model.loss(x, y)`'s gradients (all, or those `names`) agree with central
    differences; return them {name: array}."""
    model.loss(x, y)
    analytic = {name: g.copy() for name, g in model.grads.items()}   # loss() overwrites grads
    for name in model.params if names is None else names:
        numeric = numerical_gradient(lambda: model.loss(x, y), model.params[name])
        assert rel_error(analytic[name], numeric) < GRAD_TOL, name
    return analytic


def random_nchw_problem(rng, shape):
    """x (N, C, H, W) with mean 2 and std 3, gamma (C,) near 1, beta (C,), dout like x."""
    x = 3 * rng.standard_normal(shape) + 2
    c = shape[1]
    gamma, beta = rng.standard_normal(c) + 1, rng.standard_normal(c)
    return x, gamma, beta, rng.standard_normal(shape)


def small_classification_data(rng, n_train=240, n_test=90, d_in=12, classes=3):
    """A made-up classification task (x_train, y_train, x_test, y_test): class means apart,
    noise around them."""
    centres = 2.0 * rng.standard_normal((classes, d_in))

    def draw(n):
        y = rng.integers(0, classes, n)
        return centres[y] + rng.standard_normal((n, d_in)), y

    return (*draw(n_train), *draw(n_test))


def mnist_slice(n_train, n_test):
    """The first n_train training and n_test test images of MNIST, as load_mnist gives them."""
    x_train, y_train, x_test, y_test = load_mnist()
    return x_train[:n_train], y_train[:n_train], x_test[:n_test], y_test[:n_test]


def trained_mlp(rng, dtype=np.float64, steps=5, momentum=0.1):
    """A small MLP (6-5-4-3) with BN after a few training steps on random data."""
    model = MLP((6, 5, 4, 3), use_bn=True, init_std=0.5, rng=rng, dtype=dtype,
                bn_momentum=momentum)
    x, y = rng.standard_normal((8 * steps, 6)), rng.integers(0, 3, 8 * steps)
    optimizer = SGD(model.flat_params, model.flat_grads, lr=0.5)
    for start in range(0, 8 * steps, 8):
        model.loss(x[start:start + 8], y[start:start + 8])
        optimizer.step()
    return model


# ---- the notebooks' exercises, run without a kernel --------------------------------------------

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def exercises_of(notebook):
    """[(title, setup cell source, solution cell source, check cell source)] for every code cell
    of `notebook` (a path) holding a solution region; the check is the next code cell and the
    setup the notebook's first code cell. Titles as the student edition names them."""
    import nbformat
    from tools.make_student import exercise_title
    nb = nbformat.read(notebook, as_version=4)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    found = []
    for position, index in enumerate(code):
        if BEGIN in nb.cells[index].source:
            check = nb.cells[code[position + 1]].source if position + 1 < len(code) else ""
            found.append((exercise_title(nb.cells, index), nb.cells[code[0]].source,
                          nb.cells[index].source, check))
    return found


def with_region_replaced(source, lines):
    """`source` with its solution region replaced by `lines` (a str), at the region's indent."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip().startswith(BEGIN):
            indent = line[:len(line) - len(line.lstrip())]
            out += [indent + new for new in lines.split("\n")]
            inside = True
        elif line.strip().startswith(END):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def run_exercise(setup, solution, check):
    """Run an exercise's setup, solution and check cells in a fresh namespace, as a kernel
    would after running only the setup cell (IPython magics dropped). Returns the exception
    the cells raised, or None."""
    namespace = {"__name__": "__main__"}
    strip = lambda source: "\n".join(l for l in source.split("\n") if not l.lstrip().startswith("%"))
    try:
        for source in (setup, solution, check):
            exec(compile(strip(source), "<cell>", "exec"), namespace)
    except Exception as error:          # what the learner would see under the cell
        return error
    return None


def assert_exercises_refuse_bnlib(notebook, gamed):
    """Every exercise of `notebook` has a gamed solution in `gamed` ({title: code replacing the
    solution region, calling bnlib's own version}); each one's check must refuse it, saying
    that it calls bnlib (or, for a prediction, that it was computed); the teacher's solution
    must pass the same check."""
    from bnlib.exercises import LibraryCallError
    exercises = exercises_of(notebook)
    assert sorted(gamed) == sorted(title for title, *_ in exercises), "one gamed solution each"
    for title, setup, solution, check in exercises:
        assert run_exercise(setup, solution, check) is None, f"{title}: the solution fails"
        error = run_exercise(setup, with_region_replaced(solution, gamed[title]), check)
        assert isinstance(error, LibraryCallError), f"{title}: the gamed solution got {error!r}"


def parse_seconds(text):
    """'about 4 s', '24.3 s', '1 min 10 s' -> seconds (float), or None."""
    minutes = re.search(r"(\d+(?:\.\d+)?)\s*min", text)
    seconds = re.search(r"(\d+(?:\.\d+)?)\s*s\b", text)
    if not minutes and not seconds:
        return None
    return (float(minutes.group(1)) * 60 if minutes else 0.0) + \
        (float(seconds.group(1)) if seconds else 0.0)


def readme_column(header, readme_text=None):
    """{notebook file name: seconds} from the column `header` ("runs in", "study") of every
    README table that has one; rows are matched by their link to notebooks/NAME.ipynb."""
    if readme_text is None:
        readme_text = README.read_text(encoding="utf-8")
    found, column = {}, None
    for line in readme_text.splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip().lower() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header in cells:
            column = cells.index(header)
            continue
        link = re.search(r"\(notebooks/([^)]+\.ipynb)\)", line)
        if column is not None and link and column < len(cells):
            found[link.group(1)] = parse_seconds(cells[column])
    return found


def skip_or_fail(message):
    """A tool a test needs is missing: skip the test locally, but fail it under CI (`CI` set),
    where .ci/run installs every tool and the test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (.ci/run installs it: in CI this test must run)")
    pytest.skip(message)


def find_chromium():
    """Path of the system Chromium (/usr/bin/chromium or `chromium` on PATH), or None."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")
