"""Render the executed course to a static web site, for reading without a kernel.

Usage (from the repository root; `make html` and `make html-student` run this):
    python -m tools.make_site [--out site]                          # the teacher's site
    python -m tools.make_site --student [--out site-student]        # the students' site

Layout of the site, mirroring the repository so that relative links keep working:
    site/index.html                 table of contents (each notebook's first heading, in order)
    site/notebooks/NN_slug.html     one page per notebook (nbconvert's HTML exporter, "lab"
                                    template), figure outputs and linked images embedded as base64
    site/pictures/..., ...          copies of the other local files the pages link to
    site/mathjax/                   MathJax 2.7, copied from the pinned Python package
                                    jupyter-server-mathjax (requirements-test.txt)
Links `NN_slug.ipynb` become `NN_slug.html`; each page gets a bar with Contents / previous / next.
Widget outputs (the sliders need a kernel) become a note saying so.
The notebooks are rendered as committed (run `make notebooks` first to refresh their outputs).
The students' site (--student) renders the student edition (tools.make_student: solutions
stubbed, answers removed, hints kept) with the teacher's run's outputs of the ordinary cells
(the figures) and no output in the exercise cells (a solution's or its check's output would
give the answer away).
Equations are typeset by the site's own copy of MathJax (HTML-CSS output, STIX web fonts), so
the pages need no network, from a web server or from files alike. `--mathjax-url URL` loads
MathJax 2.7 from URL instead (a CDN, or LOCAL_MATHJAX below) and copies none.
"""
import argparse
import base64
import html
import importlib.util
import mimetypes
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from tools.course import course_notebooks
from tools.make_student import (ANSWER, exercise_cells, make_student_notebook, solution_regions,
                                strip_answers, strip_source)
from tools.outdir import fresh_output_dir

LINK = re.compile(r'(href|src)="([^"]*)"')
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
LOCAL_MATHJAX = "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
# The site's own MathJax, seen from a page in site/notebooks/ (the package ships this config).
SHIPPED_MATHJAX = "../mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
# The package ships the STIX web fonts only (not MathJax's default TeX fonts): use them.
MATHJAX_FONTS = ('<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": '
                 '{availableFonts: [], preferredFont: null, webFont: "STIX-Web", '
                 'imageFont: null}});</script>')
NAV_STYLE = ("font: 15px sans-serif; padding: 8px 16px; border-bottom: 1px solid #ccc; "
             "background: #f7f7f7")


def notebook_title(nb, fallback):
    """The text of the notebook's first markdown heading, without markdown emphasis."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = HEADING.search(cell.source)
            if match:
                return re.sub(r"[*_`]", "", match.group(1))
    return fallback


def unexecuted_cells(nb):
    """Indices of code cells with source but no execution count (never run or cleared)."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and cell.source.strip() and cell.execution_count is None]


def local_target(url):
    """The path part of a relative link, or None for absolute URLs, data URIs and anchors."""
    if not url or url.startswith(("#", "/")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return None
    return re.split(r"[#?]", url, maxsplit=1)[0] or None


def copy_linked_file(target, here, root, out):
    """Make a relative link `target` of a page from folder `here` work inside the site.

    A link to a notebook needs the notebook (its page is rendered beside); a link to any other
    file of the repository gets a copy of that file at the same place under `out`.
    Returns True when the link will work, False when its target does not exist.
    """
    source = (here / target).resolve()
    if target.endswith(".ipynb"):
        return source.is_file()
    if not (source.is_file() and source.is_relative_to(root)):
        return False
    destination = out / source.relative_to(root)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
    return True


def data_uri(path):
    """The file at `path` as a base64 data URI, or None when it is not an image."""
    mime, _ = mimetypes.guess_type(path.name)
    if mime is None or not mime.startswith("image/") or not path.is_file():
        return None
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def rewrite_links(page, here, root, out, keep=()):
    """Embed linked local images, point `.ipynb` links at the pages, copy other linked files.

    Inputs: page (HTML text), here (the notebook's folder in the repository), root (the
    repository), out (the site folder, mirroring root), keep (URLs to leave as they are:
    the site's own files, such as its MathJax).
    Returns (new HTML, list of link targets that do not exist in the repository).
    """
    broken = []

    def fix(match):
        attribute, url = match.groups()
        target = local_target(html.unescape(url))
        if target is None or html.unescape(url) in keep:
            return match.group(0)
        source = (here / target).resolve()
        embedded = data_uri(source) if attribute == "src" and source.is_relative_to(root) else None
        if embedded is not None:
            return f'src="{embedded}"'
        if not copy_linked_file(target, here, root, out):
            broken.append(target)
        if target.endswith(".ipynb"):
            url = url.replace(".ipynb", ".html", 1)
        return f'{attribute}="{url}"'

    return LINK.sub(fix, page), broken


def nav_bar(pages, index):
    """HTML of the bar at the top of page `index`: Contents, previous and next notebooks.

    Inputs: pages, a list of (file stem, title) in course order; index into it.
    """
    links = ['<a href="../index.html">Contents</a>']
    if index > 0:
        links.append(f'<a href="{pages[index - 1][0]}.html">&larr; '
                     f'{html.escape(pages[index - 1][1])}</a>')
    if index + 1 < len(pages):
        links.append(f'<a href="{pages[index + 1][0]}.html">'
                     f'{html.escape(pages[index + 1][1])} &rarr;</a>')
    return f'<nav style="{NAV_STYLE}">' + " &middot; ".join(links) + "</nav>"


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p style="border-left: 3px solid #f0ad4e; padding: 4px 10px; margin: 0">'
               "<em>Interactive widget: its sliders need a running kernel. Open this notebook "
               "in JupyterLab to use them.</em></p>")


def without_widgets(nb):
    """A copy of `nb` whose widget outputs are a short note, and without saved widget states.

    A page cannot run the sliders: nbconvert would load a widget renderer from a CDN and show
    sliders that do nothing, or an empty output when offline.
    """
    nb = nbformat.from_dict(nb)  # a deep copy
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET_MIME in output.get("data", {}):
                output["data"] = {"text/html": WIDGET_NOTE}
    return nb


def render_notebook(nb, here, title, mathjax_url=None):
    """HTML of one executed notebook (its figure outputs are embedded as base64 by nbconvert).

    mathjax_url: where the page loads MathJax 2.7 from (None: nbconvert's default CDN).
    """
    exporter = HTMLExporter(template_name="lab")
    if mathjax_url:
        exporter.mathjax_url = mathjax_url
    resources = {"metadata": {"path": str(here), "name": title}}
    page, _ = exporter.from_notebook_node(without_widgets(nb), resources=resources)
    # require.js (from a CDN) only serves widget and JavaScript outputs, which the pages have not
    page = page.replace(f'<script src="{exporter.require_js_url}"></script>', "")
    if mathjax_url == SHIPPED_MATHJAX:  # configure the fonts before MathJax starts
        page = page.replace(f'<script src="{html.escape(mathjax_url)}"',
                            MATHJAX_FONTS + f'\n<script src="{html.escape(mathjax_url)}"', 1)
    return page


def copy_mathjax(out):
    """Copy MathJax 2.7 from the Python package jupyter-server-mathjax into out/mathjax/.

    Raises RuntimeError, saying how to install it, when the package is missing.
    """
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or spec.origin is None:
        raise RuntimeError("the site ships its own MathJax, from the Python package "
                           "jupyter-server-mathjax: pip install -r requirements-test.txt "
                           "(or pass --mathjax-url to load MathJax from elsewhere)")
    static = Path(spec.origin).parent / "static"
    shutil.copytree(static, out / "mathjax")


def index_page(course_title, pages, student=False):
    """HTML of the table of contents. pages: list of (file stem, title) in course order."""
    items = "\n".join(f'  <li><a href="notebooks/{stem}.html">{html.escape(title)}</a> '
                      f'<small>({stem}.ipynb)</small></li>' for stem, title in pages)
    edition = (" Students' edition: the exercises and the questions are left for you; solve "
               "them in the notebooks.") if student else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(course_title)}</title>
<style>body {{ font: 17px/1.5 sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; }}
li {{ margin: 0.4em 0; }} small {{ color: #666; }}</style></head>
<body>
<h1>{html.escape(course_title)}</h1>
<p>The course's notebooks, rendered with their outputs for reading without a kernel.
The sliders need a running kernel: open the notebooks in JupyterLab to use them.{edition}</p>
<ol>
{items}
</ol>
</body></html>
"""


def course_title(root):
    """The README's first heading, or a plain default."""
    readme = root / "README.md"
    match = HEADING.search(readme.read_text(encoding="utf-8")) if readme.is_file() else None
    return re.sub(r"[*_`]", "", match.group(1)) if match else "Batch Normalization: a course"


class PageText(HTMLParser):
    """Collects the text of an HTML page (entities decoded), without its scripts and styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def page_text(page):
    """The text a reader of the HTML page `page` can see (and the source of its equations)."""
    parser = PageText()
    parser.feed(page)
    return "".join(parser.parts)


SECRET_WORDS = 6  # a run of this many words of a solution or answer, found in a page, leaks it


def word_runs(text, n=SECRET_WORDS):
    """The runs of n consecutive words of `text` (lower case; punctuation, HTML tags such as an
    answer's <details><summary> and the targets of markdown links dropped: a reader never sees
    them), as a set of tuples; a text of fewer words gives one shorter run, itself."""
    seen = re.sub(r"</?[a-zA-Z][^>]*>|(?<=\])\([^)\s]*\)", " ", text)
    words = re.findall(r"\w+", seen.lower())
    if 0 < len(words) < n:
        return {tuple(words)}
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def output_text(cell):
    """The text of a code cell's outputs (streams, plain text, HTML, markdown, errors)."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for mime in ("text/plain", "text/html", "text/markdown"):
            value = output.get("data", {}).get(mime, "")
            parts.append("".join(value) if isinstance(value, list) else value)
        parts += [output.get("evalue", "")]
    return "\n".join(parts)


def secret_runs(nb):
    """Runs of words of the notebook's solutions, answers and exercise outputs (see word_runs)
    that appear nowhere else in it: the ones a students' page must not show."""
    secret, public = set(), set()
    exercises = exercise_cells(nb)
    for index, cell in enumerate(nb.cells):
        hidden = solution_regions(cell.source)
        shown = strip_source(cell.source, cell.cell_type)[0]
        if cell.cell_type == "markdown":
            hidden += ANSWER.findall(shown)
            shown = strip_answers(shown)[0]
        if cell.cell_type == "code" and index in exercises:
            hidden.append(output_text(cell))
        elif cell.cell_type == "code":
            shown += "\n" + output_text(cell)
        for text in hidden:
            secret |= word_runs(text)
        public |= word_runs(shown)
    return secret - public


def shown_secrets(nb, page):
    """The secret runs of words of notebook `nb` (secret_runs) that the HTML `page` shows."""
    secret, text = secret_runs(nb), page_text(page)
    shown = set()
    for length in {len(run) for run in secret}:
        shown |= secret & word_runs(text, length)
    return sorted(" ".join(run) for run in shown)


def write_pages(root, out, paths, notebooks, pages, mathjax_url=None):
    """Render each notebook to out/notebooks/, with its nav bar and fixed links.

    paths, notebooks: the notebook files and the notebooks to render (same order).
    Returns {notebook file name: list of its broken links}.
    """
    problems = {}
    for index, (path, nb) in enumerate(zip(paths, notebooks)):
        page = render_notebook(nb, path.parent, pages[index][1], mathjax_url)
        page, problems[path.name] = rewrite_links(page, path.parent, root, out,
                                                  keep=(mathjax_url,))
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav_bar(pages, index), page,
                      count=1)
        (out / "notebooks" / f"{path.stem}.html").write_text(page, encoding="utf-8")
    return problems


def build(root, out, mathjax_url=None, student=False):
    """Render the course at `root` (its notebooks in notebooks/) into the site folder `out`.

    mathjax_url: None ships MathJax in the site (copy_mathjax); else see render_notebook.
    student: render the student edition (see the module's docstring).
    Returns {notebook file name: list of problems (broken links, unexecuted cells)}.
    """
    root = Path(root).resolve()
    out = fresh_output_dir(out, "tools/make_site.py").resolve()
    (out / "notebooks").mkdir()
    if mathjax_url is None:
        copy_mathjax(out)
        mathjax_url = SHIPPED_MATHJAX
    paths = course_notebooks(root)
    teacher = [nbformat.read(path, as_version=4) for path in paths]
    shown = [make_student_notebook(nb, keep_outputs=True)[0] for nb in teacher] \
        if student else teacher
    pages = [(p.stem, notebook_title(nb, p.stem)) for p, nb in zip(paths, teacher)]
    problems = write_pages(root, out, paths, shown, pages, mathjax_url)
    for path, nb in zip(paths, teacher):  # the teacher's run, which gave every output
        problems[path.name] += [f"cell {i} not executed" for i in unexecuted_cells(nb)]
        if student:  # a last look: no run of words of a solution or an answer on the page
            page = (out / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
            problems[path.name] += [f"shows a solution or answer: {run!r}"
                                    for run in shown_secrets(nb, page)]
    (out / "index.html").write_text(index_page(course_title(root), pages, student),
                                    encoding="utf-8")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--out", default=None, type=Path,
                        help="the site's folder (default: site, or site-student with --student)")
    parser.add_argument("--student", action="store_true",
                        help="the students' site: no solutions, no answers")
    parser.add_argument("--mathjax-url", default=None, help="load MathJax 2.7 from this URL "
                        f"instead of shipping a copy, e.g. {LOCAL_MATHJAX}")
    args = parser.parse_args(argv)
    out = args.out or Path("site-student" if args.student else "site")
    problems = build(args.root, out, args.mathjax_url, args.student)
    for name, found in problems.items():
        print(f"{name}: " + ("ok" if not found else "PROBLEMS: " + "; ".join(found)))
    edition = "the students'" if args.student else "the teacher's"
    print(f"{edition} site written to {out}/index.html ({len(problems)} pages)")
    if any(problems.values()):
        raise SystemExit("some pages have problems (listed above)")


if __name__ == "__main__":
    main()
