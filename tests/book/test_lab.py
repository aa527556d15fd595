"""Editing a chapter in JupyterLab, end to end in a real browser: ``make lab``'s server on a temporary copy of the
notebooks, a chapter run in Lab with no error, its parameters cell edited and run again, saved, and the paired
``.py`` changed accordingly while the ``.ipynb`` keeps no outputs (``tests/book/test_notebooks.py``'s rules)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHAPTER = "01_introduction"
TOKEN = "replication-lab-test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="no system chromium/chromedriver (make browser)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """``make lab``'s server (its config file, loopback) on a copy of the notebooks; yields (url, folder)."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.ipynb_checkpoints"))
    port = _free_port()
    env = {
        **os.environ,
        "REPLICATION_SCALE": "ci",
        "REPLICATION_RESULTS": "off",
        "REPLICATION_QUIET": "1",
        "REPLICATION_CACHE": str(tmp_path / "cache"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        f"--config={ROOT / 'scripts' / 'jupyter_lab_config.py'}",
        f"--ServerApp.root_dir={tmp_path}",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={TOKEN}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.port_retries=0",
    ]
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError((tmp_path / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not start: " + (tmp_path / "lab.log").read_text()[-3000:])
        yield url, tmp_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


#: JavaScript run in the page: the open notebook's cells as nbformat JSON, once its kernel is idle.
STATE = """
const app = window.jupyterapp;  // undefined until Lab has loaded (slow on a cold machine)
if (!app || !app.shell) return null;
const panel = app.shell.currentWidget;
if (!panel || !panel.context || !panel.sessionContext || !panel.sessionContext.session) return null;
const status = panel.sessionContext.session.kernel ? panel.sessionContext.session.kernel.status : 'none';
return {status: status, busy: panel.content.widgets.some(c => c.model.type === 'code' && c.promptNode &&
        c.promptNode.textContent.includes('*')), nb: panel.context.model.toJSON()};
"""


def _wait(driver, until, timeout: float = 240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        state = driver.execute_script(STATE)
        if state and until(state):
            return state
        time.sleep(0.5)
    raise AssertionError(f"timed out; last state: {json.dumps(state)[:2000] if state else None}")


def _run_all(driver) -> dict:
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    time.sleep(1)
    return _wait(
        driver,
        lambda s: (
            s["status"] == "idle"
            and not s["busy"]
            and all(c["execution_count"] for c in s["nb"]["cells"] if c["cell_type"] == "code")
        ),
    )


def _errors(nb: dict) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


#: JavaScript run in the page: the rendered text of the notebook's markdown cells, and the page's notifications.
RENDERED = """
const md = Array.from(document.querySelectorAll('.jp-MarkdownCell .jp-InputArea')).map(e => {
  const c = e.cloneNode(true);
  c.querySelectorAll('.cm-editor, .jp-InputPrompt, .jp-CodeMirrorEditor').forEach(x => x.remove());
  return c.textContent;
});
return {markdown: md.join('\\n'), page: document.body.innerText};
"""


def _check_myst_and_no_news(driver) -> None:
    """The chapter's MyST renders (a citation is text, not a raw role) and Lab asks nothing about Jupyter news."""
    t0, seen = time.time(), {}
    while time.time() - t0 < 60:
        seen = driver.execute_script(RENDERED)
        if "Hahn" in seen["markdown"] or "hahn2024" in seen["markdown"]:
            break
        time.sleep(0.5)
    assert seen.get("markdown"), "no rendered markdown cell"
    assert "{cite" not in seen["markdown"], "a citation shows as a raw MyST role: " + seen["markdown"][:600]
    assert "Hahn" in seen["markdown"] or "hahn2024" in seen["markdown"], seen["markdown"][:600]
    assert "official Jupyter news" not in seen["page"], "Lab shows its news pop-up"


def test_edit_a_chapter_in_lab_run_it_and_save_the_pair(lab):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    url, folder = lab
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={folder / 'profile'}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_script_timeout(60)
        driver.get(f"{url}/lab/tree/notebooks/{CHAPTER}.ipynb?token={TOKEN}")
        state = _wait(driver, lambda s: s["status"] == "idle")
        _check_myst_and_no_news(driver)
        params = next(i for i, c in enumerate(state["nb"]["cells"]) if "parameters" in c["metadata"].get("tags", []))

        state = _run_all(driver)
        assert not _errors(state["nb"]), _errors(state["nb"])
        assert any(c.get("outputs") for c in state["nb"]["cells"] if c["cell_type"] == "code")

        source = "".join(state["nb"]["cells"][params]["source"])
        edited = source.replace("scale = None", 'scale = "ci"', 1)
        assert edited != source, f"the parameters cell has no `scale = None` line: {source!r}"
        driver.execute_script(
            f"window.jupyterapp.shell.currentWidget.content.model.cells.get({params})"
            f".sharedModel.setSource({json.dumps(edited)})"
        )
        state = _run_all(driver)
        assert not _errors(state["nb"]), _errors(state["nb"])
        driver.execute_async_script("window.jupyterapp.commands.execute('docmanager:save').then(arguments[0])")
        time.sleep(2)
    finally:
        driver.quit()

    py = (folder / "notebooks" / f"{CHAPTER}.py").read_text()
    assert 'scale = "ci"' in py and py != (ROOT / "notebooks" / f"{CHAPTER}.py").read_text()
    ipynb = json.loads((folder / "notebooks" / f"{CHAPTER}.ipynb").read_text())
    code = [c for c in ipynb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "saved outputs landed"
    assert 'scale = "ci"' in "".join(
        code[[i for i, c in enumerate(ipynb["cells"]) if c["cell_type"] == "code"].index(params)]["source"]
    )
    # the rules of tests/book/test_notebooks.py still hold: literals only in the parameters cell, no definitions
    tree = ast.parse(py)
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    # the real notebooks are untouched
    assert 'scale = "ci"' not in (ROOT / "notebooks" / f"{CHAPTER}.py").read_text()
