# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: mystnb
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   mystnb:
#     execution_mode: force
# ---

# %% [markdown]
# # Build status
#
# What each chapter did the last time it ran: the scale it ran at, where its results came from
# (`results` = read from the committed `results/` folder, `cache` = this machine's results cache,
# `computed` = trained or evaluated during that run), when those results were computed, how long the
# chapter took and the most memory its process (or any of its worker processes) held. Each chapter
# writes this record in its last cell; this page is regenerated on every build and reads them all.
#
# A fresh clone's `cpu` build reads every expensive result from `results/`: a chapter that would have
# to train stops the build instead and names the `make results` command that computes what it needs.

# %% tags=["parameters"]
scale = None  # the book's scale; None means $REPLICATION_SCALE, else "cpu"

# %% tags=["hide-input"]
from replication.runs.config import resolve_scale
from replication.report.status import status_table

status_table(resolve_scale(scale))

# %% [markdown]
# ## Re-checks of the committed results
#
# `make results-check CHAPTER=NN RECORD=1` recomputes a chapter's committed results on the machine it runs
# on (all of them, or `SAMPLE=k` per result kind) and judges the recomputation by the claims: how many
# entries came out bit-identical, how many quantities moved by more than one seed-to-seed standard deviation
# of the committed runs, and how many claims changed their verdict. Each check is recorded in
# `results/checks.csv`, newest first in the table below; the machine is the one that re-checked, while the
# status table above names where each result was first computed. What the record says a reader rerunning
# the book should expect, computed from its newest check of each chapter:

# %% tags=["remove-input"]
from IPython.display import Markdown
from replication.report.recheck import expectation, record_table

Markdown(expectation(record_table()))

# %% tags=["hide-input"]
record_table()

# %% [markdown]
# ## Execution of each page
#
# Jupyter Book's own record: when each page's notebook was last executed, how long it took, and
# whether it ran without errors. Chapters are executed with `execute_notebooks: cache`, so a chapter
# reruns only when its notebook changes; the time shown is that of the run that produced the cached
# outputs.
#
# ```{nb-exec-table}
# ```
