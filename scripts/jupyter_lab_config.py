"""JupyterLab for editing the book's chapters: ``make lab`` starts it with this file.

- Saving a chapter in Lab writes both files of its pair (``notebooks/NN_name.py`` and ``.ipynb``), through
  jupytext's contents manager, which the pinned ``jupytext`` installs into Lab.
- Outputs never land on disk: :func:`scrub_outputs` empties every code cell's outputs and execution count
  before a notebook is saved (the page keeps showing them), so the ``.ipynb`` stays as the tests require.
- The server listens on loopback only and opens no browser; Lab starts in ``notebooks/``.
"""


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
