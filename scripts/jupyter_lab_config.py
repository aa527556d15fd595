"""JupyterLab for editing the book's chapters: ``make lab`` starts it with this file.

- Saving a chapter in Lab writes both files of its pair (``notebooks/NN_name.py`` and ``.ipynb``), through
  jupytext's contents manager, which the pinned ``jupytext`` installs into Lab.
- Outputs never land on disk: :func:`scrub_outputs` empties every code cell's outputs and execution count
  before a notebook is saved (the page keeps showing them), so the ``.ipynb`` stays as the tests require.
- The server listens on loopback only and opens no browser; Lab starts in ``notebooks/``.
- Markdown cells render their MyST (citations, admonitions, math) through the pinned ``jupyterlab-myst``; Lab asks
  nothing about news and checks for no update.
"""

import os


def scrub_outputs(model, **kwargs):
    """Jupyter's pre-save hook: a notebook is saved without outputs or execution counts."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


c = get_config()  # noqa: F821 (Jupyter's config loader provides it)
c.ContentsManager.pre_save_hook = scrub_outputs
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True  # containers and CI run as root; the server listens on loopback only
c.LabApp.default_url = "/lab/tree/notebooks"

# No news pop-up and no update check: Lab's settings folder is scripts/lab_settings, whose page_config.json disables the
# announcements plugin (which asks, in a fresh profile, whether to fetch Jupyter news from the internet) and whose
# overrides.json turns news and update checks off; the server neither fetches news nor checks for updates.
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab_settings")
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
