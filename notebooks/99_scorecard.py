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
# Every chapter ends with a claims table; this page gathers them. Each row names a claim of one of the
# papers (**claim**), where the paper makes it (**ref**), the paper's value (**paper**), the value measured
# when the chapter ran (**measured**), and whether the claim held by the chapter's statistical check
# (**holds**); beneath each row, in smaller type, is the check applied and, where the claim does not hold,
# the likely reason. The **scale** column says at which settings
# it was measured: `cpu` is the book's default, sized for a 2-core laptop; `paper` rows, where present,
# come from runs at the papers' settings on a GPU and are committed with the repository; `ci` rows come
# from the seconds-long test settings, at which no trend is expected to show.
#
# The page is regenerated on every build from what the chapters recorded, so it can never disagree with
# them. Chapters that are not written yet have no rows.

# %% tags=["parameters"]
scale = None  # the book's scale; None means $REPLICATION_SCALE, else "cpu"
extra_scales = ["paper"]  # committed results shown beside the book's own scale

# %% tags=["hide-input"]
from replication.report.claims import scorecard, scorecard_table, summary
from replication.runs.config import resolve_scale

# %%
card = scorecard(scales=[resolve_scale(scale), *extra_scales])
print(f"{len(card)} claims; {int(card['holds'].sum())} held")

# %% [markdown]
# ## Claims held, per chapter and scale

# %% tags=["remove-input"]
summary(card)

# %% [markdown]
# ## Every claim

# %% tags=["remove-input"]
scorecard_table(card)
