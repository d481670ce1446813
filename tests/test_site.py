"""Tests for tools/make_site.py: the teacher's and the students' static sites.

A synthetic two-notebook course (executed here with nbclient, so it has a real PNG output, an
exercise and a question) checks the mechanics; then both sites of the real course are built
and checked: links, figures, and on the students' site no solution and no answer (a checker
that sees every secret of the teacher's pages, and catches one planted in a page).
The browser test (marker `browser`) serves a site on 127.0.0.1, blocks every other request,
and checks in headless Chromium that the site's own MathJax typesets the equations.
"""
import base64
import functools
import html
import http.server
import importlib.util
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools import make_site, make_student
from tools.course import course_notebooks

from helpers import find_chromium, skip_or_fail

REPO = Path(__file__).resolve().parent.parent
COURSE = course_notebooks(REPO)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET_LINE = "return x + x  # the secret doubling trick"
ANSWER_TEXT = "Because the hitchhikers guide says so, of course."
CHECK_OUTPUT = "double(21) = 42"
PNG_1x1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
                           "HwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


class Links(HTMLParser):
    """Collects every href and src of an HTML page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


def links_of(path):
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.urls


def assert_site_links_resolve(site):
    """Every relative link of every page of the site points at a file inside the site."""
    pages = [site / "index.html", *sorted((site / "notebooks").glob("*.html"))]
    for page in pages:
        for url in links_of(page):
            target = make_site.local_target(url)
            if target is not None:
                assert not target.endswith(".ipynb"), f"{page.name}: unrewritten link {url}"
                resolved = (page.parent / target).resolve()
                assert resolved.is_file(), f"{page.name}: broken link {url}"
                assert resolved.is_relative_to(site.resolve()), f"{page.name}: {url} leaves site"
    return pages


def make_course(root):
    """Two executed notebooks linking each other, a picture and a data file."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    (root / "notebooks").mkdir(parents=True)
    (root / "pictures").mkdir()
    (root / "pictures" / "dot.png").write_bytes(PNG_1x1)
    (root / "README.md").write_text("# The *Synthetic* Course\n\nText.\n")
    first = nbformat.v4.new_notebook(cells=[
        md("# One: **first** steps\n![a dot](../pictures/dot.png) and "
           "[the picture itself](../pictures/dot.png), then [two](02_two.ipynb#Part-2).\n\n"
           "Inline $\\frac{a}{b}$ and displayed:\n$$\\frac{\\partial \\ell}{\\partial x} = "
           "\\sum_i \\hat{x}_i$$"),
        code("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots(figsize=(2, 1)); ax.plot([0, 1]); plt.show()"),
    ])
    second = nbformat.v4.new_notebook(cells=[
        md("Some words first.\n\n## Two\n[back to one](01_one.ipynb), [the web](https://x.org)"),
        code("print(1 + 1)"),
        code("import ipywidgets\nipywidgets.IntSlider(description='n')"),
        md("### Exercise 1: double it"),
        code(f"def double(x):\n    ### BEGIN SOLUTION\n    {SECRET_LINE}\n    ### END SOLUTION"),
        code("print('double(21) =', double(21))"),
        md("**Question 1.** Why forty-two?\n\n<details><summary>Hint 1</summary>\n\n"
           "Think of the guide.\n\n</details>\n<details><summary>Answer</summary>\n\n"
           f"{ANSWER_TEXT}\n\n</details>"),
    ])
    for name, nb in (("01_one.ipynb", first), ("02_two.ipynb", second)):
        NotebookClient(nb, kernel_name="python3").execute()
        nbformat.write(nb, root / "notebooks" / name)
    return root


@pytest.fixture(scope="module")
def mathjax_package():
    """The site ships MathJax from the package jupyter-server-mathjax (requirements-test.txt)."""
    if importlib.util.find_spec("jupyter_server_mathjax") is None:
        skip_or_fail("jupyter-server-mathjax is not installed: pip install -r requirements-test.txt")


@pytest.fixture(scope="module")
def synthetic_course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def synthetic_site(synthetic_course, mathjax_package):
    site = synthetic_course.parent / "site"
    return site, make_site.build(synthetic_course, site)


@pytest.fixture(scope="module")
def synthetic_student_site(synthetic_course, mathjax_package):
    site = synthetic_course.parent / "site-student"
    return site, make_site.build(synthetic_course, site, student=True)


def external_resources(page_path):
    """URLs of scripts, stylesheets and images of a page that are not in the site itself."""
    text = page_path.read_text(encoding="utf-8")
    urls = re.findall(r'<(?:script|img)[^>]*\ssrc="([^"]+)"', text)
    urls += re.findall(r'<link[^>]*\shref="([^"]+)"', text)
    return [url for url in urls if not url.startswith("data:") and make_site.local_target(
        html.unescape(url)) is None]


def test_index_lists_the_notebooks_in_order_by_their_first_heading(synthetic_site):
    site, problems = synthetic_site
    assert problems == {"01_one.ipynb": [], "02_two.ipynb": []}
    index = (site / "index.html").read_text()
    assert "<title>The Synthetic Course</title>" in index
    assert re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', index) == [
        ("notebooks/01_one.html", "One: first steps"), ("notebooks/02_two.html", "Two")]


def test_pages_link_each_other_and_embed_their_figures(synthetic_site):
    site, _ = synthetic_site
    assert_site_links_resolve(site)
    one = (site / "notebooks" / "01_one.html").read_text()
    assert 'href="02_two.html#Part-2"' in one and ".ipynb" not in " ".join(
        links_of(site / "notebooks" / "01_one.html"))
    assert (site / "pictures" / "dot.png").read_bytes() == PNG_1x1  # copied for the <a> link
    assert '<img alt="a dot" src="data:image/png;base64,' in one  # markdown image embedded
    assert one.count('src="data:image/png;base64,') == 2  # ... and the matplotlib output
    assert "<title>One: first steps</title>" in one
    two = (site / "notebooks" / "02_two.html").read_text()
    assert '<a href="01_one.html">&larr; One: first steps</a>' in two  # the nav bar
    assert 'href="https://x.org"' in two
    assert make_site.WIDGET_NOTE in two  # the slider's output, in words
    assert "widget-view" not in two and "unpkg.com" not in two  # no renderer from a CDN


def test_broken_links_and_unexecuted_cells_are_reported(tmp_path, mathjax_package):
    root = make_course(tmp_path / "course")
    nb = nbformat.read(root / "notebooks" / "02_two.ipynb", as_version=4)
    nb.cells[0].source += " [gone](../pictures/missing.png)"
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nbformat.write(nb, root / "notebooks" / "02_two.ipynb")
    problems = make_site.build(root, tmp_path / "site")
    assert problems["02_two.ipynb"] == ["../pictures/missing.png", "cell 7 not executed"]
    with pytest.raises(SystemExit, match="some pages have problems"):
        make_site.main(["--root", str(root), "--out", str(tmp_path / "site")])


def test_the_site_ships_its_own_mathjax_and_loads_nothing_from_elsewhere(synthetic_site):
    site, _ = synthetic_site
    assert (site / "mathjax" / "MathJax.js").is_file()
    assert (site / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert (site / "mathjax" / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").is_dir()
    for page in sorted((site / "notebooks").glob("*.html")):
        assert make_site.SHIPPED_MATHJAX in html.unescape(page.read_text())
        assert external_resources(page) == [], page.name  # no CDN: no require.js, no MathJax


def test_mathjax_url_can_point_elsewhere(synthetic_course, tmp_path):
    local = "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    make_site.build(synthetic_course, tmp_path / "site", mathjax_url=local)
    one = links_of(tmp_path / "site" / "notebooks" / "01_one.html")
    assert local in one and not any("mathjax" in url and url != local for url in one)
    assert not (tmp_path / "site" / "mathjax").exists()


def test_build_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError, match="not written by tools/make_site.py"):
        make_site.build(REPO, tmp_path / "mine")


# --- the students' site ------------------------------------------------------------------------

def test_the_student_site_has_no_solution_and_no_answer(synthetic_student_site):
    site, problems = synthetic_student_site
    assert problems == {"01_one.ipynb": [], "02_two.ipynb": []}
    assert_site_links_resolve(site)
    two = make_site.page_text((site / "notebooks" / "02_two.html").read_text())
    for secret in (SECRET_LINE, ANSWER_TEXT, CHECK_OUTPUT, "BEGIN SOLUTION"):
        assert secret not in two
    assert "Think of the guide." in two and "Hint 1" in two  # hints stay
    assert "Exercise 1: double it - write your solution here" in two  # the stub
    assert "print('double(21) =', double(21))" in two  # the check, without its output
    assert "Students' edition" in (site / "index.html").read_text()
    one = (site / "notebooks" / "01_one.html").read_text()
    assert one.count('src="data:image/png;base64,') == 2  # the figure output is kept


def test_a_planted_solution_answer_or_check_output_is_caught(synthetic_course,
                                                            synthetic_student_site):
    site, _ = synthetic_student_site
    teacher = nbformat.read(synthetic_course / "notebooks" / "02_two.ipynb", as_version=4)
    page = (site / "notebooks" / "02_two.html").read_text()
    assert make_site.shown_secrets(teacher, page) == []
    for planted in (SECRET_LINE, ANSWER_TEXT, CHECK_OUTPUT):
        leaky = page.replace("</body>", f"<pre>{html.escape(planted)}</pre></body>")
        assert make_site.shown_secrets(teacher, leaky), f"not caught: {planted}"


@pytest.mark.parametrize("sabotage, leaked", [
    ("strip_answers", ANSWER_TEXT),       # the answers left in
    ("exercise_cells", CHECK_OUTPUT),     # the exercise cells' outputs left in
])
def test_a_build_that_leaks_is_reported(synthetic_course, tmp_path, monkeypatch, sabotage,
                                        leaked, mathjax_package):
    broken = {"strip_answers": lambda source: (source, 0), "exercise_cells": lambda nb: set()}
    monkeypatch.setattr(make_student, sabotage, broken[sabotage])
    problems = make_site.build(synthetic_course, tmp_path / "site", student=True)
    page = make_site.page_text((tmp_path / "site" / "notebooks" / "02_two.html").read_text())
    assert leaked in page  # the sabotage worked ...
    assert any(p.startswith("shows a solution or answer") for p in problems["02_two.ipynb"])


# --- the real course ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course_sites(tmp_path_factory, mathjax_package):
    """Both sites of the real course: dict teacher/student -> (site folder, problems)."""
    if not COURSE:
        pytest.skip("no course notebooks yet")
    folder = tmp_path_factory.mktemp("course-sites")
    return {edition: (folder / edition, make_site.build(REPO, folder / edition,
                                                        student=edition == "student"))
            for edition in ("teacher", "student")}


def test_course_site(course_sites):
    site, problems = course_sites["teacher"]
    assert problems == {p.name: [] for p in COURSE}
    pages = assert_site_links_resolve(site)
    assert len(pages) == len(COURSE) + 1
    for path in COURSE:
        page = (site / "notebooks" / f"{path.stem}.html").read_text()
        assert "data:image/png;base64," in page, f"{path.name}: no embedded figure"


HINT = re.compile(r"<summary>\s*Hint\b")


def test_course_student_site_shows_no_solution_and_no_answer(course_sites):
    site, problems = course_sites["student"]
    teacher_site, _ = course_sites["teacher"]
    assert problems == {p.name: [] for p in COURSE}
    assert len(assert_site_links_resolve(site)) == len(COURSE) + 1
    for path in COURSE:
        nb = nbformat.read(path, as_version=4)
        secrets = {" ".join(run) for run in make_site.secret_runs(nb)}
        page = (site / "notebooks" / f"{path.stem}.html").read_text()
        teacher_page = (teacher_site / "notebooks" / f"{path.stem}.html").read_text()
        assert secrets and set(make_site.shown_secrets(nb, teacher_page)) == secrets, (
            "the checker must see every secret on the teacher's page")
        assert make_site.shown_secrets(nb, page) == []
        assert "BEGIN SOLUTION" not in page and not re.search(r"<summary>\s*Answer", page)
        assert len(HINT.findall(page)) == sum(len(HINT.findall(c.source)) for c in nb.cells)
        if "data:image/png;base64," in teacher_page:
            assert "data:image/png;base64," in page, f"{path.name}: its figures are gone"


# --- equations in a browser, offline -----------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        skip_or_fail("Chromium not found: apt-get install chromium (as root) to run this test")
    return path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> base URL of a web server on 127.0.0.1 (free port) for that folder."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def typeset_page(chromium, url):
    """Open `url` in headless Chromium with every request but the local server's blocked.

    Returns (number of MathJax output elements, the page's visible text, blocked URLs,
    URLs served locally), once MathJax has finished typesetting.
    """
    from playwright.sync_api import sync_playwright
    blocked, served = [], []

    def route(route_request):
        request_url = route_request.request.url
        if request_url.startswith(("http://127.0.0.1:", "file:", "data:")):
            served.append(request_url)
            route_request.continue_()
        else:
            blocked.append(request_url)
            route_request.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.route("**/*", route)
            page.goto(url)
            page.wait_for_function("() => window.MathJax && MathJax.isReady")
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
            count = page.evaluate(
                "() => document.querySelectorAll('.MathJax, .MathJax_Display').length")
            text = page.evaluate("() => document.body.innerText")
        finally:
            browser.close()
    return count, text, blocked, served


@pytest.fixture(scope="module")
def real_page_site(tmp_path_factory, mathjax_package):
    """The students' site of one real notebook, the first with a fraction in its text (built
    alone: the whole course's sites are built and checked once, by the tests above)."""
    path = next(p for p in COURSE if "\\frac" in "".join(
        c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown"))
    root = tmp_path_factory.mktemp("one-notebook")
    (root / "notebooks").mkdir()
    shutil.copy2(path, root / "notebooks" / path.name)
    shutil.copytree(REPO / "pictures", root / "pictures")
    make_site.build(root, root / "site", student=True)
    return root / "site", path.stem


@pytest.mark.browser
def test_equations_are_typeset_offline(synthetic_site, real_page_site, chromium, serve):
    site, _ = synthetic_site
    count, text, blocked, served = typeset_page(chromium, serve(site) + "notebooks/01_one.html")
    assert blocked == [], f"the page asked for {blocked}"
    assert any("/mathjax/" in url for url in served)  # the site's own copy did the work
    assert count >= 2 and "\\frac" not in text and "$" not in text, text[:2000]
    assert "Math Processing Error" not in text
    # A page of the real course.
    student_site, stem = real_page_site
    count, text, blocked, _ = typeset_page(chromium, serve(student_site) + f"notebooks/{stem}.html")
    assert blocked == [] and count > 0 and "\\frac" not in text
    assert "Math Processing Error" not in text
