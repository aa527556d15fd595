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
# # Sensitive functions sit in sharp minima
#
# The second main result of {cite:t}`hahn2024sensitive` (HR24 §5, Thm 6) turns the blowup bound of the
# previous chapter into a statement about the loss landscape. Take a trained transformer $T_\theta$ and
# nudge every parameter by a small random amount. How much does its output move? HR24 measure this with
# the *average-direction sharpness*
#
# $$L_{\rho,n}(T) = \mathbb E_{x}\,\mathbb E_{\Delta}\,\big(T_{\theta+\Delta}(x) - T_\theta(x)\big)^2 ,
# \qquad \Delta \sim \mathcal N(0,\rho^2 I),\ \rho = 0.02 \quad\text{(Eq. 15, §7.1)},$$
#
# where $\Delta$ touches every parameter except the positional embeddings (their number grows with $n$).
# Thm 6 says that for a model computing a function whose average sensitivity grows like $n$, this
# quantity cannot go to zero as inputs get longer: in the limit it is at least $as_n(T)/(2n)$, which
# is $1/2$ for PARITY, and $1$ when outputs are exactly Boolean. Functions with sublinear sensitivity
# (MAJORITY $\sim\sqrt n$, FIRST $1$, MEAN $1/n$) get no such bound. So the prediction is:
# **trained PARITY models become sharper as $n$ grows, the other three stay flat.** HR24 test it by
# training on lengths 4 to 30 (Fig. 1, 5, 6; Table 2) and, for the three easy functions, on much longer
# inputs with a tiny model (App. E.2, Fig. 7, 8).
#
# Our outputs are on the $\{0,1\}$ scale, like the original code's; multiplying Eq. 15 by 4 puts them
# on the theory's $\pm1$ scale, and every sharpness below is reported that way.
#
# **What this chapter runs.** For each function, length and seed we train the HR24 encoder with fresh
# random strings for a fixed number of steps, keep the run if its final MSE on fresh strings is below
# $10^{-3}$ (HR24 §7.1), and measure it on a fixed set of strings. Every run is cached on its own, so a
# rerun, or chapter 04 which reads the same runs, recomputes nothing.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
n = None  # largest input length of the main sweep, 4..64 (None: the scale's preset, 30 at cpu and paper)
functions = None  # e.g. ["parity", "majority"]; None: all four
seeds = None  # seeds per (function, n); None: the scale's preset
steps = None  # training steps of every main-sweep run; None: the scale's preset
n_jobs = None  # worker processes (one torch thread each); None: the preset's, 2 at cpu and paper
scheduler = None  # a dask.distributed scheduler address such as "tcp://127.0.0.1:8786"; None: local processes

# %% tags=["hide-input"]
from replication.report import status
from replication.experiments.sharpness import SweepConfig

cfg = SweepConfig.from_params(scale=scale, n=n, functions=functions, seeds=seeds, steps=steps, n_jobs=n_jobs)

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.text import dashed
from replication.report.view import display_table
from replication.report.stats import compute_summary
from replication.experiments import sharpness as ch
from replication.runs.encoder import sweep
from replication.experiments.sharpness import paper
from replication.experiments.sharpness import long_inputs
from replication.plots import sharpness as plots

# %% [markdown]
# ## Settings at this scale
#
# The paper's grid (27 lengths × 10 seeds × 4 functions, width 128, batch 1024, 10,000 steps) costs about
# an hour per run on one core of a laptop-class CPU, so the `cpu` scale shrinks it (the compute it took is
# tabulated at the end of this page). The table gives this scale's settings beside the `paper` preset, and
# for each difference the measurement behind it (one torch thread per process, two processes side by side).

# %%
ch.settings_table(cfg)

# %% [markdown]
# ### Calibration: how far can PARITY get on a CPU?
#
# The first `cpu` settings (trial A below) trained PARITY to convergence only on short inputs. To choose a
# protocol for a longer sweep we measured, on PARITY at $n = 12, 14, 16$ (width 32, one seed per length),
# which protocols get further within a fixed
# budget while ending at HR24's learning rate 3e-4: a larger batch, a longer budget, and a first phase at
# a higher learning rate that hands over to 3e-4 at the plateau exit (the first evaluation below half of
# $\mathrm{Var}(f)$), after which every run takes the same number of steps, so that what is measured stays
# comparable. Each trial is stored like any run of the sweep; a trial not computed yet is listed as such.
# Minutes per run are wall time on a machine shared with other jobs, so they compare trials only roughly;
# the training strings a run sees (batch × steps) compare their cost exactly.

# %%
calibration = sweep.run_calibration(cfg)
dashed(sweep.calibration_table(calibration, cfg.scale))

# %% tags=["remove-input"]
Markdown(sweep.describe_calibration(calibration) + "\n\n" + sweep.describe_choice(cfg, calibration))

# %% [markdown]
# A learning rate that changes the measured quantity is not a fair lever, whatever it does for
# convergence: a protocol for the longer sweep keeps 3e-4 throughout and spends its budget on batch and
# steps.
#
# The runs are computed once (`make results CHAPTER=05`) and committed under `results/`; the book reads
# them. The compute each sweep spent, as recorded when each run was computed, is tabulated at the end of
# this page.

# %% [markdown]
# ## The sweep
#
# One row per run: its config, whether it was kept, and the measurements. `source` says whether the run
# was read from the committed `results/`, from this machine's cache, or computed now.

# %% tags=["hide-output"]
runs = sweep.run_main(cfg, scheduler=scheduler)
sweep.runs_table(runs)

# %% tags=["remove-input"]
Markdown(status.origin_note())

# %% [markdown]
# ### Which runs are kept
#
# Sharpness only means something for a model that computes the function, so runs whose final MSE is not
# below $10^{-3}$ are left out of everything below, as in HR24. Here is how many runs that leaves at
# each length. Runs that did not converge are shown here and counted, not hidden; where PARITY runs only
# up to some length (the lengths beyond are the other three functions'), the map is blank.

# %%
ax = plots.convergence_heatmap(sweep.convergence_counts(runs))

# %% [markdown]
# ## Sharpness against length (HR24 Fig. 1)
#
# Each dot is one converged run; lines are means over seeds with ±1 standard deviation. The y-axis is
# logarithmic: the functions differ by orders of magnitude.

# %%
ax = plots.metric_vs_n(runs, "sharpness", logy=True, ylabel="sharpness (Eq. 15, ×4)")

# %% [markdown]
# A floor under the easy functions does not come from the function: perturbing the last LayerNorm's gain
# and the linear head moves the output of *any* model, by an amount set by the width and the size of those
# weights (about $4\rho^2 d\gamma^2$ for a gain $\gamma$), which is why HR24's easy functions also have a
# nonzero sharpness, and why it is higher at width 128 than at width 32. In this run:

# %% tags=["remove-input"]
Markdown(ch.describe_floor(runs))

# %% [markdown]
# The same data per function, first with separate y-axes (HR24 Fig. 5), then with a shared one (Fig. 6).

# %%
axes = plots.sharpness_panels(runs)

# %%
axes = plots.sharpness_panels(runs, sharey=True)

# %% [markdown]
# ## Table 2: slope of sharpness on length
#
# A least-squares line of sharpness on $n$ over converged runs of each function
# (`scipy.stats.linregress`: slope, Pearson $r$, two-sided $p$ for slope $=0$), beside the paper's
# values, over two ranges. **Like with like**: over the lengths where PARITY converged, every function is
# fitted on the same lengths. **All lengths**: the other functions also reach lengths where PARITY did not
# converge or was not run. `max_n` is the longest length with a converged run.
#
# The absolute slopes are not comparable with HR24's: the floor described above grows with the width
# (HR24 train width 128, this table comes from the width in the settings), so every function's sharpness
# is shifted and scaled. The comparison with the paper is therefore made on signs and on **ratios**
# between functions at the same width.

# %%
ch.table2_ranges(runs)

# %% [markdown]
# PARITY's slope divided by each other function's, over PARITY's range, with a 95% bootstrap interval
# (runs resampled with replacement within each length, 2,000 resamples), beside the same ratio from
# HR24's Table 2. A slope near zero in the denominator makes the ratio unstable: its interval then
# spans both signs, and `other_slope_sign_flips` says in what fraction of resamples the denominator's sign
# differed from the estimate's.

# %%
ch.slope_ratios(runs)

# %% tags=["remove-input"]
Markdown(ch.describe(runs))

# %% [markdown]
# **Reading the table.** The paper's pattern has three parts: PARITY's slope is large and significant,
# MAJORITY's and FIRST's are small but (with 270 runs each) significant, and MEAN's is not significant.
# At reduced scale the first part is the one to look for: PARITY's slope should dwarf the others'.
# Two caveats apply. First, where PARITY converges only on short inputs its line is fitted over a much
# shorter range than the paper's 4–30, and the paper's claim that sharpness approaches 1 near $n = 30$
# (Thm 6, a statement about the limit of long inputs) cannot be tested: the claims table then says so
# instead of reading a rising curve that crosses 1 on its way up as a confirmation. Second, with few seeds
# per length a $p$-value for the small slopes of the other functions is fragile: a single sharp seed at one
# length moves it.

# %% [markdown]
# ## Eq. 15 and the original code's ΔMSE
#
# The released code does not compute Eq. 15; it measures how much the *loss* rises under the same kind
# of perturbation, $E_\Delta[\mathrm{MSE}(\theta+\Delta)] - \mathrm{MSE}(\theta)$. Expanding the square,
# the two differ by $2\,E[(T_{\theta+\Delta}-T_\theta)(T_\theta - y)]$, which vanishes when the model fits
# its targets exactly and averages out over symmetric perturbations otherwise. We compute both with the
# same perturbations and strings.

# %%
ax = plots.variant_scatter(runs)
ch.variants_table(runs)

# %% [markdown]
# ## Long inputs with a tiny model (HR24 Fig. 7/8)
#
# HR24 also train width-4 models (feed-forward width 4, batch 128) on MAJORITY, FIRST and MEAN up to
# $n = 512$; PARITY was out of reach there. MAJORITY's sensitivity still grows (as $\sqrt n$), so its
# sharpness should creep up; FIRST and MEAN should stay flat. Absolute values are not comparable with
# the width-32 models above.

# %%
long_runs = sweep.run_long(cfg, scheduler=scheduler)
sweep.kept_table(long_runs)

# %%
axes = plots.sharpness_panels(long_runs, title=f"width {cfg.long_d}: separate y-axes (Fig. 7)", logx=True)

# %%
axes = plots.sharpness_panels(long_runs, sharey=True, title=f"width {cfg.long_d}: shared y-axis (Fig. 8)", logx=True)

# %% [markdown]
# Width-4 models are fragile: from seed to seed their sharpness can vary by orders of magnitude at the
# same length, so the trend is judged by a rank statistic (Spearman's $\rho$ of sharpness with $n$ over
# converged runs), which a single extreme seed cannot dominate; the least-squares slopes are shown beside
# it. HR24 average 10 seeds trained for 10,000 steps up to $n = 512$.

# %%
ch.rank_table(long_runs).merge(ch.regression_table(long_runs), on=["function", "runs", "max_n"], suffixes=("", "_linregress"))

# %% tags=["remove-input"]
Markdown(ch.describe_long(cfg, long_runs))

# %% [markdown]
# ### Does the step budget move sharpness by itself?
#
# At width 4 MAJORITY converges less often as $n$ grows, so from `majority_long_from_n` on its runs train
# for `majority_long_steps` steps instead of `long_steps`. If training longer by itself changed sharpness,
# ranking those runs together with the shorter ones would credit $n$ with the budget's effect. Where both
# budgets were trained at one length, the table compares them; the claims below therefore rank runs only
# within a step budget and combine the budgets' correlations (Fisher's $z$, weighted by runs).

# %%
long_inputs.budget_effect(cfg)

# %% [markdown]
# ### Blowup in both conventions
#
# The book's Blowup is Eq. 5's factor $1/\sqrt{\mathrm{var}+\varepsilon}$ (what `nn.LayerNorm` divides
# by); HR24's code divides by the unbiased standard deviation with no $\varepsilon$. Per LayerNorm the two
# differ by about $\sqrt{d/(d-1)}$, so over the four applications the book's value is about $(d/(d-1))^2$
# times the code's: 1.78 at width 4, where the difference matters, and 1.07 at width 32. Both are
# recomputed here from the stored weights of every converged width-4 model (no training): medians per
# length, `blowup_eq5` in the book's convention, `blowup_code` in the original code's.

# %%
blowups = long_inputs.blowup_conventions(cfg)
long_inputs.per_length(long_runs, blowups)

# %% tags=["remove-input"]
Markdown(long_inputs.describe_conventions(blowups, cfg.long_d))

# %% [markdown]
# ## Compute spent
#
# Training and measuring time summed over runs (one thread each), as recorded when each run was first
# computed; a rerun that reads stored runs costs only the loading. The last column names the machines that
# computed the runs, from each run's provenance: a step's time differs between them, so the minutes add up
# only roughly.

# %%
compute_summary({"main sweep": runs, "long inputs": long_runs}, "sweep", columns=ch.COST, digits=2).reset_index()

# %% [markdown]
# ## Claims
#
# Each check is computed from the frames above; the note says what was tested and, where a claim does
# not hold at this scale, the likely reason.

# %%
claims = record(ch.claims(cfg, runs, long_runs))
display_table(claims)

# %% [markdown]
# ## At the paper's settings
#
# The paper's grid (width 128, batch 1024, 10,000 steps, 10 seeds of every function at every length from 4
# to 30) is computed on a GPU, many seeds trained as one batched model (`python -m replication.make --scale
# paper --chapter 05`), and committed under `results/paper/`. This page reads whatever part of it is
# committed, whatever the scale it is built at, trains nothing, and counts what it has against the grid.
# The claims are then checked on those runs at the paper's own width, where Thm 6 (PARITY's rescaled
# sharpness near 1 on long inputs) becomes testable if PARITY converges up to $n \geq 20$.

# %%
paper_runs, paper_grid = paper.read_paper()
dashed(paper.paper_counts(paper_runs))

# %% tags=["remove-input"]
Markdown(paper.describe_paper(paper_runs, paper_grid))

# %%
paper_claims = record(paper.paper_claims(paper_runs, paper_grid))
display_table(paper_claims) if len(paper_claims) else None

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims, paper_claims)
