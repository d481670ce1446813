"""Tests for tools/make_site.py: the static site of the executed course.

A synthetic two-notebook course (executed here with nbclient, so it has a real PNG output)
checks the mechanics; the last test builds the real course and checks its links.
"""
import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools import make_site

REPO = Path(__file__).resolve().parent.parent
COURSE = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
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
           "[the picture itself](../pictures/dot.png), then [two](02_two.ipynb#Part-2)."),
        code("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots(figsize=(2, 1)); ax.plot([0, 1]); plt.show()"),
    ])
    second = nbformat.v4.new_notebook(cells=[
        md("Some words first.\n\n## Two\n[back to one](01_one.ipynb), [the web](https://x.org)"),
        code("print(1 + 1)"),
        code("import ipywidgets\nipywidgets.IntSlider(description='n')"),
    ])
    for name, nb in (("01_one.ipynb", first), ("02_two.ipynb", second)):
        NotebookClient(nb, kernel_name="python3").execute()
        nbformat.write(nb, root / "notebooks" / name)
    return root


@pytest.fixture(scope="module")
def synthetic_course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def synthetic_site(synthetic_course):
    site = synthetic_course.parent / "site"
    return site, make_site.build(synthetic_course, site)


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


def test_broken_links_and_unexecuted_cells_are_reported(tmp_path):
    root = make_course(tmp_path / "course")
    nb = nbformat.read(root / "notebooks" / "02_two.ipynb", as_version=4)
    nb.cells[0].source += " [gone](../pictures/missing.png)"
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nbformat.write(nb, root / "notebooks" / "02_two.ipynb")
    problems = make_site.build(root, tmp_path / "site")
    assert problems["02_two.ipynb"] == ["../pictures/missing.png", "cell 3 not executed"]
    with pytest.raises(SystemExit, match="broken links or unexecuted"):
        make_site.main(["--root", str(root), "--out", str(tmp_path / "site")])


def test_mathjax_url_can_point_at_a_local_copy(synthetic_course, tmp_path):
    local = "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    make_site.build(synthetic_course, tmp_path / "site", mathjax_url=local)
    one = links_of(tmp_path / "site" / "notebooks" / "01_one.html")
    assert local in one and not any("mathjax" in url and url != local for url in one)


def test_build_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError, match="not written by tools/make_site.py"):
        make_site.build(REPO, tmp_path / "mine")


@pytest.mark.skipif(not COURSE, reason="no notebooks/NN_slug.ipynb in the course yet")
def test_course_site(tmp_path):
    problems = make_site.build(REPO, tmp_path / "site")
    assert problems == {p.name: [] for p in COURSE}
    pages = assert_site_links_resolve(tmp_path / "site")
    assert len(pages) == len(COURSE) + 1
    for path in COURSE:
        page = (tmp_path / "site" / "notebooks" / f"{path.stem}.html").read_text()
        assert "data:image/png;base64," in page, f"{path.name}: no embedded figure"
