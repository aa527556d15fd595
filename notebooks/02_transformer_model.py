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
# # The transformer under study
#
# Both halves of HR24's argument are about one architecture: a standard post-LayerNorm transformer
# encoder that reads a bit string one bit per token and predicts a single number at the last position
# (HR24 §2, §7.1). This chapter builds that model, checks it against PyTorch's own
# `nn.TransformerEncoder`, and looks inside it at the quantity the theory revolves around: how strongly
# each LayerNorm *amplifies* its input.
#
# **The model.** Each bit becomes a token. A learned token embedding (two symbols) and a learned
# positional embedding, each of width $d/2$, are concatenated into a $d$-dimensional vector (the paper's
# §2 writes them as added; the released code concatenates, and so do we). Two encoder layers follow, each
# computing `x = norm1(x + attention(x))` then `x = norm2(x + mlp(x))`, with ReLU, a feed-forward width
# equal to $d$, no dropout and no final LayerNorm. A linear head reads the last position.
#
# **The normalisation factor.** LayerNorm subtracts the mean of its input $Y$ and divides by its standard
# deviation. HR24 call the divisor's reciprocal the normalisation factor,
#
# $$N_i^{(k)} = \frac{1}{\sqrt{\sigma^2(Y_i^{(k)}) + \varepsilon}},$$
#
# for LayerNorm application $k$ at position $i$ (Eq. 5). When the activations entering a LayerNorm are
# nearly constant across features, $N$ is huge and tiny differences are blown up to unit size. That is
# exactly what lets a transformer be very sensitive to single input bits, and, the paper argues, what
# makes such solutions brittle. The *blowup* of an input is the product, over LayerNorm applications, of
# the largest factor across positions (Eq. 11 adds 1 to each factor for technical reasons; §7.1 drops it
# and so does our default).
#
# **Which factor we report.** We report Eq. 5 as LayerNorm itself computes it: the biased variance plus
# PyTorch's $\varepsilon = 10^{-5}$. The original code reports $1/\mathrm{std}$ with the unbiased
# estimator and no $\varepsilon$, which is smaller by $\sqrt{(d-1)/d}$ wherever $\varepsilon$ is
# negligible; both are computed below and the claims table checks the ratio. Since only the last position
# reaches the head, our last layer computes the last position alone (outputs are unchanged, and it is
# faster); its two LayerNorm applications therefore contribute that position's factor.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
n = None  # input length of the live model (None: the scale's preset)
function = None  # function the live model learns: "parity", "majority", "first" or "mean"
steps = None  # training steps of the live model
d = None  # model width, a multiple of 4 (None: the scale's preset)

# %% tags=["hide-input"]
from replication.experiments import transformer_model as ch
cfg = ch.AnatomyConfig.from_params(scale=scale, n=n, function=function, steps=steps, d=d)
cfg

# %% tags=["hide-input"]
from IPython.display import Markdown
from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.plots import sensitivity as plots
from replication.report.status import origin_note

# %% [markdown]
# ## A live model, before and after training
#
# We build the model at its random initialisation and train a copy on the configured function with fresh
# random strings every step (AdamW, MSE). The trained weights are stored (the book reads them from the
# committed `results/`), so rerunning the chapter is instant.

# %%
models, summary = ch.live_models(cfg)
Markdown(origin_note())

# %%
print(models["trained"])
ch.training_table(summary)

# %% [markdown]
# ## The same function as `torch.nn.TransformerEncoder`
#
# Copying the layer weights into PyTorch's own encoder and feeding it our embeddings must give the same
# predictions, for the random and the trained model alike. We also confirm the identity from HR24 §2 that
# a normalised vector has Euclidean norm at most $\sqrt d$ (with equality when $\varepsilon = 0$).

# %%
x = ch.probe_inputs(cfg)
checks = ch.equivalence_checks(models, x)
ch.equivalence_table(checks)

# %% [markdown]
# ## The normalisation factors $N_i^{(k)}$
#
# Each heat map shows the factor averaged over random inputs, for every LayerNorm application (rows) and
# position (columns). The last layer only computes the last position.

# %%
factors = ch.ln_factor_frame(models, x)
axes = plots.ln_factor_heatmaps(factors)

# %% [markdown]
# ## Blowup per input
#
# Blowup multiplies the largest factor of each LayerNorm application. The theory expects it to grow
# as the model learns a sensitive function: to let one bit flip move the output by a full unit, the model
# must push nearly-constant activations through LayerNorm. The boxes split inputs by their number of
# ones, the statistic PARITY and MAJORITY depend on; the table summarises each convention of the factor.

# %%
blowups = ch.blowup_frame(models, x)
ax = plots.blowup_by_ones(blowups)
ch.blowup_summary(blowups)

# %% tags=["remove-input"]
Markdown(ch.describe(cfg, blowups, summary))

# %% [markdown]
# ## Claims

# %%
claims = record(ch.claims(cfg, checks, factors, blowups, summary["eval_mse"]))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
