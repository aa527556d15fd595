"""Chapter 09: which account the trained models follow where V25's sensitivity account and the margin account
disagree (:mod:`.accounts`), for V25's Eq. 3, the Eq. 3 whose attention must select, and a logistic regression on
token counts (:mod:`.variants`); the runs are :func:`.measure.probe_curves`.

A run *relies* on the sparse tokens when its OOD accuracy is at most :data:`BAND` (swapping the sparse tokens turns
its answers), on the frequent tokens when it is at least ``1 - BAND``, and on neither in between.
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import binomtest

from ...report.claims import ALPHA, Claim, claims_for, fmt
from .accounts import probe_accounts
from .variants import MODEL_NAMES

CLAIM = claims_for(__name__)

#: OOD accuracy at most this: the run relies on the sparse tokens; at least 1 - this: on the frequent tokens.
BAND = 0.25
#: Each model as the subject of its diagnosis claim.
SUBJECTS = {
    "eq3": "the trained Eq. 3 model",
    "fixed_readout": "Eq. 3 with its read-out frozen (its attention must select)",
    "counts": "a logistic regression on token counts (no attention)",
}


def relies(ood_acc: float) -> str:
    """The token set a run relies on, read off its OOD accuracy (:data:`BAND`)."""
    return "sparse" if ood_acc <= BAND else ("frequent" if ood_acc >= 1 - BAND else "neither")


def probe_runs_table(curves: pd.DataFrame, T: int) -> pd.DataFrame:
    """One row per probe run (setting, model, seed): its last evaluation, the set it relies on, both accounts'
    predictions, V25's attention mass on each set and the chapter's per-position enrichment (mass over uniform's)."""
    last = curves.sort_values("epoch", kind="stable").groupby(["setting", "model", "seed"], sort=False).tail(1)
    settings = sorted({(r.n_s, r.n_f, r.n_d, r.m, r.vocab) for r in last.itertuples()})
    acc = probe_accounts(settings, T)
    out = last.assign(
        relies=[relies(v) for v in last["ood_acc"]],
        sensitivity_account=last["setting"].map(acc["sensitivity"]),
        margin_account=last["setting"].map(acc["margin"]),
        category=last["setting"].map(acc["category"]),
        direction=last["setting"].map(acc["direction"]),
        enrich_sparse=last["attn_sparse"] / (last["n_s"] / last["T"]),
        enrich_frequent=last["attn_frequent"] / (last["n_f"] / last["T"]),
        entropy_drop=last["initial_attn_entropy"] - last["attn_entropy"],
    )
    order = list(dict.fromkeys(curves["setting"]))
    return out.sort_values(["setting", "model", "seed"], key=lambda c: c.map(order.index) if c.name == "setting" else c)


def probe_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, model): both accounts, how many runs rely on each set, the mean OOD accuracy, V25's attention
    mass on each set (summed softmax scores), the enrichment per position and the fall of the attention's entropy."""
    rows = []
    for (setting, model), g in table.groupby(["setting", "model"], sort=False):
        r = g.iloc[0]
        rows.append(
            {
                "setting": setting,
                "model": model,
                "M": int(r.vocab),
                "category": r.category,
                "sensitivity says": r.sensitivity_account,
                "margin says": r.margin_account,
                "runs": len(g),
                "converged": int(g["converged"].astype(bool).sum()),
                "sparse": int((g["relies"] == "sparse").sum()),
                "frequent": int((g["relies"] == "frequent").sum()),
                "neither": int((g["relies"] == "neither").sum()),
                "ood_acc": g["ood_acc"].mean(),
                "mass_sparse": g["attn_sparse"].mean(),
                "mass_frequent": g["attn_frequent"].mean(),
                "enrich_sparse": g["enrich_sparse"].mean(),
                "enrich_frequent": g["enrich_frequent"].mean(),
                "entropy_drop": g["entropy_drop"].mean(),
            }
        )
    return pd.DataFrame(rows).set_index(["setting", "model"])


def _share(k: int, n: int) -> tuple[float, float, float]:
    """``k / n`` and its exact (Clopper-Pearson) interval at level ``1 - ALPHA``."""
    if not n:
        return float("nan"), float("nan"), float("nan")
    ci = binomtest(k, n).proportion_ci(confidence_level=1 - ALPHA, method="exact")
    return k / n, float(ci.low), float(ci.high)


def follow_test(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """Over the converged runs of ``model`` in the settings where the accounts disagree: per direction of the
    disagreement and over both, the runs each account predicts (the set the run relies on is the one it names),
    the runs that rely on the sparse tokens, and the exact interval of each share."""
    g = table[(table["model"] == model) & (table["category"] == "disagree") & table["converged"].astype(bool)]
    rows = []
    for name, d in [*g.groupby("direction", sort=True), ("both directions", g)]:
        n = len(d)
        row = {"direction": name, "settings": d["setting"].nunique(), "runs": n}
        for who, col in (("margin", "margin_account"), ("sensitivity", "sensitivity_account")):
            k = int((d["relies"] == d[col]).sum())
            row |= dict(zip((f"{who}_k", f"{who}_share", f"{who}_lo", f"{who}_hi"), (k, *_share(k, n))))
        row["sparse_k"] = int((d["relies"] == "sparse").sum())
        rows.append(row)
    return pd.DataFrame(rows).set_index("direction")


def _ci(r, who: str) -> str:
    return f"{int(r[f'{who}_k'])}/{int(r.runs)} [{fmt(r[f'{who}_lo'])}, {fmt(r[f'{who}_hi'])}]"


def follows_margin(cfg, table: pd.DataFrame, model: str) -> Claim:
    """Diagnosis: where the accounts disagree, ``model`` relies on the set the margin account names, not V25's.

    Holds when, in each direction of the disagreement that the runs cover, the exact interval of the share of runs
    the margin account predicts lies above 1/2 (so that no mix of directions can decide it)."""
    test = follow_test(table, model)
    each = test.drop(index="both directions")
    both = test.loc["both directions"]
    ok = bool(len(each) and (each["margin_lo"] > 0.5).all())
    who = SUBJECTS[model]
    measured = (
        f"over {int(both.settings)} settings, {int(both.runs)} converged runs: the margin account predicts "
        f"{_ci(both, 'margin')}, V25's sensitivity account {_ci(both, 'sensitivity')}"
        + "".join(f"; {d}: margin {_ci(r, 'margin')}" for d, r in each.iterrows())
    )
    wrong = [
        f"{d}, where the margin account's interval is {_ci(r, 'margin')} and V25's {_ci(r, 'sensitivity')}"
        for d, r in each.iterrows()
        if not r.margin_lo > 0.5
    ]
    sparse = int(both.sparse_k) == int(both.runs) and both.runs > 0
    fails = "" if ok else ("; fails in " + "; ".join(wrong) if wrong else "; fails: no disagreeing runs")
    note = (
        f"check: a run relies on the sparse tokens at OOD accuracy ≤ {BAND}, on the frequent at ≥ {1 - BAND}; in "
        f"each direction of the disagreement the exact {1 - ALPHA:.0%} interval of the share of runs the margin "
        f"account predicts lies above 1/2 (seeds of one setting are counted as independent runs)"
        + fails
        + (f"; all {int(both.runs)} runs rely on the sparse tokens, whichever account names them" if sparse else "")
    )
    return CLAIM(
        section="Where the accounts disagree",
        scale=cfg.scale,
        claim=f"Where V25's sensitivity account and the max-margin account on token counts disagree, {who} "
        f"relies on the token set the margin account names",
        paper_ref="V25 §4.1 (the sensitivity account); the chapter's accounts section",
        paper_value="V25: the less sensitive set",
        measured=measured,
        holds=ok,
        note=note,
        kind="diagnosis",
    )


def diagnosis_claims(cfg, table: pd.DataFrame) -> list[Claim]:
    """:func:`follows_margin` for each model the probe runs hold, in the order of the config's models."""
    return [follows_margin(cfg, table, m) for m in cfg.probe_models if (table["model"] == m).any()]


def pointer(table: pd.DataFrame) -> str:
    """What the failing V25 claims' notes add: how often V25's account predicts what Eq. 3 relies on where the two
    accounts disagree, per direction, against the margin account, and how many of those runs follow the sparse token."""
    if not (table["model"] == "eq3").any():
        return ""
    test = follow_test(table, "eq3")
    both = test.loc["both directions"]
    if not both.runs:
        return ""
    each = "; ".join(
        f"{d}: {int(r.sensitivity_k)}/{int(r.runs)}" for d, r in test.drop(index="both directions").iterrows()
    )
    return (
        f"; where V25's sensitivity account and the max-margin account on token counts disagree (the accounts "
        f"section), V25's account predicts the set Eq. 3 relies on in {_ci(both, 'sensitivity')} runs ({each}) "
        f"and the margin account in {_ci(both, 'margin')}; {int(both.sparse_k)}/{int(both.runs)} rely on the "
        f"sparse tokens"
    )


def describe(table: pd.DataFrame) -> str:
    """Sentences (Markdown), one per model: which account its converged runs follow where the two disagree, how many
    rely on the sparse tokens, and its mean OOD accuracy where the margins tie."""
    lines = []
    for model in [m for m in MODEL_NAMES if (table["model"] == m).any()]:
        t = follow_test(table, model)
        both = t.loc["both directions"]
        tie = table[(table["model"] == model) & (table["margin_account"] == "tie")]
        parts = [
            f"- **{MODEL_NAMES[model]}**: where the accounts disagree ({int(both.settings)} settings, "
            f"{int(both.runs)} converged runs), the margin account predicts {_ci(both, 'margin')} and V25's "
            f"{_ci(both, 'sensitivity')}; {int(both.sparse_k)} rely on the sparse tokens"
        ]
        parts += [f"{d}: margin {_ci(r, 'margin')}" for d, r in t.drop(index="both directions").iterrows()]
        if len(tie):
            parts.append(
                f"where the margins tie ({', '.join(dict.fromkeys(tie['setting']))}), mean OOD accuracy "
                f"{fmt(tie['ood_acc'].mean())}"
            )
        lines.append("; ".join(parts) + ".")
    return "\n".join(lines)
