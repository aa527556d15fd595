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
# # Parameter norm against LayerNorm blowup
#
# Chapter 04 met the bound at the heart of {cite:t}`hahn2024sensitive`: a transformer that computes a
# function of high average sensitivity needs, on average over inputs, a large product
# $C \cdot \mathbb E[\mathrm{Blowup}(x)^2]$ (HR24 Cor. 5), where $C$ grows exponentially with the size
# of the weights and Blowup is the factor by which the LayerNorms magnify their inputs. Taking logs, a
# weighted sum of the parameter norm and $\log$ Blowup is bounded from below. So a model has two ways
# to pay for sensitivity, large weights or a large blowup, and for PARITY, whose sensitivity is $n$,
# the bill grows with the input length. For MAJORITY, FIRST and MEAN the bound does not grow (fast
# enough) with $n$.
#
# HR24 §7.2 test this in two ways, and so does this chapter:
#
# 1. **The tradeoff (Fig. 2, 9, 10).** Train many models with a weight decay and a learning rate drawn
#    at random, so that they end at different parameter norms, and plot each converged model's norm
#    against its log blowup. Each function should trace a frontier; for PARITY the frontier should move
#    outward as $n$ grows, for the other functions it should not.
# 2. **The dynamics (Fig. 3, 12, 13, 14).** Follow PARITY training step by step. The loss sits at chance
#    for a long time and then falls; HR24 see the sharpness of the minimum (chapter 05) spike at that
#    moment, the blowup jump, and afterwards, if weight decay is on, the norm shrink while the blowup
#    grows to compensate.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
functions = None  # tradeoff functions, e.g. ["parity", "first"]; None: all four
n = None  # largest tradeoff length, 5..64 (None: the preset's, 12 at cpu); PARITY runs at its lengths up to n
draws = None  # (learning rate, weight decay) draws per (function, n); None: the preset's (3 at cpu)
seeds = None  # dynamics: seeds per weight decay; None: the preset's
steps = None  # dynamics: training steps of every run; None: the preset's
weight_decays = None  # dynamics: e.g. [0.0, 0.3]; None: the preset's, [0, 0.1, 0.2, 0.3] at cpu and paper
long_seeds = None  # long dynamics: seeds per weight decay (0 and 0.1); None: the preset's
long_steps = None  # long dynamics: training steps of every run; None: the preset's, 20,000 at cpu, 100,000 at paper

# %%
from replication.report import status
from replication.experiments.tradeoff import TradeoffConfig

cfg = TradeoffConfig.from_params(scale=scale, functions=functions, n=n, draws=draws, seeds=seeds, steps=steps, weight_decays=weight_decays, long_seeds=long_seeds, long_steps=long_steps)

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.text import dashed
from replication.report.view import display_table
from replication.report.stats import compute_summary
from replication.experiments import tradeoff as ch
from replication.experiments.tradeoff import offset
from replication.plots import tradeoff as plots

# %% [markdown]
# ## Settings at this scale
#
# HR24 train width-128 models with batch 1,024 for 10,000 steps, which takes about an hour per run on a
# laptop CPU. The `cpu` scale uses chapter 05's width-32 model with the batch and step budget of its
# first `cpu` protocol (trial A of chapter 05's calibration), and fewer, shorter runs. Each choice was measured on a 2-core machine, one torch thread per run (the cores were
# shared with other jobs, so the wall times below are several times the idle ones):
#
# | setting | paper (HR24 App. E) | `cpu` | why |
# |---|---|---|---|
# | width $d$, batch | 128, 1,024 | 32, 128 | chapter 05's width, so that its runs can serve as the reference set; the batch of chapter 05's first `cpu` protocol, about 10 ms per step on an idle core |
# | tradeoff steps | 10,000 | 3,000 | the budget of chapter 05's first `cpu` protocol; the longer protocol of its calibration (trial E, 8 times the strings per run) would cost 39 runs several hours |
# | tradeoff learning rate | $U(10^{-4}, 5\cdot10^{-4})$ | $U(3\cdot10^{-4}, 10^{-3})$ | how far weight decay shrinks the weights, $e^{-\mathrm{lr}\cdot\mathrm{wd}\cdot\mathrm{steps}}$, depends on lr × steps: the larger rates keep it near the paper's range in a third of the steps. At the paper's rates PARITY $n = 8$ had not converged after 4,000 steps at lr $10^{-4}$ (MSE $1.1\cdot10^{-3}$, 108 s), nor $n = 10$ at $3\cdot10^{-4}$ (MSE $2.8\cdot10^{-3}$, 132 s) |
# | tradeoff weight decay | $U(0, 0.4)$ | $U(0, 0.4)$ | the paper's |
# | tradeoff lengths | $n \sim U\{4..25\}$; Fig. 10: 5, 10, 15, 20 | PARITY 5, 6, 7, 8; MAJORITY, FIRST, MEAN 5, 8, 12 | PARITY leaves its plateau within this budget only up to about $n = 8$ at width 32: at $n = 10$, runs at lr $8\cdot10^{-4}$ and $1.5\cdot10^{-3}$ (seed 0) were still at chance after 2,500 steps (212 s and 218 s) |
# | draws per (function, $n$) | not stated | 3 | the budget: 39 runs of 2–6 minutes each on the shared cores |
# | blowup strings | 8,192 | 2,048 | the same fixed strings for every run at a length |
# | dynamics | PARITY $n = 25$, lr $3\cdot10^{-4}$, 39 converged runs averaged | PARITY $n = 8$, lr $10^{-3}$ constant, 3,000 steps, 2 seeds per weight decay, every run drawn | the longest PARITY length of the tradeoff runs; at lr $10^{-3}$ (batch 256) PARITY $n = 8$ had converged by step 800 in an earlier measurement, which leaves most of the budget after convergence for weight decay to act; HR24's rate would need several times the steps |
# | sharpness along training | every 100 steps, 500 perturbations | every 100 steps, 16 perturbations × 512 fixed strings, the same directions each time | a few hundredths of a second per evaluation |
#
# The `ci` scale (width 8, 60 steps) only checks that the page runs: no claim is expected to hold there.

# %% [markdown]
# ## The tradeoff runs
#
# Every run is a chapter-05 run (same model, same training loop, same measurements) whose learning rate
# and weight decay are drawn uniformly, seeded by (function, $n$, draw) and stored in the run's config.
# One row per run; `kept` runs converged (final MSE on fresh strings below $10^{-3}$, HR24 §7.1) and are
# the only ones analysed. Chapter 05's kept runs at this scale, trained with the paper's fixed learning
# rate and weight decay (and chapter 05's own batch and step budget), join the plots as a reference set.

# %%
runs = ch.run_tradeoff(cfg)
reference = ch.reference_runs(cfg)
ch.runs_table(runs)

# %% tags=["remove-input"]
Markdown(status.origin_note())

# %% [markdown]
# How many runs converged at each length (the rest are dropped from everything below):

# %%
ax = plots.convergence_heatmap(ch.counts(runs))

# %% [markdown]
# ## Parameter norm against log blowup (HR24 Fig. 2, 9)
#
# One panel per function; each dot is a kept run coloured by its length, each grey cross one of
# chapter 05's runs. Blowup is the §7.1 product over the four LayerNorm applications of the largest
# normalisation factor, averaged over the fixed evaluation strings; the axis shows the log of that
# mean.

# %%
axes = plots.tradeoff_panels(runs, reference)

# %% tags=["remove-input"]
Markdown(ch.describe_reference(reference))

# %% [markdown]
# **How to read it.** Within a panel, runs with stronger weight decay (and a larger learning rate)
# should end at a smaller norm, lower in the panel, and, if the model still has to compute the
# function, further right: LayerNorm divides by the spread of its input, so when the weights that
# produce that input shrink, its factor $1/\sigma$ grows, and the product of the four factors with
# it. A downward-sloping band is the tradeoff itself; the question HR24 ask is whether the band
# shifts with the colour, that is with $n$. The theory says it must for PARITY (a longer PARITY needs
# more of both) and need not for the others.
#
# The same runs split by length, all functions together (HR24 Fig. 10): where does PARITY sit?

# %%
axes = plots.tradeoff_by_length(runs)

# %% [markdown]
# ### Does $n$ move the frontier?
#
# A frontier that moves outward with $n$ means that at the same parameter norm a longer input needs a
# larger blowup. We test exactly that: for each function, a least-squares fit of
# $\log \mathbb E[\mathrm{Blowup}] = a + b\cdot\mathrm{norm} + c\cdot n$ over its kept runs, with a
# two-sided $t$-test of $c = 0$ (`coef_n`, `p_n`).

# %%
ch.n_effect(runs).round(4)

# %% [markdown]
# Each function's fit uses only its own few runs, so a per-function test has little power. The claims
# use two tests that do better with the same runs. **PARITY's excess**: one fit over every kept run (all
# runs share one protocol: learning rate and weight decay drawn per run, as in HR24), with an intercept
# and a norm slope per function, one $n$-slope shared by MAJORITY, FIRST and MEAN, and PARITY's extra
# $n$-slope on top (`extra`, its standard error `se` and two-sided `p`).

# %%
ch.interaction_table(runs).round(4)

# %% [markdown]
# **The others' flatness**, as an equivalence statement rather than "not significant": the 90% interval
# of each function's $n$-coefficient (two one-sided tests at 5%) must lie within half of PARITY's own
# coefficient, the smallest effect that could move a frontier the way PARITY's moves.

# %%
ch.equivalence_table(runs).round(4)

# %% [markdown]
# And PARITY against the others, length by length: each PARITY run's distance (`offset`, in log blowup)
# above a line fitted to the other three functions' runs, with a Mann–Whitney test of PARITY's
# distances against theirs (`p`).

# %%
ch.parity_offset(runs).round(4)

# %% [markdown]
# HR24's Fig. 10 puts PARITY at $n = 5$ among the other functions; here it sits above them already at
# the shortest length. Two settings of this scale differ from HR24's and could do that: the width (32
# here, 128 in HR24) and the learning rates (drawn from $(3\times10^{-4}, 10^{-3})$ here, from
# $(10^{-4}, 5\times10^{-4})$ in HR24). Each is changed on its own, and PARITY and MAJORITY are rerun at
# the shortest length with the same draws; `offset` is PARITY's distance above MAJORITY at matched norm
# (one line $\log \mathbb E[\mathrm{Blowup}] \sim \mathrm{norm} + \delta\cdot[\mathrm{PARITY}]$ over both
# functions' kept runs) with its $t$-test.

# %%
variants = offset.run_offset(cfg)
offsets = offset.offset_table(cfg, runs, variants)
offsets.round(4)

# %% tags=["remove-input"]
Markdown(ch.describe_tradeoff(runs))

# %% [markdown]
# ## Training dynamics of PARITY (HR24 Fig. 3, 12, 13)
#
# PARITY at the longest length of the tradeoff runs, one run per (weight decay, seed), constant learning
# rate, no early stop. Training calls one hook at every evaluation, which logs the sharpness (Eq. 15,
# ×4, the same perturbation directions each time), the parameter norm and the blowup beside the
# evaluation MSE. The events are read off the curves afterwards:
#
# - the **plateau exit**: the first evaluation whose MSE is below half of $\mathrm{Var}(f)$ (chance level);
# - the **sharpness peak**: the evaluation where the sharpness, averaged over 3 neighbouring evaluations,
#   is largest; and, since a sharpness that jumps and then stays high has no clear peak, the **steepest
#   rise**: the evaluation that ends the largest step-to-step increase of its log;
# - **convergence**: the first evaluation where that 3-evaluation mean of the MSE is below $10^{-3}$; the
#   change of the norm and of the log blowup are measured from there to the end.

# %%
curves = ch.dynamics_curves(cfg)
events = ch.events_table(curves, cfg)
axes = plots.dynamics_panels(curves, events)

# %% [markdown]
# **How to read it.** A run first sits at chance (MSE $0.25$) with a low sharpness. The dotted line
# marks where its loss falls; if HR24's picture holds, the sharpness curve of the same colour jumps
# there, because the model has just moved into the narrow region of parameter space where PARITY is
# computed. HR24 also see the sharpness come down again over tens of thousands of steps (Fig. 3, 13),
# so that the jump is also its peak; the claims test both. After convergence the loss stays near zero
# and what can change is how the model pays for it: weight decay keeps pulling the norm down, and by
# the tradeoff the blowup must rise to keep the function sensitive.
#
# The events of each run, detected as defined above (`gap`: steps between the plateau exit and the
# sharpness peak; `rise_step`: the steepest rise; `norm_change`: relative change of the norm from
# convergence to the end; `log_blowup_change`: change of $\log \mathbb E[\mathrm{Blowup}]$ over the
# same steps):

# %%
ch.events_display(events)

# %% tags=["remove-input"]
Markdown(ch.describe_dynamics(cfg, events))

# %% [markdown]
# After convergence, each run's path in the (log blowup, norm) plane (HR24 Fig. 14):

# %%
ax = plots.norm_vs_blowup_along_training(curves, events)

# %% [markdown]
# ## Over many steps (HR24 Fig. 3, 12, 13)
#
# The runs above end a few thousand steps after convergence, while the sharpness of the runs with
# weight decay is still rising with the blowup. HR24 follow PARITY much longer (10,000 steps in Fig. 3
# and 12, 100,000 in Fig. 13) and see the spike pass: the sharpness comes down and levels off at a value
# that stays well above that of the easy functions; the blowup keeps climbing as weight decay pulls the
# norm down, without taking the sharpness with it; and without weight decay the sharpness ends lower.
#
# The long runs are the same model, learning rate and measures as the runs above, trained for
# `long_steps` steps at weight decay 0 and 0.1, with the sharpness measured every 100 steps while the
# spike happens (up to step 5,000) and every 500 steps after. The grey band spans the sharpness of the
# converged MAJORITY, FIRST and MEAN tradeoff runs at the same length: the easy functions' floor.

# %%
long = ch.long_curves(cfg)
long_events = ch.long_events(long)
easy = ch.floor(runs, cfg.dynamics_n)
axes = plots.long_dynamics_panels(long, easy)

# %% [markdown]
# Each run summarised (`peak`: the largest 3-evaluation mean of the sharpness; `level`: its median over
# the last quarter of training; `fall`: $\log(\text{level}/\text{peak})$; `drift`: the change of log
# sharpness over the last quarter, from a straight line through its evaluations; `elasticity`: the slope
# of log sharpness on log blowup over the second half of training, where weight decay still moves both
# the norm and the blowup; `blowup_change`, `norm_change`: over that half):

# %%
long_events.round(4)

# %% [markdown]
# The tests behind the claims. A level sharpness is an equivalence statement: the 90% interval of the
# mean drift must lie within $\pm\log 1.25$ (less than a quarter up or down over the last 5,000 steps).
# "Does not follow the blowup" is one too: a sharpness that grew in proportion to the blowup would have
# elasticity 1, and the interval must lie within $\pm 0.5$.

# %%
dashed(ch.long_tests(long_events, easy), digits=4)

# %% tags=["remove-input"]
Markdown(ch.describe_long(cfg, long_events, easy))

# %% [markdown]
# ## Compute spent
#
# Training and measuring time summed over runs (one thread each), as recorded when each run was computed;
# a dynamics run measures at every evaluation, inside its training time. The book's `cpu` runs were
# computed on two cores shared with other jobs, so these wall times are several times the idle ones.

# %%
compute_summary(ch.cost_parts(runs, events, long_events), "experiment", columns=ch.COST, digits=2)

# %% [markdown]
# ## Claims
#
# Each check is computed from the tables above; the note says what was tested and, where a claim does
# not hold at this scale, why.

# %%
claims = record(ch.claims(cfg, runs, events, offsets, long_events))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
