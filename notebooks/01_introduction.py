# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
#

# %% [markdown]
# # Introduction
#
# Transformers trained on bit strings find some functions easy and others nearly impossible. PARITY,
# the XOR of all bits, is the famous hard case: a one-layer recurrent network learns it at any length,
# while transformers struggle to fit it and fail to extend it to longer inputs. Yet transformers *can*
# represent PARITY (Chiang & Cholak 2022 built one by hand). So the obstacle is not expressiveness; it
# must lie in which solutions training finds.
#
# This book replicates two papers that locate the obstacle in **sensitivity**, how often flipping a single
# input bit (or perturbing a single token) changes a model's output.
#
# - **Hahn & Rofin (2024), *Why are Sensitive Functions Hard for Transformers?*** ({cite}`hahn2024sensitive`)
#   prove that a transformer computing a highly sensitive function must amplify tiny differences through
#   its LayerNorms, and that such a transformer is *brittle*: a small random change to its weights changes
#   its outputs a lot. As inputs grow, minima that fit PARITY become ever sharper, while minima for
#   MAJORITY, FIRST or MEAN stay flat. Sharp, isolated minima are hard to reach and do not generalise.
# - **Vasudeva et al. (2025), *Transformers Learn Low Sensitivity Functions*** ({cite}`vasudeva2025transformers`)
#   carry the notion beyond Boolean inputs: perturb one token (an image patch, a word embedding) with
#   noise and count how often the prediction changes. Transformers come out less sensitive than MLPs and
#   CNNs; lowering sensitivity further makes them more robust and flatter; and during grokking,
#   sensitivity falls before test accuracy jumps.
#
# ```{glue} verdict
# ```
#
# ## A quick demonstration
#
# Below, two small transformers learn PARITY and MAJORITY of $n$ bits. Then we jiggle each trained
# model's weights with Gaussian noise of standard deviation $\rho = 0.02$ (HR24 §7.1's setting) and measure
# how much its predictions move (the *sharpness* of HR24 Eq. 15, on the theory's $\pm1$ scale). The
# trained models are cached, so rebuilding this page trains nothing; the table gives each model's
# training time.

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
n = None  # input length of the demo (None: the scale's preset)
steps = None  # training steps per model

# %% tags=["hide-input"]
from replication.experiments import introduction as demo
cfg = demo.DemoConfig.from_params(scale=scale, n=n, steps=steps)
cfg

# %% tags=["hide-input"]
from IPython.display import Markdown
from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.plots import sensitivity as plots
from replication.report.status import origin_note

# %%
results = demo.run(cfg)
Markdown(origin_note())

# %%
ax = plots.demo_sharpness(results)
demo.table(results)

# %% tags=["remove-input"]
Markdown(demo.describe(cfg, results))

# %% [markdown]
# In general PARITY has average sensitivity $n$ and MAJORITY about $\sqrt{2n/\pi}$ (chapter 3). The claim
# at the end of this page holds only if every model fit its target *and* PARITY's minimum is more than
# three times sharper than every other. Chapter 5 repeats
# this across input lengths and seeds, which is where the theory makes its real prediction: PARITY's
# sharpness should climb with $n$ while the others stay flat.
#
# ## Map of the book
#
# | chapter | paper | question |
# |---|---|---|
# | 2 The transformer | HR24 §2 | the encoder studied, its LayerNorm factors and blowup, on a live model |
# | 3 Average sensitivity | HR24 §3, §6; V25 §3 | exact sensitivity, Fourier degree, sensitivity at initialisation |
# | 4 The blowup bound | HR24 §4 | do trained models show the LayerNorm blowup the bound demands? |
# | 5 Sharpness | HR24 §5, §7.2 | do minima for PARITY get sharper with $n$? |
# | 6 Trade-off | HR24 §7.2 | parameter norm against LayerNorm blowup; training dynamics |
# | 7 Generalisation | HR24 §7.2 | do transformers generalise towards low sensitivity and flat minima? |
# | 8 Scratchpad | HR24 §6, §7.2 | does a scratchpad remove the sharpness? |
# | 9 Token sensitivity | V25 §4 | sensitivity beyond Boolean inputs: a synthetic task that separates it from sparsity |
# | 11 Vision models | V25 §5, §7.1, §7.2 | ViT, CNN and MLP on images; a sensitivity regulariser, robustness and flat minima |
# | 10 Grokking | V25 §7.3 | sensitivity as a progress measure |
#
# ## How to read the scorecard
#
# Every chapter ends with a **claims table**: the paper's claim in one sentence, where the paper makes
# it, what the paper reports, what this run measured, and whether the claim held, decided by a statistic
# (a regression slope and its p-value, a rank correlation, a paired test), never by eye. The
# {doc}`scorecard <99_scorecard>` gathers every chapter's table and records the *scale* of each
# measurement. Three scales exist: `ci` (seconds, for the tests; claims are computed but not expected to
# hold), `cpu` (the default, sized for a 2-core laptop; each chapter says how it departs from the paper)
# and `paper` (the papers' own settings, for a GPU). A claim that does not hold at some scale is
# reported as not holding, with the likely reason.

# %%
claims = record(demo.claims(cfg, results))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
