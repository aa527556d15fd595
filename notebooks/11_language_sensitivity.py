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
# # Token-wise sensitivity on language: a transformer against an LSTM
#
# Chapters 09 and 10 measured *token-wise sensitivity* (V25 Def. 4.1): add Gaussian noise to one token of
# the input and ask whether the predicted class changes, averaged over inputs, tokens and noise draws.
# {cite:t}`vasudeva2025transformers` (V25 §6) carry it to sentences, where a token is a sub-word and
# its "value" is its embedding vector. They train, from scratch, a RoBERTa-style transformer (with the usual
# softmax attention, and with ReLU in its place, the closer relative of the linear attention of their
# theory) and an LSTM of the same depth on two sentence-pair tasks, MRPC and QQP (is the second sentence
# a paraphrase of the first?), and report:
#
# 1. **The transformer ends less sensitive than the LSTM** (MRPC: LSTM 0.15, softmax 0.002, ReLU 0.001;
#    QQP: 0.09, 0.03, 0.02), and the LSTM is the more sensitive one **already at initialisation**.
# 2. **ReLU attention ends below softmax attention.**
# 3. **The LSTM is more sensitive to later tokens**, the transformer about uniform over positions
#    (App. A.4: the same with noise variance 4, on the validation set, and at other depths).
#
# **How the noise is put on.** Each token's embedding (for the transformer: token plus learned position
# embedding) goes through a LayerNorm first, so every token vector has zero mean and unit variance per
# coordinate; then noise $\mathcal N(0, \sigma^2 I)$ with $\sigma^2 = 15$ (V25 §6; 4 in App. A.4) is added to
# that one token. Without the LayerNorm the variance would have no scale; with it, $\sigma^2 = 15$ is far
# larger than the token itself, so a perturbed token is close to a random vector. Only real tokens are
# perturbed, never padding. Positions are counted from the end of each sequence, as V25 align sequences to
# the right to plot sensitivity against position.
#
# **The data.** MRPC and QQP cannot be downloaded here, and no package ships them. The chapter builds
# sentence-pair tasks from a real English corpus that installs as a Debian package, WordNet 3.0
# (`wordnet-base`, set up by `make setup`): each sense of a word has a definition (gloss) and, often,
# usage examples (`replication.tasks.wordnet`). Words, not pairs, are split into training and validation,
# so no definition or example is in both. The task closest to MRPC and QQP pairs a definition with a usage
# example *of the same word*: label 1 if the example illustrates that sense, 0 if it illustrates another
# sense of the word ("sloping land (especially the slope beside a body of water)" with "they pulled the canoe
# up on the bank" against "he cashed a check at the bank"); every positive pair has a negative twin with the
# same definition, so the definition alone says nothing (`sense` task). At this budget no model learned it
# beyond its training pairs, nor an easier variant (see the trials below). The runs of this chapter therefore
# use the **`order` task**: a definition and an example of the same sense, in that order (label 1) or the
# other way round (label 0). Both orders hold the same two sentences, so the words alone say nothing: a model
# must tell which sentence is the definition (WordNet's definitions are noun phrases or bare verb phrases,
# its examples mostly full sentences) and where each stands. Like MRPC and QQP it is a decision about a pair
# of real sentences; unlike them it turns on the kind of sentence and its position rather than on meaning,
# the sentences are much shorter (about 13 words a pair), and the two orders of a pair are always in the
# same split. The parameter `pairing` chooses the task (`order`, `sense`, or `word`, the easier variant tried
# below). A reader with GLUE's MRPC or QQP files runs the same
# chapter on them with one call:
# `papermill notebooks/11_language_sensitivity.ipynb out.ipynb -p dataset mrpc -p data_dir /path/to/MRPC`
# (`train.tsv` and `dev.tsv` in GLUE's layout, `replication.tasks.text.read_glue`).
#
# **Tokens** come from a byte-level BPE (RoBERTa's kind of tokeniser) trained on the training sentences with
# the `tokenizers` package, and each pair is written RoBERTa's way, `<s> A </s></s> B </s>`.
#
# **The models** are written in plain torch (`replication.models.language`): the encoder is RoBERTa's
# layout (post-LN blocks, GELU feed-forward, the classification head on `<s>`); with ReLU attention the
# scores pass through a ReLU instead of the softmax and are divided by the number of real tokens. A test
# checks the softmax encoder's blocks against `torch.nn.TransformerEncoderLayer` with copied weights. The
# LSTM (`torch.nn.LSTM`, unidirectional, same depth and width) classifies at its last token, `</s>`.

# %% [markdown]
# ```{glue} verdict
# ```

# %% tags=["parameters"]
scale = None  # "ci", "cpu" or "paper"; None means $REPLICATION_SCALE, else "cpu"
dataset = None  # "wordnet" (installed by make setup), "mrpc" or "qqp" (GLUE files in data_dir) (None: wordnet)
data_dir = None  # folder with GLUE's train.tsv and dev.tsv for mrpc / qqp (None: WordNet at /usr/share/wordnet)
models = None  # list from ["lstm", "softmax", "relu"] (None: all three)
seeds = None  # seeds per model (None: the preset's, 3 at cpu)
epochs = None  # training epochs (None: the preset's, 3 at cpu, 100 at paper)
n_train = None  # training pairs, a fixed random subset (None: the preset's, 10,000 at cpu; the paper preset uses every pair)
n_val = None  # validation pairs (None: the preset's, 2,000 at cpu; the paper preset uses every pair)

# %%
from replication.report import status
from replication.experiments.language_sensitivity import LanguageConfig

cfg = LanguageConfig.from_params(scale=scale, dataset=dataset, data_dir=data_dir, models=models, seeds=seeds,
                                 epochs=epochs, n_train=n_train, n_val=n_val)

# %% tags=["hide-input"]
from IPython.display import Markdown

from replication.report.claims import record
from replication.report.verdicts import glue_verdict
from replication.report.view import display_table
from replication.report.text import dashed
from replication.report.stats import compute_summary
from replication.experiments import language_sensitivity as ch
from replication.plots import language_sensitivity as plots

# %% [markdown]
# ## The runs
#
# Each trained model is one stored run: its accuracies and sensitivities at every checkpoint (initialisation
# and several epochs), and the sensitivity at each position from the end. The book reads them.

# %%
runs = ch.run_table(cfg)

# %% tags=["remove-input"]
Markdown(status.origin_note())

# %% [markdown]
# ## Settings at this scale
#
# V25's released scripts build both models 4 layers deep and 256 wide (RoBERTa with 8 heads and roberta-base's
# feed-forward width of 3,072) and train them with AdamW at a learning rate of 1e-4 for 100 epochs, the rate
# multiplied by 0.9 after every epoch. The runs of this first part are the chapter's order task at small sizes:
# one CPU thread each, so the models are narrow (width 32), the data a subset, and the learning rate ten times
# V25's, so that the models fit their training pairs within three epochs. The section "At V25's sizes, on a
# task that turns on meaning" below holds the runs at V25's sizes and training. The last row is the time the
# stored runs took.

# %%
ch.settings_table(cfg, runs)

# %% [markdown]
# ## Trials: does anything carry to held-out words?
#
# Sensitivity compares models that have learned something, so the setting was chosen by single runs (seed 0,
# one thread each) that tried to get validation accuracy above chance at this budget. Trial 0 is the
# chapter's first setting, the `sense` task on 2,000 training pairs for 20 epochs: every model fitted its
# training pairs and stayed at chance on the validation pairs. The levers: far more pairs (WordNet gives
# 34,150 training pairs of the sense task) with fewer epochs; an easier pair task whose negatives are
# examples of *another* word, with the word written before its definition (`"bank: sloping land ..."`), so
# that most positive examples share a token with the first sentence (`word` task); a larger learning rate,
# and no dropout, for the LSTM; the `order` task (trial 5), whose setting the chapter's runs use (its
# three runs are their seed 0); and the word task trained five times longer (trial 6). Accuracies after the last epoch, sensitivity at σ² = 15 on training pairs,
# training seconds on one thread:

# %%
trials = ch.trial_table(cfg)
trials

# %% tags=["remove-input"]
Markdown(ch.describe_trials(trials))

# %% [markdown]
# ## Accuracy and sensitivity along training
#
# Mean over seeds, band: the range. Epoch 0 is the model at initialisation.

# %%
curves = ch.curves(cfg, runs)
axes = plots.along_training(curves)

# %% [markdown]
# The same numbers after the last epoch, mean ± standard deviation over seeds (`init_` columns: at
# initialisation):

# %%
ch.summary(runs)

# %% tags=["remove-input"]
Markdown(ch.describe(runs))

# %% [markdown]
# ## Sensitivity per position
#
# The share of changed predictions when the token at a given position from the end is perturbed (0 is the
# final `</s>`; the first token `<s>` sits at a different position in each pair), σ² = 15, training pairs,
# mean over seeds, band: the range. The rank correlation of each run's curve with lateness (positions with
# at least 20 perturbed evaluations) is the test of the position claim; `late` and `early` are the mean
# sensitivities of the last five positions and of the others.

# %%
pos = ch.positions(cfg, runs)
axes = plots.by_position(pos, (0, int(pos["epoch"].max())))
trend = ch.position_trend(pos, ch.MIN_COUNT)
trend

# %% [markdown]
# **Reading it.** A model that predicts one class for every input has sensitivity 0 however it is built,
# so sensitivity compares models only where they actually separate the inputs: the accuracy curves above
# say when that is. The LSTM reads the pair from left to right and classifies at the last token, so noise
# on a late token has a short path to the output; the transformer's `<s>` attends to all tokens at once.

# %% [markdown]
# ## Where the noise goes
#
# V25 add the noise to the token's embedding *after* the LayerNorm. Each coordinate of a LayerNorm-ed token
# has variance about 1, so with σ² = 15 the noise vector is about √15 ≈ 3.9 times as long as the token it
# is added to, and the perturbed token is far outside the range of anything the model saw in training.
# What a model does with such an outlier depends on its architecture: an LSTM's gates pass their inputs
# through sigmoids and tanh, which saturate; an attention layer turns a long key into large scores, and
# a long value into a large output. V25's paper does not say how they fed the noisy embeddings to RoBERTa;
# their released code passes them in as input embeddings (`inputs_embeds`), to which RoBERTa's embedding
# module adds the positions and which it normalises again before the first layer, so the perturbed token
# reaches the transformer at the scale of every other token. Their LSTM's noise goes on after its embedding
# LayerNorm, and nothing normalises it again.
#
# To see how much of the comparison rides on this, the same trained models (same seeds, same training: the
# measurements draw their noise from their own generators, so training does not depend on them) are
# measured again with the noise added *before* the LayerNorm, for both architectures alike: the perturbed
# token is LayerNorm(embedding + noise), a random direction at the usual scale. `same_model` checks that
# the final accuracies agree exactly with the runs above (in every seed). For the transformers, "before LN"
# is the released code's path; for the LSTM the code's path is the paper's ("after LN"), so the code's
# reading compares the LSTM's "after LN" column with the transformers' "before LN" columns. Mean over seeds,
# training pairs:

# %%
before = ch.before_norm_table(cfg, runs)
ch.before_norm_summary(before) if len(before) else None

# %% tags=["remove-input"]
Markdown(ch.describe_before(before))

# %% [markdown]
# ## Other depths (V25 App. A.4)
#
# V25 report that changing the number of layers moves every model's sensitivity up or down together but
# keeps their order. The same runs were trained again with fewer and with more layers (both models, all
# else the same): mean final sensitivity on training pairs at $\sigma^2 = 15$ per depth and model, with the
# validation accuracy.

# %%
depths = ch.depth_table(cfg, runs)
depths.round(4) if len(depths) else None

# %% [markdown]
# ## At V25's sizes, on a task that turns on meaning
#
# The order task is decided by the kind of sentence and the separators, and its models are a fraction of V25's
# size. This section repeats V25 §6 with V25's models and training as their released scripts set them, on a
# pair task whose label depends on meaning, built from WordNet like the others (`paraphrase`,
# `replication.tasks.wordnet.paraphrase_pairs`): a usage example against the same example with its word
# replaced by a synonym from the word's synset (label 1, a paraphrase) or by a word of *another* sense of that
# word (label 0): "the invaders encountered stiff opposition" with *confrontation* against *foe*. Both
# replacements are words the original can stand for, so only the sense the example uses decides; the split is
# by example (the two pairs of an example together). MRPC and QQP are paraphrase tasks in the same sense.
#
# The models are the chapter's, grown to V25's sizes; tests check the encoder's whole stack at these sizes
# against `torch.nn.TransformerEncoder` with copied weights, and the LSTM's readout against the final hidden
# state `torch.nn.LSTM` gives for the packed pair.
#
# **What differs from the order task's runs**, each from V25's released scripts: width 256, 8 heads, 4 layers;
# AdamW at 1e-4 with the rate × 0.9 after every epoch; at most 128 tokens; the LSTM fed by an embedding and a
# LayerNorm and read out by one linear layer; 3 noise draws per token on at least 400 training pairs. The LSTM
# is trained twice, in full (the paper says nothing else) and with its `nn.LSTM` module alone (the released
# script's optimiser leaves its embedding, LayerNorm and head at their initialisation). Each run measures the
# noise where the paper puts it (on the LayerNorm-ed embedding, both models) and, at initialisation and at the
# end, where the released code puts it (the LSTM's after its LayerNorm, as the paper; RoBERTa's noisy vectors go
# in as input embeddings, so positions are added and the embedding LayerNorm renormalises them), at σ² = 15
# and 4. The `cpu` scale keeps V25's depth, heads, width, optimiser and schedule and cuts the feed-forward
# width to 1,024, the pairs to about MRPC's 3,668 and the epochs to 30 (after which V25's schedule has the
# rate at 4 % of its start). The cost of a step is measured, not assumed: each model is timed for 20 training
# steps on its own batches, one thread, and the projection adds the perturbed forward passes of the
# measurements.

# %%
costs = ch.steps.cost_table(cfg.meaning)
ch.steps.settings(cfg, costs)

# %%
costs

# %% [markdown]
# **The simplest lexical rules.** What reading the words alone, without their meaning, gets right: the
# majority label, "a paraphrase when the replacing word shares its first four letters with the replaced one"
# (spelling variants, derived forms), and "the label the replacing word had in the training pairs". A model
# has *learned* the task when its training accuracy is at least 0.9 and its validation accuracy is above the
# majority rate by a one-sided binomial test over the validation pairs (p < 0.05); V25's models trained from
# scratch are not far above the majority on MRPC either.

# %%
rate = ch.meaning.majority(cfg)
rules = ch.meaning.rules(cfg)
rules

# %% tags=["remove-input"]
Markdown(ch.meaning.describe_rules(rules, rate))

# %% [markdown]
# ### What was tried so that the models fit
#
# V25's optimiser starts at a rate of 1e-4 and multiplies it by 0.9
# after every epoch, so the whole schedule adds up to about ten epochs at the starting rate. Whether V25's
# models fit this task under it is measured, not assumed: one seed of the transformer (softmax) and of the LSTM
# (trained in full) at the meaning runs' sizes, trained for 15 epochs under V25's optimiser and under four
# changes to it (the rate held constant; 3e-4 and 1e-3 after one epoch of linear warm-up, each with V25's
# decay; a curriculum: 5 epochs of the order task, which these models learn, before the paraphrase task, with
# one tokenizer for both), with both accuracies after every epoch (`python -m replication.make --chapter 11 --scale cpu --part
# meaning_trials`; stored, read here). Dashed: the 0.9 training accuracy *learned* asks for, and the
# validation pairs' majority rate.

# %% tags=["remove-input"]
tried = ch.meaning_trials.curves(cfg)
tried_table = ch.meaning_trials.summary(tried, len(ch.meaning_trials.trial_runs(cfg)))
plots.meaning_trials(tried, rate);

# %%
dashed(tried_table, digits=3)

# %% tags=["remove-input"]
Markdown(ch.meaning_trials.describe(tried_table, cfg, rate))

# %% [markdown]
# **The runs.** Below the `ci` scale this page never trains them (hours each on a CPU,
# `python -m replication.make --chapter 11 --scale cpu --part meaning`, resumable): it reads those stored.

# %% tags=["remove-input"]
mruns, mpos, mtotal = ch.meaning.tables(cfg)
Markdown(ch.meaning.stored_note(mruns, mtotal))

# %%
ch.meaning.learned_table(mruns, rate) if len(mruns) else None

# %% [markdown]
# **Under each reading.** V25's comparisons judged under each of the eight readings of how the noise was
# applied (where it enters, its variance, what the LSTM trains), from the same runs:

# %%
ch.meaning.reading_table(mruns, mpos, mtotal)

# %% [markdown]
# ## Compute spent
#
# Training time per model (total, per run, longest) and the time spent measuring at the checkpoints (total),
# one thread each, as recorded when each run was computed; reading stored runs costs only the loading.

# %%
compute_summary(ch.cost_runs(runs, before).groupby("name", sort=False), columns=ch.COST)

# %% [markdown]
# ## Claims
#
# Each claim is tested over seeds with one-sided t-tests at the book's level; the note gives the p-values
# and, where a claim does not hold at this scale, what this chapter's numbers show.
# The order task's claims come first. Then two diagnoses from the meaning trials (does V25's optimiser fit the
# training pairs; does any tried setting end above the majority rate), and the meaning runs' claims: whether the models learn the task,
# then each of V25's comparisons three times, under the paper's reading (a `paper` row), under the released
# code's (a `diagnosis` row) and over all eight readings (a `diagnosis` row that counts them), and a diagnosis
# of which open choice decides the order of the models. Until the meaning runs are stored they say "not run
# yet at this scale" instead of a verdict.

# %%
claims = record(ch.claims(cfg, runs, trend, curves, before, ch.label_share(cfg), trials)
                + ([ch.depth_claim(cfg, depths)] if cfg.depths else [])
                + ch.meaning_trials.claims(cfg, tried_table, rate)
                + ch.meaning.claims(cfg, mruns, mpos, mtotal, rate))
display_table(claims)

# %% tags=["remove-cell"]
# The verdict box at the top of the page, from the claims recorded above.
glue_verdict(claims)
