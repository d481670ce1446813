"""Render the executed course to a static web site, for reading without a kernel.

Usage (from the repository root; `make html` runs this):
    python -m tools.make_site [--out site]

Layout of the site, mirroring the repository so that relative links keep working:
    site/index.html                 table of contents (each notebook's first heading, in order)
    site/notebooks/NN_slug.html     one page per notebook (nbconvert's HTML exporter, "lab"
                                    template), figure outputs and linked images embedded as base64
    site/pictures/..., ...          copies of the other local files the pages link to
Links `NN_slug.ipynb` become `NN_slug.html`; each page gets a bar with Contents / previous / next.
Widget outputs (the sliders need a kernel) become a note saying so.
The notebooks are rendered as committed (run `make notebooks` first to refresh their outputs).
Equations are typeset by MathJax 2.7, which the pages load from its CDN (right for a site on the
web; offline the equations show as LaTeX source). To read offline, install MathJax locally
(Debian: `apt-get install libjs-mathjax`) and pass `--mathjax-url` the LOCAL_MATHJAX below
(or run `make html MATHJAX_URL=...`). Everything else on the pages works offline.
"""
import argparse
import base64
import html
import mimetypes
import re
import shutil
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from tools.outdir import fresh_output_dir

LINK = re.compile(r'(href|src)="([^"]*)"')
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
LOCAL_MATHJAX = "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
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


def rewrite_links(page, here, root, out):
    """Embed linked local images, point `.ipynb` links at the pages, copy other linked files.

    Inputs: page (HTML text), here (the notebook's folder in the repository), root (the
    repository), out (the site folder, mirroring root).
    Returns (new HTML, list of link targets that do not exist in the repository).
    """
    broken = []

    def fix(match):
        attribute, url = match.groups()
        target = local_target(html.unescape(url))
        if target is None:
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
    return page


def index_page(course_title, pages):
    """HTML of the table of contents. pages: list of (file stem, title) in course order."""
    items = "\n".join(f'  <li><a href="notebooks/{stem}.html">{html.escape(title)}</a> '
                      f'<small>({stem}.ipynb)</small></li>' for stem, title in pages)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(course_title)}</title>
<style>body {{ font: 17px/1.5 sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; }}
li {{ margin: 0.4em 0; }} small {{ color: #666; }}</style></head>
<body>
<h1>{html.escape(course_title)}</h1>
<p>The course's notebooks, rendered with their outputs for reading without a kernel.
The sliders need a running kernel: open the notebooks in JupyterLab to use them.</p>
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


def write_pages(root, out, paths, pages, mathjax_url=None):
    """Render each notebook of `paths` to out/notebooks/, with its nav bar and fixed links.

    Returns {notebook file name: list of its broken links}.
    """
    problems = {}
    for index, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        page = render_notebook(nb, path.parent, pages[index][1], mathjax_url)
        page, problems[path.name] = rewrite_links(page, path.parent, root, out)
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav_bar(pages, index), page,
                      count=1)
        (out / "notebooks" / f"{path.stem}.html").write_text(page, encoding="utf-8")
    return problems


def build(root, out, mathjax_url=None):
    """Render the course at `root` (notebooks/NN_slug.ipynb) into the site folder `out`.

    mathjax_url: see render_notebook.
    Returns {notebook file name: list of problems (broken links, unexecuted cells)}.
    """
    root = Path(root).resolve()
    out = fresh_output_dir(out, "tools/make_site.py").resolve()
    (out / "notebooks").mkdir()
    paths = sorted((root / "notebooks").glob("[0-9]*.ipynb"))
    notebooks = [nbformat.read(path, as_version=4) for path in paths]
    pages = [(p.stem, notebook_title(nb, p.stem)) for p, nb in zip(paths, notebooks)]
    problems = write_pages(root, out, paths, pages, mathjax_url)
    for path, nb in zip(paths, notebooks):
        problems[path.name] += [f"cell {i} not executed" for i in unexecuted_cells(nb)]
    (out / "index.html").write_text(index_page(course_title(root), pages), encoding="utf-8")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--out", default="site", type=Path)
    parser.add_argument("--mathjax-url", default=None, help="MathJax 2.7 to load instead of "
                        f"the CDN's, e.g. {LOCAL_MATHJAX} (Debian: apt-get install libjs-mathjax)")
    args = parser.parse_args(argv)
    problems = build(args.root, args.out, args.mathjax_url)
    for name, found in problems.items():
        print(f"{name}: " + ("ok" if not found else "PROBLEMS: " + "; ".join(found)))
    print(f"site written to {args.out}/index.html ({len(problems)} pages)")
    if any(problems.values()):
        raise SystemExit("some pages have broken links or unexecuted cells (listed above)")


if __name__ == "__main__":
    main()
