"""Chapter 11's meaning runs: V25's models and training (their released scripts) on WordNet's paraphrase task, read
from what is stored, the task's lexical baselines, the *learned* rule, the settings beside V25's and the claims under
each reading of the noise (:mod:`.readings`).

Below the `ci` scale the page never trains these runs (hours each at `cpu`): it reads those stored, and says how
many; until enough are, its claims say they are not run yet instead of giving a verdict.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...runs.store import Store
from ...runs.sweep import _row, run_key, run_sweep
from ...tasks import wordnet
from .config import LanguageConfig, language_runs
from .run import KIND, LSTM_CODE, NAMES
from .measure import load_pairs, measure_language
from .readings import CODE, COMPARISONS, FACTORS, PAPER, READINGS, deciding, judge, verdicts

CLAIM = claims_for(__name__)
#: A run has *learned* the task when its training accuracy is at least this and its validation accuracy is above
#: the majority rate by a one-sided binomial test at the book's level.
LEARNED_TRAIN = 0.9


def stored(cfg: LanguageConfig, cache: Store | None = None) -> tuple[list[tuple], int]:
    """``(found, total)``: ``(run, result, device)`` of each meaning run of ``cfg`` that is stored (on the CPU or a
    GPU), and how many runs there are in all; at `ci` every run is computed first (seconds)."""
    m = cfg.meaning
    cache = cache if cache is not None else Store(scale=cfg.scale)
    todo = language_runs(m)
    if cfg.scale == "ci":
        run_sweep(todo, measure_language, KIND, cache=cache, n_jobs=1, progress=False, device="cpu")
    found = []
    for c in todo:
        for device in ("cpu", "cuda"):
            entry, _ = cache.find(KIND, run_key(c, device))
            if entry is not None:
                found.append((c, entry["result"], device))
                break
    return found, len(todo)


def tables(cfg: LanguageConfig, cache: Store | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(runs, positions, total)``: one row per stored meaning run (config fields, scalar results, ``name``), the
    sensitivity per position from the end of each (with its noise ``path``), and the number of runs in all."""
    found, total = stored(cfg, cache)
    rows, pos = [], []
    for c, res, device in found:
        row = _row(c, device, res, "results", {})
        row["name"] = LSTM_CODE if c.model == "lstm" and c.trains == "lstm" else NAMES[c.model]
        rows.append(row)
        for p in res["positions"]:
            for back, (k, n) in enumerate(zip(p["changed"], p["count"])):
                pos.append(
                    {"model": c.model, "trains": c.trains, "seed": c.seed, "path": p.get("path", "paper")}
                    | {"epoch": p["epoch"], "split": p["split"], "variance": p["variance"], "from_end": back}
                    | {"changed": k, "count": n, "sensitivity": k / n if n else float("nan")}
                )
    return pd.DataFrame(rows), pd.DataFrame(pos), total


def majority(cfg: LanguageConfig) -> float:
    """The majority rate of the meaning runs' validation pairs (the share of their commoner label)."""
    val = load_pairs(cfg.meaning.dataset, cfg.meaning.data_dir, cfg.meaning.pairing)[1][: cfg.meaning.n_val or None]
    ones = sum(p.label for p in val) / len(val)
    return max(ones, 1 - ones)


def rules(cfg: LanguageConfig) -> pd.DataFrame:
    """The simplest lexical rules' accuracy on the meaning runs' training and validation pairs
    (:func:`replication.tasks.wordnet.paraphrase_rules`), fitted on the training pairs."""
    m = cfg.meaning
    train, val = load_pairs(m.dataset, m.data_dir, m.pairing)
    acc = wordnet.paraphrase_rules(train[: m.n_train or None], val[: m.n_val or None])
    return pd.DataFrame([{"rule": k, "train_acc": a, "val_acc": b} for k, (a, b) in acc.items()]).set_index("rule")


def learned(train_acc: float, val_acc: float, n_val: int, rate: float) -> tuple[bool, float]:
    """``(learned, p)``: training accuracy at least :data:`LEARNED_TRAIN` and validation accuracy above the majority
    rate ``rate`` by a one-sided binomial test over the ``n_val`` validation pairs (p below ALPHA)."""
    if not 0 < rate < 1 or n_val < 1:
        raise ValueError(f"rate, n_val: need 0 < rate < 1 and n_val >= 1, got {rate!r}, {n_val!r}")
    hits = round(val_acc * n_val)
    p = float(stats.binomtest(hits, n_val, rate, alternative="greater").pvalue)
    return bool(train_acc >= LEARNED_TRAIN and p < ALPHA), p


def learned_table(runs: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Per stored run: its final accuracies, the binomial test's p and whether it learned the task."""
    if not len(runs):
        return pd.DataFrame()
    out = runs[["name", "seed", "train_acc", "val_acc", "n_val"]].copy()
    tests = [learned(t, v, int(n), rate) for t, v, n in zip(out["train_acc"], out["val_acc"], out["n_val"])]
    return out.assign(p=[p for _, p in tests], learned=[ok for ok, _ in tests]).drop(columns="n_val")


def describe_rules(table: pd.DataFrame, rate: float) -> str:
    """Generated: what the lexical rules and the majority score on the validation pairs."""
    best = table["val_acc"].idxmax()
    return (
        f"On the validation pairs the majority rate is {rate:.3f}; the best lexical rule ({best}, chosen here on "
        f"the validation pairs, so an upper bound) is right on {table.loc[best, 'val_acc']:.1%} of them: "
        + ", ".join(f"{k} {r.val_acc:.1%}" for k, r in table.iterrows())
        + " (training pairs: "
        + ", ".join(f"{k} {r.train_acc:.1%}" for k, r in table.iterrows())
        + ")."
    )


def stored_note(runs: pd.DataFrame, total: int) -> str:
    """The one sentence that says how many of the meaning runs are stored (:func:`stored_sentence`)."""
    from ...runs.stored import stored_sentence

    return stored_sentence(
        len(runs), total, "meaning runs at V25's sizes", uses="the tables and claims of this section", read="read"
    ) + ("" if len(runs) else " They are not run yet at this scale: the claims below say so instead of a verdict.")


def reading_table(runs: pd.DataFrame, pos: pd.DataFrame, total: int) -> pd.DataFrame | None:
    """Every comparison's verdict under every reading (:func:`.readings.verdicts`), None until the runs can test
    them."""
    if _ready(runs, total):
        return None
    v = verdicts(runs, pos, int(runs["epoch"].max()))
    return v.set_index(["comparison", "reading"])[["holds", "measured"]]


def _ready(runs: pd.DataFrame, total: int) -> str:
    """Why the runs cannot test a claim yet ("" when they can): every model variant needs two stored seeds."""
    if not len(runs):
        return f"not run yet at this scale (0 of {total} meaning runs stored)"
    per = runs.groupby("name")["seed"].nunique()
    if len(per) < 4 or per.min() < 2:
        return f"not run yet at this scale ({len(runs)} of {total} meaning runs stored; 2 seeds per model needed)"
    return ""


#: The notebook's section that shows the meaning runs (each claim of this module links to it).
SECTION = "At V25's sizes, on a task that turns on meaning"


def claims(cfg: LanguageConfig, runs: pd.DataFrame, pos: pd.DataFrame, total: int, rate: float) -> list[Claim]:
    """The meaning task's claims: whether the models learn it, V25 §6's comparisons under the paper's reading
    (``paper``), under the released code's (``diagnosis``) and counted over the eight readings (``diagnosis``),
    and what decides the order of the models; untestable while the runs are not stored."""
    why, at = _ready(runs, total), "On the meaning task at V25's sizes"
    out = []
    base = dict(
        claim=f"{at}, trained from scratch with V25's optimiser, every model learns the task",
        paper_ref="V25 §6, App. D",
        paper_value="MRPC and QQP learnable without pretraining",
        kind="diagnosis",
        section=SECTION,
    )
    if why:
        out.append(CLAIM.untestable(scale=cfg.scale, why=why, **base))
    else:
        t = learned_table(runs, rate)
        per = t.groupby("name")["learned"].agg(["sum", "size"])
        measured = "; ".join(f"{n}: {int(r['sum'])} of {int(r['size'])} seeds" for n, r in per.iterrows())
        note = (
            f"check: per run, training accuracy ≥ {LEARNED_TRAIN} and validation accuracy above the majority rate "
            f"{fmt(rate)} by a one-sided binomial test over the validation pairs, p < {ALPHA}"
        )
        out.append(CLAIM(scale=cfg.scale, measured=measured, holds=bool(t["learned"].all()), note=note, **base))
    epoch = int(runs["epoch"].max()) if len(runs) else 0
    for name, (text, paper, ref) in COMPARISONS.items():
        text = text[0].lower() + text[1:]
        for reading, kind, who in ((PAPER, "paper", "the paper's"), (CODE, "diagnosis", "the released code's")):
            row = dict(
                claim=f"{at}, under {who} reading ({reading.label}): {text}",
                paper_ref=ref,
                paper_value=paper,
                section=SECTION,
            )
            if why:
                out.append(CLAIM.untestable(scale=cfg.scale, why=why, kind=kind, **row))
                continue
            holds, measured, check = judge(name, runs, pos, reading, epoch)
            out.append(CLAIM(scale=cfg.scale, measured=measured, holds=holds, note=f"check: {check}", kind=kind, **row))
        row = dict(
            claim=f"{at}, under every reading of the noise: {text}", paper_ref=ref, paper_value=paper, section=SECTION
        )
        if why:
            out.append(CLAIM.untestable(scale=cfg.scale, why=why, kind="diagnosis", **row))
            continue
        v = verdicts(runs, pos, epoch)
        v = v[v["comparison"] == name]
        measured = f"holds under {int(v['holds'].sum())} of {len(v)} readings"
        note = "readings where it holds: " + ("; ".join(v.loc[v["holds"], "reading"]) or "none")
        out.append(
            CLAIM(scale=cfg.scale, measured=measured, holds=bool(v["holds"].all()), note=note, kind="diagnosis", **row)
        )
    out.append(decides(cfg, runs, pos, why, epoch))
    return out


def decides(cfg: LanguageConfig, runs: pd.DataFrame, pos: pd.DataFrame, why: str, epoch: int) -> Claim:
    """The diagnosis: of the three open choices, where the noise enters decides whether the transformers end less
    sensitive than the LSTM (it changes the verdict in more pairs of readings than either other choice)."""
    base = dict(
        claim="On the meaning task at V25's sizes, where the noise enters, more than its variance or what the LSTM "
        "trains, decides whether the transformer ends less sensitive than the LSTM",
        paper_ref="V25 §6",
        paper_value="noise on the LayerNorm-ed embedding (§6); the released code's path differs for RoBERTa",
        kind="diagnosis",
        section=SECTION,
    )
    if why:
        return CLAIM.untestable(scale=cfg.scale, why=why, **base)
    flips = deciding(verdicts(runs, pos, epoch))
    measured = "; ".join(f"{FACTORS[f]}: changes the verdict in {a} of {b} pairs" for f, (a, b) in flips.items())
    holds = flips["path"][0] > max(flips["variance"][0], flips["lstm"][0])
    note = (
        f"check: the verdict of 'less sensitive than the LSTM after training' under each of the {len(READINGS)} "
        "readings; for each choice, the pairs of readings that differ in it alone, and in how many the verdict differs"
    )
    return CLAIM(scale=cfg.scale, measured=measured, holds=holds, note=note, **base)
