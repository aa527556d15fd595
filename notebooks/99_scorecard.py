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
# # Scorecard
#
# Every chapter ends with a claims table; this page gathers them, and counts them apart by what they are:
#
# - a **paper claim** is a result one of the papers asserts ({cite:t}`hahn2024sensitive`, HR24, or
#   {cite:t}`vasudeva2025transformers`, V25); a **headline** claim (marked ★) is one that the paper's abstract or
#   a section title states. Where the book judges a paper claim under several readings of what the paper left
#   unstated (the noise scale of V25's vision experiments, for example), only the row under the chapter's main
#   reading is a paper claim;
# - a **diagnosis** is an experiment of this book that explains a paper claim's outcome (the rows under other
#   readings are diagnoses too);
# - a **check** tests the book's own implementation or a closed form against a reference.
#
# Only paper claims count towards what the book says of a paper: a failing diagnosis does not lower it and a
# passing check does not raise it. A claim that a run cannot test at a scale is named as such and left out of
# that scale's count.
#
# Each row of the tables below names the claim (**claim**), where the paper makes it (**ref**), the paper's
# value (**paper**), the value measured when the chapter ran (**measured**), and whether the claim held by the
# chapter's statistical check (**holds**); beneath each row, in smaller type, is the check applied and, where the
# claim does not hold, the likely reason. The **scale** column says at which settings it was measured: `cpu` is
# the book's default, sized for a 2-core laptop; `paper` rows, where present, come from runs at the papers'
# settings (on a GPU, or on this CPU where they fit, as chapter 12's) and are committed with the repository;
# `ci` rows come from the seconds-long test settings, at which no trend is expected to show. Each claim links to
# its row in its chapter's claims table.
#
# The page is regenerated on every build from what the chapters recorded, so it can never disagree with them.
# The same claims, one row per claim and scale with its paper and kind, are in
# <a href="../scorecard.csv">scorecard.csv</a>, written beside the book's HTML by the same build.

# %% tags=["parameters"]
scale = None  # the book's scale; None means $REPLICATION_SCALE, else "cpu"
extra_scales = ["paper"]  # committed results shown beside the book's own scale

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report.claims import UNKNOWN
from replication.report.view import scorecard_table
from replication.report.tally import book_scorecard, headlines, summary

# %%
card = book_scorecard(scale, extra_scales)

# %% tags=["remove-input"]
Markdown("\n".join(f"- **{line.split(':', 1)[0]}**:{line.split(':', 1)[1]}" for line in headlines(card))
         or "No chapter has recorded a paper claim yet.")

# %% [markdown]
# ## Claims held, per chapter, scale and kind
#
# Each cell is claims held / claims tested; "+k not testable" counts the claims a run could not test.

# %% tags=["remove-input"]
summary(card)

# %% [markdown]
# ## Paper claims

# %% tags=["remove-input"]
scorecard_table(card, kinds=["paper"])

# %% [markdown]
# ## Diagnoses

# %% tags=["remove-input"]
scorecard_table(card, kinds=["diagnosis"])

# %% [markdown]
# ## Checks

# %% tags=["remove-input"]
scorecard_table(card, kinds=["check"])

# %% tags=["remove-input"]
# Claims recorded before claims had a kind (an old local run): listed, counted in no paper's row.
(Markdown("## Claims of unknown kind\n\nRecorded before claims said what they are; run their chapters again."),
 scorecard_table(card, kinds=[UNKNOWN])) if (card["kind"] == UNKNOWN).any() else None
