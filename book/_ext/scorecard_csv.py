"""Write the scorecard as CSV beside the book's HTML: ``_build/html/scorecard.csv``.

One row per claim and scale, with its paper, its kind (paper claim, diagnosis, check), whether it is a headline
claim and its verdict (:func:`replication.report.tally.write_csv`), read from the claims the chapters recorded in
this build and the committed ones, the same claims the scorecard page shows (``notebooks/99_scorecard``, which
links to the file). Written when the HTML build has finished, so after every chapter has recorded its claims.
"""

from pathlib import Path


def write(outdir: str | Path, scale: str | None = None) -> Path:
    """The scorecard of the build at ``scale`` (None: ``$REPLICATION_SCALE``, else cpu) as ``outdir/scorecard.csv``."""
    from replication.report.tally import CSV_NAME, book_scorecard, write_csv

    return write_csv(book_scorecard(scale), Path(outdir) / CSV_NAME)


def _finished(app, exception) -> None:
    if exception is None and getattr(app.builder, "format", "") == "html":
        write(app.outdir)


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
