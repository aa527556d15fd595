"""The landing page's "What replicates": a ``what-replicates`` directive that draws, from the claims the chapters
recorded in this build (and the committed ones), each headline claim's verdict at every scale
(:func:`replication.report.verdicts.what_replicates_html`).

So that the chapters have recorded their claims before the landing page reads them, the landing page is read
last (``env-before-read-docs``) and on every build (``env-get-outdated``).
"""

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

#: The landing page's document name (``root`` in ``book/_toc.yml``).
LANDING = "book/intro"


class WhatReplicates(SphinxDirective):
    """``{what-replicates}``: the headline claims of both papers and their verdicts, as an HTML table."""

    has_content = False

    def run(self):
        from replication.report.tally import book_scorecard
        from replication.report.verdicts import what_replicates_html

        depth = self.env.docname.count("/")
        html = what_replicates_html(book_scorecard(), root="../" * depth)
        return [nodes.raw("", f'<div class="what-replicates-body">{html}</div>', format="html")]


def _read_last(app, env, docnames):
    if LANDING in docnames:
        docnames.remove(LANDING)
        docnames.append(LANDING)


def _always_outdated(app, env, added, changed, removed):
    return [LANDING] if LANDING in env.found_docs else []


def setup(app):
    app.add_directive("what-replicates", WhatReplicates)
    app.connect("env-before-read-docs", _read_last)
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
