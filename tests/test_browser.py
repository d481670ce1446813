"""The course as a learner meets it: `make lab`'s JupyterLab driven in headless Chromium.

Run: pytest -m browser tests/test_browser.py (part of `make test` and of CI; about 3.5 minutes,
2 of them the notebooks' own time). It prints the notebooks' times and the sliders' latency.

One server, one browser. The server is started with the command line of `make lab`
(tools.lab.lab_command, plus --no-browser and a free port) in a fresh HOME with empty Jupyter
folders and without the Makefile's thread, backend or CI variables, so it sees what a
learner's first `make lab` sees. The page opens the address the server PRINTS (it must show
notebook 01 and, at the server's root, notebooks/, pictures/, bnlib/, data/). Then one page
stays open for the whole session, and every notebook notebooks/[0-9A]*.ipynb in turn is
opened from its file browser with a double-click, as a learner does: check what shows before
running (every image, no widget's repr), wait for its kernel, Run All Cells, and assert
- no failed image (every <img> decodes with a width; no answer >= 400 from the server),
- no error (no `error` message on the kernel's channel, every execute_reply "ok"),
- no widget left "Loading widget..." or "Error displaying widget",
- every cell that ran over 1.5 x 5 s shows a progress bar with a label,
- the run (Run All Cells to the last execute_reply) within 1.5 x the time the README's
  notebook table states for it ("runs in" column),
- every cell marked `# NBVAL_CHECK_OUTPUT` prints what the committed notebook shows, compared as
  nbval compares it (notebooks/sanitize.cfg, streams merged; tools.notebook_format.comparable),
  on its printed text (stdout and results; progress bars and figures are not compared).
This is the one run of every notebook in `make test`: where Chromium is missing, `make test`
runs nbval instead (`make test-notebooks`), which checks the same marked cells.
Notebook 04: before running, its panel's cell shows the figure and "Run this cell to move the
sliders"; after, its text is at least 9 pt as shown, the sliders move the figures the way the
notebook teaches, and key press to new figure painted takes at most 200 ms median and 400 ms
max over 10 moves of each slider. All along, every request the browser makes goes to
127.0.0.1, and the news prompt never shows.
Every wait is on an event (a line printed, a websocket frame, a DOM condition), never a sleep.
The server never writes the repository's notebooks: autosave is off in the test's own settings
(the only setting the learner does not share), and the test checks their bytes are unchanged
(and removes notebooks/.ipynb_checkpoints/ if the session made it).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from tools.lab import REPO, lab_command, lab_environment
from tools.notebook_format import comparable, sanitize_patterns

from helpers import find_chromium, readme_column, skip_or_fail

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(path.name for path in (REPO / "notebooks").glob("[0-9A]*.ipynb"))
BUDGET_FACTOR = 1.5      # a notebook may run in up to 1.5x the time the README states
LONG_CELL_S = 5.0        # a cell that runs longer shows a progress bar (1.5x: must show one)
START_TIMEOUT_S = 120    # for the server to print its address, for a page to load
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
URL_PRINTED = re.compile(r"http://127\.0\.0\.1:(\d+)/\S*\?token=(\w+)")
# What a learner's shell does not have: the Makefile exports these for tests and builds only.
# CI among them: under CI bnlib hides its progress bars, which the learner sees.
NOT_A_LEARNERS = ["CI", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                  "BNLIB_PROGRESS", "BNLIB_BLAS_THREADS", "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE",
                  "JUPYTER_CONFIG_PATH", "JUPYTER_PATH"]
TEST_ONLY_SETTINGS = {  # never save into the repository while the test runs its notebooks
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


# --- the server --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        skip_or_fail("Chromium not found (/usr/bin/chromium or `chromium` on PATH). Install it "
                     "with `apt-get install chromium` (Debian/Ubuntu, as root) to run this test")
    return path


def learner_environment(tmp):
    """`make lab`'s environment in a fresh HOME with empty Jupyter folders of its own."""
    env = lab_environment()
    for name in NOT_A_LEARNERS:
        env.pop(name, None)
    folders = dict(HOME="home", JUPYTER_CONFIG_DIR="config", JUPYTER_DATA_DIR="data",
                   JUPYTER_RUNTIME_DIR="runtime", JUPYTERLAB_SETTINGS_DIR="settings",
                   JUPYTERLAB_WORKSPACES_DIR="workspaces", IPYTHONDIR="ipython")
    for name, folder in folders.items():
        env[name] = str(tmp / folder)
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    for name, values in TEST_ONLY_SETTINGS.items():
        path = tmp / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


class Server:
    """JupyterLab started as `make lab` starts it; its output goes to `log`."""

    def __init__(self, tmp):
        self.log, self.url, self.printed = tmp / "lab.log", None, threading.Event()
        command = lab_command(["--no-browser", "--ServerApp.port=0"])
        self.process = subprocess.Popen(command, cwd=REPO, env=learner_environment(tmp),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace", start_new_session=True)
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self):
        """Copy the server's output to the log; note the first address it prints."""
        with open(self.log, "w") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                match = URL_PRINTED.search(line)
                if match and not self.printed.is_set():
                    self.url, self.port, self.token = match.group(0), *match.groups()
                    self.base = f"http://127.0.0.1:{self.port}/"
                    self.printed.set()
        self.printed.set()  # the server exited: stop waiting

    def wait_for_address(self):
        if not self.printed.wait(START_TIMEOUT_S) or self.url is None:
            pytest.fail("JupyterLab printed no http://127.0.0.1:PORT/...?token=... address; "
                        "the end of its output:\n" + self.log.read_text(errors="replace")[-3000:])

    def api(self, path, method="GET"):
        """The server's REST API (JSON), authenticated with the printed token."""
        request = urllib.request.Request(self.base + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stop(self):
        """Shut the server down with its kernels; kill its process group if it lingers."""
        try:
            if self.url is not None:
                self.api("api/shutdown", method="POST")
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def notebook_digests():
    return {name: hashlib.sha256((REPO / "notebooks" / name).read_bytes()).hexdigest()
            for name in NOTEBOOKS}


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium):
    """A running JupyterLab as `make lab` starts it (see Server)."""
    tmp = tmp_path_factory.mktemp("lab")
    before, checkpoints = notebook_digests(), REPO / "notebooks" / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    server = Server(tmp)
    try:
        server.wait_for_address()
        server.tmp = tmp
        yield server
    finally:
        server.stop()
        if not had_checkpoints:      # JupyterLab makes a checkpoint of every notebook it opens
            shutil.rmtree(checkpoints, ignore_errors=True)
    assert notebook_digests() == before, "the browser session changed a notebook file"


@pytest.fixture(scope="module")
def browser(lab, chromium, request):
    """One headless Chromium for the module; records every request to a host not 127.0.0.1."""
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = chrome.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(START_TIMEOUT_S * 1000)
        context.outside, context.failed, context.times, context.latency = [], [], {}, None
        context.on("request", lambda req: outside_request(context, req.url))
        context.on("response", lambda res: res.status >= 400 and context.failed.append(
            f"{res.status} {res.url}"))
        context.on("requestfailed", lambda req: request_failed(context, req))
        try:
            yield context
        finally:
            report_times(request.config, context.times, context.latency, lab.tmp)
            chrome.close()


@pytest.fixture(scope="module")
def desk(lab, browser):
    """One page that shows JupyterLab for the whole session, its file browser at notebooks/ and
    no notebook open: the notebooks are opened from it one after another, as a learner does."""
    page = browser.new_page()
    page.goto(notebook_url(lab, "01_chain_rule.ipynb"))
    page.locator(".jp-NotebookPanel").first.wait_for()
    close_tab(lab, page)
    try:
        yield page
    finally:
        page.close()


def request_failed(context, req):
    """Record a request that got no answer. Aborted ones are not failures: JupyterLab sets a
    markdown image's src twice (relative, then resolved to /files/...), aborting the first."""
    if "ERR_ABORTED" not in (req.failure or ""):
        context.failed.append(f"{req.failure} {req.url}")


def outside_request(context, url):
    parts = urlsplit(url)
    if parts.scheme not in ("data", "blob") and parts.hostname != "127.0.0.1":
        context.outside.append(url)


def report_times(config, times, latency, tmp):
    """Print the notebooks' times and the sliders' latency (whatever pytest captures)."""
    lines = [""]
    if times:
        lines += ["notebook times in the browser (run = Run All Cells to the last reply; kernel "
                  "CPU = its CPU time meanwhile; open = page load to kernel ready)",
                  f"{'notebook':<32} {'README':>7} {'budget':>7} {'run':>7} {'kernel CPU':>10} "
                  f"{'open':>6}"]
        lines += [f"{name:<32} {t['stated']:6.0f}s {t['budget']:6.1f}s {t['run']:6.1f}s "
                  f"{t['cpu'] or float('nan'):9.1f}s {t['open']:5.1f}s"
                  for name, t in times.items()]
        total = sum(t["run"] for t in times.values())
        lines.append(f"{'all':<32} {'':>7} {'':>7} {total:6.1f}s")
        slow = [name for name, t in times.items() if t.get("long")]
        lines += ["", f"cells over {LONG_CELL_S:g} s (code cell number: seconds, progress bars)"
                  ] if slow else []
        lines += [f"{name:<32} " + "; ".join(f"{cell}: {took:.1f} s {labels}"
                                              for cell, took, labels in t.get("long", []))
                  for name, t in times.items() if t.get("long")]
    if latency:
        lines += ["", "notebook 04, key press to the new figure painted (ms; readout = key press "
                  "to the new readout)",
                  f"{'slider':<14} {'moves':>5} {'median':>7} {'max':>6} {'readout median':>15}"]
        lines += [f"{name:<14} {len(row['paint']):5d} {median(row['paint']):7.0f} "
                  f"{max(row['paint']):6.0f} "
                  f"{median(row['readout']) if row['readout'] else float('nan'):15.0f}"
                  for name, row in latency.items()]
    lines += [f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
              if Path("/proc/loadavg").exists() else "", f"screenshots and server log: {tmp}"]
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():   # printed even when the tests pass
        print("\n".join(lines), flush=True)


# --- the kernel's channel: execute replies and errors, read from the websocket -------------------

def kernel_message(payload):
    """One kernel websocket frame (v1 binary or JSON protocol) as a dict: channel, msg_type,
    header, metadata, content."""
    if isinstance(payload, str):
        message = json.loads(payload)
        channel, header = message.get("channel"), message["header"]
        metadata, content = message.get("metadata", {}), message.get("content", {})
    else:
        count = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 * (i + 1):8 * (i + 2)], "little")
                   for i in range(count)]
        parts = [payload[start:end] for start, end in zip(offsets, offsets[1:])]
        channel, header = parts[0].decode(), json.loads(parts[1])
        metadata, content = json.loads(parts[3]), json.loads(parts[4])
        parent = json.loads(parts[2])
    return dict(channel=channel, msg_type=header.get("msg_type"), header=header,
                parent=message.get("parent_header", {}) if isinstance(payload, str) else parent,
                metadata=metadata, content=content)


def seconds_between(start, end):
    """Seconds from one ISO time stamp of a kernel message to another."""
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


class KernelTraffic:
    """What one page's kernel connection received: readiness, execute replies (time received,
    status, seconds the kernel spent on the cell, the request's msg_id), errors, and the
    printed outputs of each request (stdout and results, as nbformat outputs)."""

    def __init__(self):
        self.ready, self.replies, self.errors, self.socket = False, [], [], None
        self.printed = {}          # msg_id of an execute_request -> list of outputs
        self.idle = set()          # msg_ids whose outputs have all arrived (status: idle)

    def attach(self, socket):
        self.socket = socket
        socket.on("framereceived", self.record)

    def record(self, payload):
        message = kernel_message(payload)
        content, msg_type = message["content"], message["msg_type"]
        if msg_type == "kernel_info_reply":
            self.ready = True
        elif msg_type == "execute_reply":
            started = message["metadata"].get("started")
            took = seconds_between(started, message["header"]["date"]) if started else 0.0
            self.replies.append((time.monotonic(), content.get("status"), took,
                                 message["parent"].get("msg_id")))
        elif msg_type == "error":
            self.errors.append(f"{content.get('ename')}: {content.get('evalue')}")
        if msg_type == "status" and content.get("execution_state") == "idle":
            self.idle.add(message["parent"].get("msg_id"))
        if msg_type in ("stream", "execute_result"):
            outputs = self.printed.setdefault(message["parent"].get("msg_id"), [])
            if msg_type == "stream" and content.get("name") == "stdout":
                outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                      text=content.get("text", "")))
            elif msg_type == "execute_result":
                outputs.append(nbformat.v4.new_output(
                    "execute_result", data={"text/plain": content["data"].get("text/plain", "")},
                    execution_count=content.get("execution_count")))

    def wait_until(self, condition, what, timeout_s):
        """Wait for frames until condition() holds (checked first and after every frame)."""
        if condition():
            return
        try:
            self.socket.wait_for_event("framereceived", predicate=lambda _: condition(),
                                       timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


# --- a notebook in a page ---------------------------------------------------------------------

# In the page: every <img> of the notebook decoded (or not): the list of those that failed.
FAILED_IMAGES_JS = """async () => {
    const images = [...document.querySelectorAll('.jp-NotebookPanel img')];
    const results = await Promise.all(images.map(img => img.decode().then(
        () => img.naturalWidth > 0 ? null : img.getAttribute('src').slice(0, 120),
        () => img.getAttribute('src').slice(0, 120))));
    return {count: images.length, failed: results.filter(r => r !== null)};
}"""
CELLS_JS = "() => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook-cell').length"
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(|<img\b")
WIDGET_TROUBLE = ["Loading widget", "Error displaying widget", "model not found"]
# In the page: outputs that show a widget's Python repr (its text/plain) instead of the widget.
WIDGET_REPRS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
    .map(e => e.innerText).filter(t => /\\b(V|H)?Box\\(children=|\\b\\w+Slider\\(value=/.test(t))
    .map(t => t.slice(0, 100))"""
WIDGETS_SETTLED_JS = """(words) => {
    const text = [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
        .map(e => e.innerText).join('\\n');
    return !words.some(w => text.includes(w));
}"""


def notebook_cells(name):
    return nbformat.read(REPO / "notebooks" / name, as_version=4).cells


def sent_code_cells(name):
    """Index, among the notebook's code cells, of each code cell with source: the nth
    execute_reply answers code cell sent_code_cells(name)[n]."""
    code = [cell for cell in notebook_cells(name) if cell.cell_type == "code"]
    return [k for k, cell in enumerate(code) if cell.source.strip()]


# In the page: the labels of the progress bars (tqdm's: a label, a bar, a count, in a row) in
# the outputs of the index-th code cell.
PROGRESS_LABELS_JS = """(index) => {
    const cell = document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[index];
    return [...cell.querySelectorAll('.jp-OutputArea-output .widget-hprogress')].map(bar => {
        const row = bar.closest('.widget-hbox');
        const label = row && row.querySelector('.widget-html');
        return label ? label.textContent.replace(/\\s+/g, ' ').trim() : ''; });
}"""


def long_cells(page, name, traffic):
    """The cells the kernel spent more than LONG_CELL_S on: [(code cell number from 1,
    seconds, [labels of its progress bars])]."""
    found = []
    for index, reply in zip(sent_code_cells(name), traffic.replies):
        if reply[2] > LONG_CELL_S:
            found.append((index + 1, reply[2], page.evaluate(PROGRESS_LABELS_JS, index)))
    return found


def printed_text(outputs):
    """A cell's outputs reduced to what it prints: stdout streams and results' text/plain."""
    kept = []
    for output in outputs:
        if output.output_type == "stream" and output.name == "stdout":
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=output.text))
        elif output.output_type == "execute_result" and "text/plain" in output.data:
            kept.append(nbformat.v4.new_output("execute_result", execution_count=None,
                                               data={"text/plain": output.data["text/plain"]}))
    return kept


def checked_outputs_that_differ(name, traffic):
    """Code cells marked # NBVAL_CHECK_OUTPUT whose printed text in this run differs from the
    committed notebook's, compared as nbval does: [(code cell number from 1, committed, now)]."""
    code = [cell for cell in notebook_cells(name) if cell.cell_type == "code"]
    patterns, differ = sanitize_patterns(), []
    for index, reply in zip(sent_code_cells(name), traffic.replies):
        if not code[index].source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"):
            continue
        stored = comparable(printed_text(code[index].outputs), patterns)
        now = comparable(printed_text(traffic.printed.get(reply[3], [])), patterns)
        if stored != now:
            differ.append((index + 1, stored, now))
    return differ


def markdown_images(name):
    """How many pictures the notebook's markdown shows (![...](...) and <img> tags)."""
    return sum(len(MARKDOWN_IMAGE.findall(cell.source)) for cell in notebook_cells(name)
               if cell.cell_type == "markdown")


def open_notebook(context, url, name):
    """Open `url` (showing notebook `name`) in a new page; wait for its cells, its markdown's
    pictures and its kernel. Returns (page, KernelTraffic, seconds from page load to kernel
    ready)."""
    page, start = context.new_page(), time.monotonic()
    traffic = shown_with_kernel(page, name, lambda: page.goto(url))
    return page, traffic, time.monotonic() - start


def open_from_file_browser(page, name):
    """Open notebook `name` as a learner does in the page that shows JupyterLab: double-click
    it in the file browser (at notebooks/). Returns (KernelTraffic, seconds to kernel ready)."""
    start = time.monotonic()
    item = page.locator(".jp-DirListing-item", has=page.locator(
        ".jp-DirListing-itemName", has_text=re.compile(f"^{re.escape(name)}$")))
    traffic = shown_with_kernel(page, name, item.dblclick)
    return traffic, time.monotonic() - start


def shown_with_kernel(page, name, show):
    """Call show(), which makes the page show notebook `name`; wait for its kernel, its cells
    and its markdown's pictures. Returns the KernelTraffic of its kernel's websocket."""
    traffic = KernelTraffic()
    with page.expect_websocket(lambda ws: "/channels" in ws.url) as socket:
        show()
    traffic.attach(socket.value)
    traffic.wait_until(lambda: traffic.ready, "the kernel's kernel_info_reply", START_TIMEOUT_S)
    page.wait_for_function(f"() => ({CELLS_JS})() === {len(notebook_cells(name))}")
    page.wait_for_function(f"() => document.querySelectorAll("
                           f"'.jp-NotebookPanel .jp-MarkdownCell img').length >= "
                           f"{markdown_images(name)}")
    return traffic


def assert_images_load(page, where):
    images = page.evaluate(FAILED_IMAGES_JS)
    assert not images["failed"], f"{where}: images that did not load: {images['failed']}"
    return images["count"]


def kernel_cpu_seconds(socket_url):
    """CPU seconds (user + system) the kernel of a /api/kernels/ID/channels socket has used so
    far, read from /proc (None elsewhere). Reported beside the wall time: on a busy machine the
    wall time grows, the CPU time much less."""
    kernel_id = re.search(r"/api/kernels/([\w-]+)/channels", socket_url).group(1)
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"kernel-{kernel_id}.json" in stat.read_text():
                fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return None


def run_all_cells(page, traffic, n_code, timeout_s):
    """Run > Run All Cells; wait for one execute_reply per code cell.

    Returns (wall seconds from the click to the last reply, the kernel's CPU seconds or None).
    """
    page.get_by_role("menuitem", name="Run", exact=True).click()
    cpu, start = kernel_cpu_seconds(traffic.socket.url), time.monotonic()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    traffic.wait_until(lambda: len(traffic.replies) >= n_code,
                       f"{n_code} execute replies (got {len(traffic.replies)})", timeout_s)
    wall, cpu_after = traffic.replies[-1][0] - start, kernel_cpu_seconds(traffic.socket.url)
    return wall, (cpu_after - cpu if cpu is not None and cpu_after is not None else None)


def close_notebook(lab, page):
    """Close the page and shut its kernel down, as closing the notebook would."""
    page.close()
    shut_kernels_down(lab)


def shut_kernels_down(lab):
    for session in lab.api("api/sessions"):
        lab.api(f"api/sessions/{session['id']}", method="DELETE")


# In the page, after a notebook's close icon was clicked: closed, or a dialog asks about saving.
CLOSED_OR_ASKED_JS = """() => !document.querySelector('.jp-NotebookPanel') ||
    [...document.querySelectorAll('.jp-Dialog button')].some(b => b.textContent.includes('Discard'))"""


def close_tab(lab, page):
    """Close the notebook's tab without saving (the session changed its outputs), and shut its
    kernel down: the page then shows no notebook, as before the next one is opened."""
    page.locator(".jp-NotebookPanel").first.wait_for()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current "
                 ".lm-TabBar-tabCloseIcon").click()
    page.wait_for_function(CLOSED_OR_ASKED_JS)
    discard = page.locator(".jp-Dialog button", has_text="Discard")
    if discard.count():
        discard.click()
    page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel')")
    shut_kernels_down(lab)


def notebook_url(lab, name):
    """The tree address of a notebook; reset: open only that notebook, not the last layout."""
    return f"{lab.base}lab/tree/notebooks/{name}?token={lab.token}&reset"


def test_lab_opens_at_notebook_01_with_the_whole_course(lab, browser):
    assert "/lab/tree/notebooks/01_chain_rule.ipynb?token=" in lab.url, lab.url
    page, traffic, _ = open_notebook(browser, lab.url, "01_chain_rule.ipynb")
    try:
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert config["news"]["disabled"] and config["extensionManager"]["name"] == "read-only"
        page.screenshot(path=str(lab.tmp / "01_opened.png"))
        page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").click()  # the root of the server
        for folder in ("notebooks", "pictures", "bnlib", "data"):
            expect(page.locator(".jp-DirListing-itemName", has_text=re.compile(
                f"^{folder}$"))).to_be_visible()
        page.screenshot(path=str(lab.tmp / "01_root_folder.png"))
    finally:
        close_notebook(lab, page)
    assert not browser.outside, f"requests beyond 127.0.0.1: {browser.outside}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_the_browser(lab, browser, desk, name):
    stated = readme_column("runs in").get(name)
    assert stated, f"the README's notebook table states no time for {name}"
    budget = BUDGET_FACTOR * stated
    n_code = len(sent_code_cells(name))
    failed_before = len(browser.failed)
    page = desk
    traffic, opened = open_from_file_browser(page, name)
    try:
        assert_images_load(page, f"{name} before running")
        reprs = page.evaluate(WIDGET_REPRS_JS)
        assert not reprs, f"{name} shows a widget's repr before running: {reprs}"
        if name.startswith("04_"):
            check_saturation_panel_before_running(page, lab.tmp)
        seconds, cpu = run_all_cells(page, traffic, n_code, timeout_s=4 * budget + 60)
        browser.times[name] = dict(stated=stated, budget=budget, run=seconds, open=opened, cpu=cpu)
        assert not traffic.errors, f"{name}: a cell failed: {traffic.errors}"
        assert [reply[1] for reply in traffic.replies] == ["ok"] * n_code
        # the shell's reply may overtake the last outputs on iopub: wait for every "idle"
        traffic.wait_until(lambda: all(reply[3] in traffic.idle for reply in traffic.replies),
                           "the kernel's idle status after every cell", START_TIMEOUT_S)
        differ = checked_outputs_that_differ(name, traffic)
        assert not differ, (f"{name}: cells marked # NBVAL_CHECK_OUTPUT (number, committed, "
                            f"this run) print something else than the committed notebook: "
                            f"{differ}")
        page.wait_for_function(WIDGETS_SETTLED_JS, arg=WIDGET_TROUBLE, polling=100,
                               timeout=30_000)
        assert_images_load(page, f"{name} after running")
        assert browser.failed[failed_before:] == [], f"{name}: failed requests"
        browser.times[name]["long"] = slow = long_cells(page, name, traffic)
        unlabelled = [(cell, f"{took:.1f} s", labels) for cell, took, labels in slow
                      if took > BUDGET_FACTOR * LONG_CELL_S and not all(labels or [""])]
        assert not unlabelled, (f"{name}: code cells (number, time, bar labels) that ran over "
                                f"{BUDGET_FACTOR * LONG_CELL_S:g} s without a labelled progress "
                                f"bar: {unlabelled}")
        if name.startswith("04_"):
            check_saturation_sliders(page, lab.tmp)
            browser.latency = measure_slider_latency(page)
            assert_latency(browser.latency)
        page.screenshot(path=str(lab.tmp / f"{name}_after_run.png"))
    finally:
        close_tab(lab, page)
    assert not browser.outside, f"requests beyond 127.0.0.1: {browser.outside}"
    assert seconds <= budget, (f"{name} ran in {seconds:.1f} s in the browser, over its budget "
                               f"{budget:.1f} s (1.5 x the README's {stated:g} s)")


def test_no_news_prompt_after_the_session(lab, browser, desk):
    """After the whole session (minutes of JupyterLab, on the page that stayed open all along),
    no news box, and no request went out."""
    desk.screenshot(path=str(lab.tmp / "end_of_session.png"))
    toasts = desk.locator(".Toastify__toast").all_inner_texts()
    assert not [t for t in toasts if "news" in t.lower()], toasts
    schema = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    defaults = {key: value["default"] for key, value in schema["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
    assert not browser.outside, f"requests beyond 127.0.0.1: {browser.outside}"


# --- notebook 04: the sliders ----------------------------------------------------------------

READOUT = re.compile(r"without BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+) \| "
                     r"with BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+)")
LATENCY_MOVES = 10              # key presses per slider
LATENCY_MEDIAN_MS, LATENCY_MAX_MS = 200, 400
# BN's output does not depend on the scale or shift of its input (up to eps = 1e-5 against batch
# variances of order one): its figures may move by one unit of the readout's last digit at most.
SAME = dict(bn_sat=0.1, bn_grad=0.001, plain_sat=0.1, plain_grad=0.001)

# In the page, before a key press: watch the panel. Times (performance.now(), ms) of the key
# press (the keydown event's timeStamp), of the readout's text changing, and of the new figure
# painted: the <img>'s src changed, the new image decoded (img.decode()), and the next animation
# frame began, the frame that paints it.
WATCH_PANEL_JS = """() => {
    const panel = document.querySelector('.bn-panel');
    const image = panel.querySelector('img.bn-plot'), readout = panel.querySelector('.bn-readout');
    const move = window.bnMove = {pressed: null, readout: null, painted: null, failed: false};
    const src = image.getAttribute('src'), text = readout.innerText;
    let decoding = false;
    document.addEventListener('keydown', e => { move.pressed = e.timeStamp; },
                              {capture: true, once: true});
    const observer = new MutationObserver(() => {
        if (move.readout === null && readout.innerText !== text) move.readout = performance.now();
        if (!decoding && image.getAttribute('src') !== src) {
            decoding = true;
            image.decode().then(
                () => requestAnimationFrame(() => { move.painted = performance.now(); }),
                () => { move.failed = true; });
        }
        if (decoding && move.readout !== null) observer.disconnect();
    });
    observer.observe(panel, {subtree: true, childList: true, attributes: true,
                             characterData: true});
}"""
# The figure is painted; the readout has changed too, or the kernel is idle again (it sends the
# readout before it goes idle: a readout that has not changed by then will not change).
MOVE_DONE_JS = """() => window.bnMove.failed || (window.bnMove.painted !== null &&
    (window.bnMove.readout !== null || document.querySelector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator').dataset.status === 'idle'))"""


def panel_state(page):
    """The panel's state: (readout text, src of the figure's image)."""
    return (page.locator(".bn-readout").inner_text(),
            page.locator("img.bn-plot").get_attribute("src"))


def figures(move):
    """Layer 1's numbers before and after a move (dicts, see readout_figures); the readout must
    have changed with the figure."""
    assert move["readout"] is not None, "the figure changed but the readout did not"
    return readout_figures(move["before"]), readout_figures(move["after"])


def readout_figures(readout):
    """Layer 1's numbers in the readout: saturated % and mean sigma'(z), without and with BN."""
    match = READOUT.search(readout)
    assert match, f"the readout does not read as expected: {readout!r}"
    plain_sat, plain_grad, bn_sat, bn_grad = map(float, match.groups())
    return dict(plain_sat=plain_sat, plain_grad=plain_grad, bn_sat=bn_sat, bn_grad=bn_grad)


def slider(page, description):
    """(the slider's handle, its value's readout) of the panel's slider `description`."""
    label = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$"))
    box = page.locator(".bn-panel .widget-slider", has=label)
    assert box.count() == 1, f"expected one slider described {description!r}"
    return box.locator(".noUi-handle"), box.locator(".widget-readout")


def move_slider(page, description, key):
    """Focus the slider's handle, press `key`, wait until the new figure is painted.

    Returns dict(value=the slider's new value, paint=ms from the key press to the figure
    painted, readout=ms from the key press to the readout changed (None: it did not change),
    before=the readout text before, after=the readout text after).
    """
    handle, value = slider(page, description)      # (aria-valuenow is rounded: read the readout)
    before, start = page.locator(".bn-readout").inner_text(), value.inner_text()
    handle.focus()
    page.evaluate(WATCH_PANEL_JS)
    page.keyboard.press(key)
    expect(value).not_to_have_text(start)                         # the slider moved
    try:
        page.wait_for_function(MOVE_DONE_JS, timeout=30_000)
    except PlaywrightTimeout:
        pytest.fail(f"the figure did not change within 30 s after {key} on {description!r}")
    move = page.evaluate("() => window.bnMove")
    assert not move["failed"], f"the new figure did not decode after {key} on {description!r}"
    return dict(value=float(value.inner_text()),
                paint=move["painted"] - move["pressed"],
                readout=None if move["readout"] is None else move["readout"] - move["pressed"],
                before=before, after=page.locator(".bn-readout").inner_text())


def assert_unchanged(before, after, keys):
    for key in keys:
        assert abs(after[key] - before[key]) <= SAME[key], (key, before, after)


def check_saturation_panel_before_running(page, tmp):
    """Before its cell runs, the panel's cell shows its picture and says to run the cell."""
    from bnlib.figures.saturation import RUN_TO_MOVE
    output = page.locator(".jp-OutputArea-output", has_text=RUN_TO_MOVE)
    expect(output).to_have_count(1)
    output.scroll_into_view_if_needed()
    assert output.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    output.screenshot(path=str(tmp / "04_panel_before_run.png"))


def check_saturation_sliders(page, tmp):
    """The panel after its cell ran: text size, and the sliders move the figures the way
    notebook 04 teaches (Ioffe & Szegedy 2015, Sec. 3.3)."""
    from bnlib.figures.saturation import FONT_PT, PANEL_DPI
    panel = page.locator(".bn-panel")
    panel.scroll_into_view_if_needed()
    # the smallest text of the figure is FONT_PT at PANEL_DPI: 12 px at its size; shown smaller,
    # it shrinks in proportion. 9 pt on a screen is 12 CSS px.
    shown = page.locator("img.bn-plot").evaluate(
        "img => img.decode().then(() => img.getBoundingClientRect().width / img.naturalWidth)")
    assert FONT_PT * PANEL_DPI / 72 * shown >= 12 - 0.01, f"the figure is shown at {shown:.2f}x"
    readout_px = page.locator(".bn-readout pre").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert readout_px >= 12, f"the readout's text is {readout_px} px"
    panel.screenshot(path=str(tmp / "04_panel_after_run.png"))

    move = move_slider(page, "weight scale", "End")
    before, after = figures(move)
    assert move["value"] == 1.5
    assert after["plain_sat"] > before["plain_sat"] + 20  # large weights saturate the sigmoids
    assert after["plain_grad"] < before["plain_grad"]     # ... and shrink sigma'(z)
    assert after["bn_sat"] <= 1.0                         # BN keeps them in the linear region
    assert_unchanged(before, after, ["bn_sat", "bn_grad"])

    move = move_slider(page, "shift", "End")
    before, after = figures(move)
    assert move["value"] == 8.0
    assert after["plain_sat"] > before["plain_sat"] and after["plain_grad"] < before["plain_grad"]
    assert_unchanged(before, after, ["bn_sat", "bn_grad"])  # BN subtracts the batch mean

    move = move_slider(page, "gamma", "End")
    before, after = figures(move)
    assert move["value"] == 8.0
    assert after["bn_sat"] > before["bn_sat"] + 20  # gamma can saturate on purpose (it may
    assert after["bn_grad"] < before["bn_grad"]     # undo the normalisation)
    assert_unchanged(before, after, ["plain_sat", "plain_grad"])  # gamma acts on BN only

    move = move_slider(page, "depth", "End")        # the readout follows the depth
    assert move["value"] == 10.0 and move["readout"] is not None
    assert "layers 1-10" in move["after"] and "layers 1-10" not in move["before"]
    panel.screenshot(path=str(tmp / "04_panel_after_moves.png"))


def measure_slider_latency(page):
    """LATENCY_MOVES key presses on each slider (arrow keys, one step each, turning back at
    either end). Returns {slider: {"paint": [ms], "readout": [ms]}}."""
    from bnlib.saturation import SLIDERS
    latency = {}
    for description in ("weight scale", "shift", "depth", "gamma", "beta"):
        _, readout = slider(page, description)
        low, high = SLIDERS[description][1:3]
        key, row = "ArrowRight", {"paint": [], "readout": []}
        for _ in range(LATENCY_MOVES):
            value = float(readout.inner_text())
            if (key == "ArrowRight" and value >= high) or (key == "ArrowLeft" and value <= low):
                key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
            move = move_slider(page, description, key)
            row["paint"].append(move["paint"])
            if move["readout"] is not None:
                row["readout"].append(move["readout"])
        latency[description] = row
    return latency


def assert_latency(latency):
    for description, row in latency.items():
        assert median(row["paint"]) <= LATENCY_MEDIAN_MS and max(row["paint"]) <= LATENCY_MAX_MS, \
            (f"{description!r}: key press to figure painted, median {median(row['paint']):.0f} "
             f"ms, max {max(row['paint']):.0f} ms (at most {LATENCY_MEDIAN_MS} and "
             f"{LATENCY_MAX_MS})")
