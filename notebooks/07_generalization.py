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
# # The limits of generalization: random functions
#
# Chapter 05 compared functions chosen by hand. Here the target has no structure at all: a Boolean
# function $f$ on $n = 10$ bits whose 1,024 values are fair coin flips. Such an $f$ is as sensitive as a
# typical function gets: flipping one input bit changes its value half of the time, so its average
# sensitivity is about $n/2 = 5$. Show a transformer only part of it, and whatever it predicts on the
# other strings is its own choice: nothing in the data says how to fill them in.
#
# {cite:t}`hahn2024sensitive` (HR24 §7.2, Fig. 4; App. Fig. 15) use this to look at the bias of
# generalization directly. Their argument runs through the loss landscape: by Thm 6 a model that computes
# a sensitive function sits in a sharp minimum, and this holds on average even when the sharpness is
# measured on a random training set rather than on every input. If training tends to end in flat minima,
# the functions transformers learn from a sample should be *less* sensitive than the function that
# produced the sample. The experiment has three steps:
#
# 1. Draw a random $f$ and a training set of 128, 256 or 512 of the 1,024 strings; train the HR24 encoder on
#    it until it fits it; read the function it computes, $T_1$, off all 1,024 strings (output above 1/2 → 1)
#    and compute its exact average sensitivity from that truth table.
# 2. Fit fresh models to $T_1$ and to $f$ on the whole cube, and compare their sharpness (Eq. 15): is the
#    function the transformer chose also the one with the flatter minimum?
# 3. Measure the sharpness of the same models on the training set only, and compare it with the sharpness
#    on the whole cube (App. Fig. 15).
#
# **What counts as fitting.** A model fits a set of strings when every one of them is on the right side of
# 1/2 and its MSE on them is below 0.01, checked every 50 steps; training stops at the first check that
# passes, and its sharpness is measured there. A run that does not fit within its step budget is counted
# and left out. The same rule serves the models trained on a training set and those fitted on the cube.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
train_sizes = None  # training-set sizes, each below 2^n = 1024, e.g. [128, 256, 512] (None: the preset's)
functions = None  # number of random functions f (None: the preset's; 4 at cpu, 10 at paper)
train_sets = None  # training sets per (f, size) (None: the preset's; 2 at cpu, 10 at paper)
seeds = None  # fresh models fitted on the whole cube per target, T1 or f (None: 1 at cpu, 5 at paper)

# %%
from replication.report import status
from replication.experiments.generalization import GeneralizationConfig

cfg = GeneralizationConfig.from_params(scale=scale, train_sizes=train_sizes, functions=functions, train_sets=train_sets, seeds=seeds)

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.report.stats import compute_summary
from replication.experiments import generalization as ch
from replication.plots import generalization as plots

# %% [markdown]
# ## Settings at this scale
#
# HR24 average over 10 random functions, 10 training sets per function and size, and 5 fresh models per
# $T_1$, with the encoder of App. E.1 (width 128). On a 2-core laptop the expensive part is fitting a
# random $f$ on all 1,024 strings: it has to memorise 1,024 coin flips. The `cpu` scale keeps $n$, the
# training-set sizes and the fitting rule, and shrinks the rest. Each choice was measured on such a
# machine, one torch thread per run, with the cores shared by other jobs (so wall times are high and
# vary):
#
# | setting | paper (HR24 §7.2, App. E.1) | `cpu` | why |
# |---|---|---|---|
# | $n$, training-set sizes | 10; 128, 256, 512 | the same | |
# | width $d$ (= feed-forward width) | 128 | 32 | fitting $f$ on the cube: at $d = 64$ (lr 1e-3) it took 1,050 full-batch steps of about 0.5 s each (trial 2); at $d = 32$ a step costs about a quarter of that |
# | learning rate | 3e-4 | 3e-3 | at $d = 32$ and lr 1e-3 fitting $f$ on the cube took 4,550 steps (trial 0); at 3e-3, 1,400 (trial 1) |
# | batch | 1,024 fresh strings per step | the whole set every step (128–512 strings for $T_1$, the 1,024 of the cube for refits) | with batches of 256 from the cube, a fit to $T_1$ was still at 98.9% after 6,000 steps (trial 3); full batch fitted it in 1,000 (trial 4) |
# | training | 10,000 steps | until the model fits its set (checked every 50 steps); at most 4,000 steps on a training set, 6,000 on the cube | a fit on a training set took 200–400 steps in the trials |
# | random functions | 10 | 4 (refits for the first 3) | the budget (the table "Compute spent" below gives what the chapter took) |
# | training sets per (f, size) | 10 | 2 | as above; as($T_1$) is computed for each |
# | refits | 5 per $T_1$ (and per $f$) | for the first 3 functions: 1 per $T_1$ of the first training set of each size, and 1 per $f$ | a fit on the cube costs 5–10 times a fit on a training set |
# | sharpness | Eq. 15, $\rho = 0.02$ | Eq. 15 ×4, $\rho = 0.02$, 20 perturbations, every parameter but the positional embeddings | as in chapter 05 |
#
# The trials (random function 0; a training set of 256 strings for $T_1$):
#
# | trial | setting | steps to fit | wall time (shared cores) |
# |---|---|---|---|
# | 0 | $f$ on the cube, $d = 32$, lr 1e-3, full batch | 4,550 | 486 s |
# | 1 | $f$ on the cube, $d = 32$, lr 3e-3, full batch | 1,400 | 396 s |
# | 2 | $f$ on the cube, $d = 64$, lr 1e-3, full batch | 1,050 | 524 s |
# | 3 | $d = 32$, lr 3e-3, batches of 256: $T_1$ from 256 strings / $T_1$ on the cube / $f$ on the cube | 300 / not by 6,000 (98.9% right) / 2,500 | 13 s / 325 s / 138 s |
# | 4 | $d = 32$, lr 3e-3, full batch: $T_1$ from 256 strings / $T_1$ on the cube | 300 / 1,000 | 31 s / 429 s |
#
# Measuring at the moment a model fits, with a large learning rate, has a cost the reader should keep in
# mind: chapter 05 found that sharpness keeps falling while training goes on, and that a larger step size
# ends in flatter minima. Fits to $f$ take longer than fits to $T_1$, so if anything this favours $f$ in
# the comparison below.
#
# The `ci` scale ($n = 5$, width 8, 100 steps) only checks that the page runs: no claim is expected to
# hold there.

# %% [markdown]
# ## Step 1: what the transformer learns from part of $f$
#
# Each run is stored on its own, with the learned truth table; the book reads them.

# %%
t1 = ch.learned_functions(cfg)

# %% tags=["remove-input"]
Markdown(status.origin_note())

# %%
ax = plots.sensitivity_by_size(t1)

# %% [markdown]
# Each dot is one $T_1$ (one function, one training set); the diamonds are the means with 95% intervals,
# the dashed line the mean sensitivity of the random functions themselves. The table gives the same per
# size, with the share of the strings *outside* the training set on which $T_1$ agrees with $f$: for a
# random $f$ no rule can do better than chance there.

# %%
ch.sensitivity_summary(t1)

# %% [markdown]
# ## Step 2: fresh models fitted to $T_1$ and to $f$
#
# Now each target is fitted on all 1,024 strings, so both models compute their function exactly, and the
# only difference is *which* function. Their sharpness says how isolated the minimum is that computes it.

# %%
refit = ch.refits(cfg, t1)
ax = plots.refit_sharpness(refit)

# %%
ch.sharpness_summary(refit)

# %% tags=["remove-input"]
Markdown(ch.describe(cfg, t1, refit))

# %% [markdown]
# ## Step 3: sharpness on the training set and on the whole cube
#
# HR24's argument needs sharpness measured on a training set to say something about sharpness on all
# inputs. Here the same model and the same 20 perturbations are evaluated once on the whole cube and once
# on a training set (for a fit to $f$, on each training set drawn for its function). The models fitted on
# the cube are the comparison of HR24's Fig. 15; the $T_1$ models themselves, trained on that set only, are
# shown beside them.

# %%
tv = ch.train_vs_cube(t1, refit)
ax = plots.train_vs_cube(tv)

# %%
ch.ratio_table(tv)

# %% [markdown]
# `ratio` is the geometric mean of training-set over cube sharpness, with its 95% bootstrap interval, and
# `spearman` the rank correlation of the two over the pairs.

# %% [markdown]
# ## Compute spent
#
# Training time summed over runs (one thread each), as recorded when each run was computed; reading
# stored runs costs only the loading.

# %%
compute_summary(
    {"T1 runs": t1, "refits to T1": refit[refit["target"] == "T1"], "refits to f": refit[refit["target"] == "f"]},
    "stage",
)

# %% [markdown]
# ## Claims
#
# Each check is computed from the tables above; the note says what was tested and, where a claim does
# not hold at this scale, why.

# %%
claims = record(ch.claims(cfg, t1, refit, tv))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
