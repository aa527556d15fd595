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
# # Where the book departs from the papers
#
# The book retrains the models of {cite:t}`hahn2024sensitive` (HR24) and
# {cite:t}`vasudeva2025transformers` (V25) rather than copying their numbers, so every difference between
# what the papers (or the code released with HR24) did and what the book does can move a result. This
# page lists them all, one row each, grouped by chapter. There are five kinds:
#
# - **scale**: a setting made smaller so that a chapter runs on a 2-core laptop (the `cpu` scale the book
#   is built at), such as a width of 32 instead of 128 or 3,000 training steps instead of 10,000. These
#   rows disappear at the `paper` scale, where the settings are the papers' own.
# - **sample**: how many random weight perturbations or input strings a measurement averages over,
#   against the released code.
# - **convention**: where the paper's text and its code define a quantity differently (the LayerNorm
#   factor, the sharpness measure, the output scale) and the book had to pick one.
# - **code**: something the released code does that the paper's text does not say.
# - **method**: the book's own test of a statement for which the paper reports no experiment.
#
# The *effect* column states only what the book itself measured (and where it says so); everything
# else reads "not measured". The table is generated from one list in the package
# (`replication/experiments/deviations.py`), and every setting in it is read from the chapters' presets,
# so it cannot drift from what the chapters run. Chapter 04 reads the runs of chapter 05, so chapter
# 05's settings apply to both.

# %% tags=["parameters"]
scale = None  # scale listed; None: $REPLICATION_SCALE, else "cpu"

# %% tags=["remove-input"]
from replication.experiments import deviations

deviations.styled(scale)
