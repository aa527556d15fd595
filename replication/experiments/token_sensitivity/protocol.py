"""Chapter 09's training protocol: which initialisation scale and learning rate the chapter trains with, chosen from trial runs by a stated rule (every seed converges, fewest epochs at worst)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from .tables import final_table, summary_table


def init_label(init: float, vocab: int) -> str:
    """An initialisation scale as the config names it: ``"1/sqrt(M)"`` where it is one over the root of ``M``."""
    return "1/sqrt(M)" if np.isclose(init, 1 / np.sqrt(vocab)) else f"{init:g}"


def _protocol_order(init: str, lr: float) -> tuple:
    """Numbers first, smallest first, then ``1/sqrt(M)``; learning rates ascending."""
    return (init == "1/sqrt(M)", float(init) if init != "1/sqrt(M)" else 0.0, lr)


def protocol_table(curves_: pd.DataFrame) -> pd.DataFrame:
    """The protocol sweep on seed 0, one row per (initialisation scale, learning rate): how many settings converged
    (training loss at or below the stop rule's bound), in how many epochs, and the worst final training loss.

    Only training-loss convergence is shown: which tokens the models use is not looked at to choose.
    """
    curves_ = curves_[curves_["seed"] == 0] if "seed" in curves_ else curves_
    last = curves_.sort_values("epoch", kind="stable").groupby(["setting", "init", "lr"], sort=False).tail(1)
    last = last.assign(init_label=[init_label(i, v) for i, v in zip(last["init"], last["vocab"])])
    rows = []
    for (init, lr), g in sorted(last.groupby(["init_label", "lr"], sort=False), key=lambda kv: _protocol_order(*kv[0])):
        conv = g[g["converged"].astype(bool)]
        rows.append(
            {
                "init": init,
                "lr": lr,
                "converged": f"{len(conv)}/{len(g)}",
                "all_converged": len(conv) == len(g),
                "epochs_median": conv["epoch"].median() if len(conv) else np.nan,
                "epochs_max": conv["epoch"].max() if len(conv) else np.nan,
                "worst_train_loss": g["train_loss"].max(),
                "not_converged": ", ".join(g.loc[~g["converged"].astype(bool), "setting"]) or "none",
                "train_seconds": g["train_seconds"].sum(),
            }
        )
    return pd.DataFrame(rows)


def choose_protocol(protocol: pd.DataFrame) -> tuple[str, float] | None:
    """The rule that picks the protocol from :func:`protocol_table` alone: every setting converged, then the
    fewest epochs for the slowest setting, then the fewest in the median; None if no pair converges everywhere."""
    ok = protocol[protocol["all_converged"]]
    if not len(ok):
        return None
    best = ok.sort_values(["epochs_max", "epochs_median"], kind="stable").iloc[0]
    return best["init"], float(best["lr"])


def protocol_outcomes(curves_: pd.DataFrame, judge) -> pd.DataFrame:
    """Per (initialisation scale, learning rate) of the sweep: converged runs, mean OOD accuracy per setting and
    whether each model-side claim holds, judged by ``judge(summary) -> list of Claim`` on that protocol's runs."""
    final = final_table(curves_)
    final = final.assign(init_label=[init_label(i, v) for i, v in zip(final["init"], final["vocab"])])
    rows = []
    for (init, lr), g in sorted(
        final.groupby(["init_label", "lr"], sort=False), key=lambda kv: _protocol_order(*kv[0])
    ):
        summary = summary_table(g.drop(columns="init_label"))
        row = {"init": init, "lr": lr, "converged": f"{int(g['converged'].sum())}/{len(g)}"}
        row |= {f"ood {s}": r.ood_acc for s, r in summary.iterrows()}
        row |= {c.claim: c.holds for c in judge(summary)}
        rows.append(row)
    return pd.DataFrame(rows)


def protocol_text(protocol: pd.DataFrame | None, cfg) -> str:
    """What the choice rule picks from the sweep, against the protocol the config uses (Markdown)."""
    used = (cfg.init if isinstance(cfg.init, str) else f"{cfg.init:g}", float(cfg.lr))
    if protocol is None or not len(protocol):
        return f"This scale has no protocol sweep; its runs use initialisation {used[0]} and learning rate {used[1]:g}."
    pick = choose_protocol(protocol)
    rule = (
        "The rule: among the pairs with every setting converged, the fewest epochs for the slowest setting, "
        "then the fewest in the median."
    )
    if pick is None:
        return f"{rule} No pair converged in every setting; the runs use initialisation {used[0]}, learning rate {used[1]:g}."
    row = protocol[(protocol["init"] == pick[0]) & (protocol["lr"] == pick[1])].iloc[0]
    agree = (pick[0], pick[1]) == used
    return (
        f"{rule} {int(protocol['all_converged'].sum())} of {len(protocol)} pairs converged in every setting; the "
        f"rule picks initialisation {pick[0]} with learning rate {pick[1]:g} (every setting by epoch "
        f"{int(row['epochs_max'])}, median {row['epochs_median']:g}). "
        + (
            "The chapter's runs use this protocol."
            if agree
            else f"**The chapter's runs use initialisation {used[0]} and learning rate {used[1]:g}, not the rule's pick.**"
        )
    )
