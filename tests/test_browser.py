"""The saturation sliders of notebook 04, driven in a real browser (run: pytest -m browser).

JupyterLab is started on 127.0.0.1 (free port chosen by the OS, random token) on a temporary
copy of the course, with its own Jupyter config, runtime, settings and workspace folders; the
system's Chromium, driven by Playwright for Python, opens 04_saturation.ipynb, runs all cells,
and moves three sliders with the keyboard (focus the handle, press End). After each move the
readout text and the plotted PNG must change, and the saturation figures must move the way the
demo teaches (bnlib/widgets.py, Ioffe & Szegedy 2015, Sec. 3.3): a larger weight scale or shift
saturates the sigmoids without BN and leaves them unsaturated with BN, whose output does not
depend on the scale or shift of its input; a larger gamma saturates them with BN only.
Every wait is on an event (server answering, kernel idle, prompts numbered, text changed), never
a fixed sleep. Skipped, with install instructions, where Chromium is absent; fails in CI.
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "04_saturation.ipynb"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_S = 180          # for the server to start and for the notebook to run (shared 2-core CI)
READOUT = re.compile(r"without BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+) \| "
                     r"with BN: ([\d.]+)% saturated, mean σ'\(z\) = ([\d.]+)")
# JupyterLab settings for the test: every cell kept in the page (no windowing, so all prompts
# can be read) and no news or update checks (no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def find_chromium():
    """Path of the system Chromium, or None."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        message = ("Chromium not found (/usr/bin/chromium or `chromium` on PATH). Install it "
                   "with `apt-get install chromium` (Debian/Ubuntu, as root) to run this test.")
        if os.environ.get("CI"):
            pytest.fail(message + " In CI this test must run: .ci/run installs Chromium.")
        pytest.skip(message)
    return path


def lab_environment(tmp):
    """Environment for the server: its own Jupyter folders, no inherited matplotlib backend."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # as `make lab`: %matplotlib inline must decide, not Agg
    for name, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("IPYTHONDIR", "ipython"),
                      ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        env[name] = str(tmp / sub)
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    for name, values in LAB_SETTINGS.items():
        path = tmp / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


def wait_for(condition, what, timeout=TIMEOUT_S):
    """Poll `condition()` until it returns something truthy; return that. Fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)  # polling interval of the event wait, not a fixed delay
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def server_info(runtime, pid):
    """The server's own description (url, port, token) once it has bound its port, else None."""
    path = runtime / f"jpserver-{pid}.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def status_ok(url, token):
    """True when the server answers /api/status with 200 for our token."""
    request = urllib.request.Request(url + "api/status",
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def launch_lab(tmp, token):
    """Start JupyterLab on a copy of the course in `tmp` (its output goes to tmp/lab.log).

    Returns (the server's process, the number of code cells of the notebook to run).
    """
    shutil.copytree(REPO / "notebooks", tmp / "course" / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(REPO / "pictures", tmp / "course" / "pictures")
    n_code = copy_without_outputs(REPO / "notebooks" / NOTEBOOK,
                                  tmp / "course" / "notebooks" / NOTEBOOK)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp / 'course'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root; the server refuses root otherwise
    with open(tmp / "lab.log", "wb") as log:
        process = subprocess.Popen(command, env=lab_environment(tmp), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process, n_code


def running(process, log):
    """True while the server runs; fails the test with the end of its log when it has exited."""
    if process.poll() is not None:
        pytest.fail(f"JupyterLab exited with code {process.returncode}; the end of its log:\n"
                    + log.read_text(errors="replace")[-3000:])
    return True


def wait_until_serving(tmp, process, token):
    """Wait for the server to bind its port and answer; return its base url."""
    log = tmp / "lab.log"
    info = wait_for(lambda: running(process, log) and server_info(tmp / "runtime", process.pid),
                    "the server's info file")
    url = f"http://127.0.0.1:{info['port']}/"
    wait_for(lambda: running(process, log) and status_ok(url, token), "/api/status")
    return url


def stop_lab(process, url, token):
    """Shut the server down with its kernels; kill its process group if it does not exit."""
    try:
        if url is None:
            raise OSError("the server never answered")
        request = urllib.request.Request(url + "api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=30)
    except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything left in the group we started
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium):
    """A running JupyterLab on a temporary copy of the course.

    Yields a dict: url, token, log (path of the server's log), n_code (code cells to run).
    """
    if not (REPO / "notebooks" / NOTEBOOK).is_file():
        pytest.fail(f"notebooks/{NOTEBOOK} is missing: the browser test drives its sliders")
    tmp, token = tmp_path_factory.mktemp("lab"), secrets.token_hex(24)
    (process, n_code), url = launch_lab(tmp, token), None
    try:
        url = wait_until_serving(tmp, process, token)
        yield dict(url=url, token=token, log=tmp / "lab.log", n_code=n_code)
    finally:
        stop_lab(process, url, token)


def copy_without_outputs(source, destination):
    """Copy a notebook with outputs, prompts and saved widget states cleared.

    So that every prompt number, readout and image in the page comes from this run.
    Returns the number of code cells with source (each must get a prompt number).
    """
    nb = nbformat.read(source, as_version=4)
    nb.metadata.pop("widgets", None)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code:
        cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, destination)
    return sum(1 for cell in code if cell.source.strip())


def kernel_connected(url, token):
    """True when the server's only kernel is idle with a client (the page) connected to it.

    While a kernel starts, jupyter_server can answer /api/kernels with a 500 (the kernel's
    model lacks its activity fields until it has started): that counts as "not yet".
    """
    request = urllib.request.Request(url + "api/kernels",
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            kernels = json.loads(response.read())
    except (urllib.error.URLError, OSError):  # HTTPError is a URLError
        return False
    return len(kernels) == 1 and kernels[0]["connections"] >= 1 \
        and kernels[0]["execution_state"] == "idle"


# In the page: how many code cells show a prompt number, whether any still waits ("[*]"),
# and the text of the first traceback shown, if any.
PROGRESS_JS = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(e => e.innerText.trim());
    const errors = [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.innerText).filter(t => t.includes('Traceback'));
    return {numbered: prompts.filter(p => /^\\[\\d+\\]:$/.test(p)).length,
            pending: prompts.some(p => p.includes('*')), error: errors[0] || null};
}"""


def open_notebook(page, lab):
    """Open the notebook in JupyterLab and wait until its kernel is connected and idle."""
    page.goto(f"{lab['url']}lab/tree/notebooks/{NOTEBOOK}?token={lab['token']}")
    wait_for(lambda: kernel_connected(lab["url"], lab["token"]), "the notebook's kernel")
    # The page shows "idle" once before the kernel starts; after the server has seen the
    # page connect, "idle" is the kernel's own state.
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')


def run_all_cells(page, n_code):
    """Run > Run All Cells, then wait until all `n_code` cells have run (or one failed)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(f"""() => {{ const p = ({PROGRESS_JS})();
        return p.numbered === {n_code} || (!p.pending && p.error !== null); }}""")
    progress = page.evaluate(PROGRESS_JS)
    assert progress["error"] is None, f"a cell failed in the browser:\n{progress['error']}"
    assert progress["numbered"] == n_code


@pytest.fixture(scope="module")
def notebook_page(lab, chromium):
    """The notebook open in headless Chromium, all its cells run; yields the Playwright page."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.requested = []  # every URL the page asks for: all must be the local server's
        page.on("request", lambda request: page.requested.append(request.url))
        try:
            page.set_default_timeout(TIMEOUT_S * 1000)
            open_notebook(page, lab)
            run_all_cells(page, lab["n_code"])
            yield page
        except BaseException:  # pytest.fail too: keep what the page showed, beside the log
            page.screenshot(path=str(lab["log"].parent / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def lab_url(page):
    """The local server's base URL, from the page's own address."""
    return re.match(r"http://127\.0\.0\.1:\d+/", page.url).group(0)


def panel(page):
    """The panel's state: (readout text, src of the plotted image)."""
    return (page.locator(".bn-readout").inner_text(),
            page.locator(".bn-plot img").get_attribute("src"))


def figures(readout):
    """The readout's numbers: dict of saturated % and mean sigma'(z), without and with BN."""
    match = READOUT.search(readout)
    assert match, f"the readout does not read as expected: {readout!r}"
    plain_sat, plain_grad, bn_sat, bn_grad = map(float, match.groups())
    return dict(plain_sat=plain_sat, plain_grad=plain_grad, bn_sat=bn_sat, bn_grad=bn_grad)


# In the page: true once both the readout text and the plotted image differ from [text, src].
REDRAWN_JS = """([text, src]) => {
    const readout = document.querySelector('.bn-readout');
    const image = document.querySelector('.bn-plot img');
    return Boolean(readout && image && readout.innerText !== text && image.getAttribute('src')
                   && image.getAttribute('src') !== src); }"""


def move_slider(page, description, key):
    """Focus the handle of the slider `description`, press `key`, wait for the panel to redraw.

    Returns (figures before, figures after, the slider's new value).
    """
    label = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$"))
    handle = page.locator(".widget-slider", has=label).locator(".noUi-handle")
    assert handle.count() == 1, f"expected one slider described {description!r}"
    text, src = panel(page)
    value = handle.get_attribute("aria-valuenow")
    handle.focus()
    page.keyboard.press(key)
    expect(handle).not_to_have_attribute("aria-valuenow", value)  # the handle moved
    try:
        page.wait_for_function(REDRAWN_JS, arg=[text, src])
    except PlaywrightTimeout:
        pytest.fail(f"the readout or the plot did not change after {key} on {description!r}")
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    return figures(text), figures(panel(page)[0]), float(handle.get_attribute("aria-valuenow"))


# BN's output does not depend on the scale or shift of its input (up to eps = 1e-5 against batch
# variances of order one): its figures may move by one unit of the readout's last digit at most.
SAME = dict(bn_sat=0.1, bn_grad=0.001, plain_sat=0.1, plain_grad=0.001)


def assert_unchanged(before, after, keys):
    for key in keys:
        assert abs(after[key] - before[key]) <= SAME[key], (key, before, after)


def test_sliders_redraw_the_saturation_panel(notebook_page):
    page = notebook_page
    before, after, value = move_slider(page, "weight scale", "End")
    assert value == 1.5
    assert after["plain_sat"] > before["plain_sat"] + 20  # large weights saturate the sigmoids
    assert after["plain_grad"] < before["plain_grad"]     # ... and shrink sigma'(z)
    assert after["bn_sat"] <= 1.0                         # BN keeps them in the linear region
    assert_unchanged(before, after, ["bn_sat", "bn_grad"])

    before, after, value = move_slider(page, "shift", "End")
    assert value == 8.0
    assert after["plain_sat"] > before["plain_sat"] and after["plain_grad"] < before["plain_grad"]
    assert_unchanged(before, after, ["bn_sat", "bn_grad"])  # BN subtracts the batch mean

    before, after, value = move_slider(page, "gamma", "End")
    assert value == 8.0
    assert after["bn_sat"] > before["bn_sat"] + 20  # gamma can saturate on purpose (it may
    assert after["bn_grad"] < before["bn_grad"]     # undo the normalisation)
    assert_unchanged(before, after, ["plain_sat", "plain_grad"])  # gamma acts on BN only

    # Nothing in the course needs the internet: the page fetched only from the local server.
    local = (lab_url(page), "data:", "blob:")
    assert page.requested and not [url for url in page.requested if not url.startswith(local)]
