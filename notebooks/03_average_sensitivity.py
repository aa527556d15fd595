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
# # Average sensitivity
#
# Why should PARITY be hard for a transformer when MAJORITY is easy? Both papers answer with one
# number: **average sensitivity**, how many single-bit flips change a function's output, on average over
# inputs (HR24 §3, Def. 3; V25 §3). This chapter computes it exactly for the four functions the book
# follows, connects it to the Fourier spectrum, and measures it on transformers that have not been
# trained at all.
#
# For $f:\{\pm1\}^n\to\mathbb R$ and an input $x$, let $x^{\oplus i}$ be $x$ with bit $i$ flipped. Then
#
# $$s(x,f) = \tfrac14\sum_{i=1}^n \big(f(x)-f(x^{\oplus i})\big)^2,\qquad as_n(f) = \mathbb E_x\, s(x,f).$$
#
# For a $\pm1$-valued $f$, $s(x,f)$ counts the neighbours of $x$ with a different label. The code works
# with $\{0,1\}$ outputs, as the original experiments do; we convert to the $\pm1$ scale so that the
# numbers below are the theory's.
#
# | function | definition ({0,1} bits) | $as_n$ |
# |---|---|---|
# | PARITY | XOR of all bits | $n$: every flip changes the output |
# | MAJORITY | 1 iff strictly more ones than zeros | $\Theta(\sqrt n)$: only near-balanced strings are sensitive |
# | FIRST | the first bit | $1$ |
# | MEAN | fraction of ones (real-valued) | $1/n$ |
#
# MAJORITY's exact value follows from counting pivotal bits: bit $i$ matters exactly when the other
# $n-1$ bits contain $\lfloor n/2 \rfloor$ ones (with ties sent to 0, this holds for odd and even $n$
# alike), so $as_n = n\binom{n-1}{\lfloor n/2\rfloor}/2^{n-1} \approx \sqrt{2n/\pi}$.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
n = None  # largest input length of the exact curves, 1..22 (None: the scale's preset)
functions = None  # e.g. ["parity", "majority"]; None: all four
init_seeds = None  # random transformers (and random functions) per length
d = None  # width of the random transformers, even (None: the scale's preset)

# %% tags=["hide-input"]
from replication.experiments import average_sensitivity as ch
cfg = ch.SensitivityConfig.from_params(scale=scale, n=n, functions=functions, init_seeds=init_seeds, d=d)
cfg

# %% tags=["hide-input"]
from IPython.display import Markdown
from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.plots import sensitivity as plots
from replication.report.status import origin_note

# %% [markdown]
# Everything in this chapter is enumerated exactly in each build, in seconds, except the random
# transformers of the last section, which are evaluated once and stored:

# %%
init_runs, init_profiles = ch.init_sensitivity(cfg)
Markdown(origin_note())

# %% [markdown]
# ## Exact sensitivity against $n$
#
# Every point enumerates all $2^n$ strings and all $n$ flips; the lines are the closed forms. On the right
# the same values divided by $n$, the normalisation V25 use to compare lengths: only PARITY stays at 1.

# %%
curves = ch.sensitivity_curves(cfg)
axes = plots.sensitivity_curves_pair(curves)

# %%
ch.curves_table(curves)

# %% [markdown]
# ## Fourier degree profiles and Eq. 17
#
# Every function on the cube is a unique combination of parities of subsets, $f = \sum_P \lambda_P \chi_P$
# with $\chi_P(x) = \prod_{i\in P} x_i$. Grouping the squared coefficients by subset size gives the degree
# profile $d_i = \sum_{|P| = i}\lambda_P^2$ (Abbe et al.'s notion, used in HR24 §6), and average
# sensitivity is its mean degree (HR24 Eq. 17):
#
# $$as_n(f) = \sum_P |P|\,\lambda_P^2 = \sum_i i\, d_i .$$
#
# The figure and the list below it read each function's profile at one length. The presets use an odd
# length: with ties sent to 0, MAJORITY at an even length is not an odd function, and part of its
# weight moves to even degrees (the list says how much if you choose an even length). Since average
# sensitivity is the mean degree, a sharp-minimum argument that penalises sensitivity is also a penalty
# on high-degree Fourier weight.

# %%
profiles = ch.degree_profiles(cfg)
ax = plots.degree_profiles(profiles)

# %% tags=["remove-input"]
Markdown(ch.describe_profiles(profiles))

# %%
eq17 = ch.eq17_table(cfg)
eq17

# %% [markdown]
# ## Random transformers have low sensitivity
#
# HR24 §6 argue that high-sensitivity transformers occupy a tiny volume of parameter space, so a randomly
# drawn one should be insensitive; Bhattamishra et al. (2023) observed this. We draw transformers of the
# book's architecture at PyTorch's default initialisation, evaluate them on every string, and turn the
# real output into a balanced Boolean function by thresholding at its median. A uniformly random Boolean
# function, for comparison, has $as_n \approx n/2$.

# %%
ax = plots.init_sensitivity(init_runs)
ch.init_summary(init_runs)

# %% tags=["remove-input"]
Markdown(ch.describe_init(init_runs))

# %% [markdown]
# ### A weak spectral bias at initialisation
#
# V25 §3 prove, for linear attention in the kernel regime, that the eigenvalues attached to low-degree
# monomials are at least as large as those of higher degrees of the same parity, a *weak* spectral bias
# that favours low-degree, hence low-sensitivity, functions. We do not reproduce the kernel calculation;
# what we can show on the actual softmax architecture is the spectrum of the random function it computes
# at initialisation, at the longest length enumerated, beside a random Boolean function, which spreads
# its weight binomially around $n/2$.

# %%
ax = plots.init_profiles(init_profiles)

# %% tags=["remove-input"]
Markdown(ch.describe_spectrum(init_profiles))

# %% [markdown]
# ## Claims
#
# Each row is decided by a computation above; none of the measured values is typed in.

# %%
claims = record(ch.claims(cfg, curves, eq17, init_runs))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
