"""The calibration behind chapter 05's `cpu` preset: the PARITY protocols tried on a 2-core machine, and
which one the preset follows, in tables and words built from the stored runs.

The runs themselves are trained and stored like any sweep run
(:func:`.sweep.run_calibration`); this module defines them and reads them.
"""

from __future__ import annotations

import pandas as pd

from .config import EncoderRun, SweepConfig


#: The protocols tried on this machine before the `cpu` preset was chosen (chapter 05's calibration table):
#: each overrides the width-32 run settings below; all end at HR24's learning rate 3e-4 and weight decay 0.1.
CALIBRATION_TRIALS = {
    "A": dict(batch_size=128, steps=3000, give_up_step=2000),  # the earlier cpu preset
    "B": dict(batch_size=256, steps=8000),  # one phase at 3e-4, a longer budget
    "C": dict(batch_size=256, lr_first=1e-3, first_max_steps=6000, steps=4000),  # 1e-3 to the exit, 4000 at 3e-4
    "D": dict(batch_size=512, steps=8000),  # B with twice the batch (less gradient noise near the threshold)
    "E": dict(batch_size=256, steps=12000),  # B with half as many steps again
}
#: PARITY lengths and seeds of the calibration (where the earlier preset stopped converging).
CALIBRATION_NS = (12, 14, 16)
CALIBRATION_SEEDS = (0,)


def calibration_configs(
    trials: dict = CALIBRATION_TRIALS, ns=CALIBRATION_NS, seeds=CALIBRATION_SEEDS, function: str = "parity"
) -> list[EncoderRun]:
    """PARITY runs of every calibration trial at width 32 (the `cpu` measurement settings)."""
    base = dict(
        d=32,
        d_ff=None,
        layers=2,
        heads=2,
        lr=3e-4,
        weight_decay=0.1,
        give_up_step=None,
        rho=0.02,
        n_perturbations=20,
        n_inputs=2048,
        n_thm4=512,
        n_sens=128,
    )
    return [
        EncoderRun(function=function, n=n, seed=s, **{**base, **t}) for t in trials.values() for n in ns for s in seeds
    ]


def describe_protocol(run: EncoderRun) -> str:
    """A run's training protocol in words (batch, learning rates, steps)."""
    if run.lr_first is None:
        cut = f", cut at {run.give_up_step} if at chance" if run.give_up_step else ""
        return f"batch {run.batch_size}, lr {run.lr:g} for {run.steps} steps{cut}"
    return (
        f"batch {run.batch_size}, lr {run.lr_first:g} until the plateau exit (at most {run.first_max_steps}), "
        f"then {run.steps} steps at {run.lr:g}"
    )


def chosen_trial(cfg: SweepConfig) -> str | None:
    """The calibration trial whose protocol ``cfg``'s main sweep uses (None if none does, e.g. at `paper`)."""
    fields = ("d", "lr", "batch_size", "steps", "give_up_step", "lr_first", "first_max_steps")
    for name in CALIBRATION_TRIALS:
        run = _trial_run(name)
        if all(getattr(cfg, k) == getattr(run, k) for k in fields):
            return name
    return None


def _trial_run(name: str) -> EncoderRun:
    """The first run of calibration trial ``name``: its protocol."""
    return calibration_configs({name: CALIBRATION_TRIALS[name]})[0]


def _strings_per_run(df: pd.DataFrame) -> pd.Series:
    """Training strings a run saw (batch × steps actually run), mean per calibration trial."""
    return (df["batch_size"] * df["steps_run"]).groupby(df["trial"]).mean()


def describe_choice(cfg: SweepConfig, df: pd.DataFrame) -> str:
    """Which trial the preset follows and how it compares with the others that went as far, from ``df``."""
    name = chosen_trial(cfg)
    if cfg.scale != "cpu":
        return f"The calibration exists only at the `cpu` scale; this page runs at `{cfg.scale}`."
    if name is None or not len(df) or name not in set(df["trial"]):
        return "This page's main sweep follows none of the stored calibration trials (its parameters were changed)."
    ok = df[df["kept"].astype(bool)]
    reach = ok.groupby("trial")["n"].max()
    cost = _strings_per_run(df)
    text = (
        f"The `{cfg.scale}` preset follows trial {name} ({describe_protocol(_trial_run(name))}): "
        f"{cost[name] / 1e6:.2f} million training strings per run"
    )
    if name in reach.index:
        text += f", and PARITY converged up to n = {int(reach[name])} in the calibration"
        same = [t for t in reach.index if t != name and reach[t] >= reach[name]]
        if same:
            text += "; " + ", ".join(f"trial {t} got as far with {cost[t] / 1e6:.2f} million" for t in same)
    else:
        text += ", and PARITY converged at none of the calibration's lengths with it"
    return text + "."


def calibration_table(df: pd.DataFrame, scale: str = "cpu") -> pd.DataFrame:
    """One row per trial: its protocol, PARITY's converged lengths, eval MSE and sharpness per length, cost.

    Trials of :data:`CALIBRATION_TRIALS` with no stored run yet are listed as not run (at a ``scale`` other
    than `cpu`, which has no calibration, every trial is).
    """
    rows = []
    base = calibration_configs()
    per = len(CALIBRATION_NS) * len(CALIBRATION_SEEDS)
    missing = "not run yet" if scale == "cpu" else "`cpu` scale only"
    for i, trial in enumerate(CALIBRATION_TRIALS):
        if not len(df) or trial not in set(df["trial"]):
            rows.append({"trial": trial, "protocol": describe_protocol(base[i * per]), "converged at n": missing})
    for trial, g in df.groupby("trial", sort=True):
        row = {"trial": trial, "protocol": g["protocol"].iloc[0]}
        row["converged at n"] = ", ".join(str(n) for n in sorted(g.loc[g["kept"], "n"].unique())) or "none"
        for n in CALIBRATION_NS:
            if n not in set(g["n"]):
                row[f"MSE n={n}"] = "not run yet"
        for _, r in g.sort_values("n").iterrows():
            row[f"MSE n={r['n']}"] = f"{r['eval_mse']:.1e}"
            row[f"sharpness n={r['n']}"] = round(r["sharpness"], 2) if r["kept"] else None
        row["million strings per run"] = round(_strings_per_run(g)[trial] / 1e6, 2)
        row["minutes per run"] = round((g["train_seconds"] + g["measure_seconds"].fillna(0)).mean() / 60, 1)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("trial", kind="stable").reset_index(drop=True)


def describe_calibration(df: pd.DataFrame) -> str:
    """The calibration in words, from ``df``: how far each trial got, and what a first phase did to sharpness."""
    if not len(df):
        return "No calibration run is stored at this scale."
    lines = []
    for trial, g in df.groupby("trial", sort=True):
        ok = g[g["kept"].astype(bool)].sort_values("n")
        got = ", ".join(f"n = {n} (sharpness {sh:.2f})" for n, sh in zip(ok["n"], ok["sharpness"]))
        missing = sorted(set(CALIBRATION_NS) - set(g["n"]))
        todo = f" (n = {', '.join(map(str, missing))} not run yet)" if missing else ""
        lines.append(
            (f"Trial {trial} converged at {got}" if got else f"Trial {trial} converged at no length tried") + todo + "."
        )
    ok = df[df["kept"].astype(bool)]
    switch = ok[ok["protocol"].str.contains("plateau exit")]
    const = ok[~ok["protocol"].str.contains("plateau exit")]
    both = sorted(set(switch["n"]) & set(const["n"]))
    if both:
        ratio = [
            const[const["n"] == n]["sharpness"].mean() / switch[switch["n"] == n]["sharpness"].mean() for n in both
        ]
        lines.append(
            f"Where a trial with a first phase at a higher learning rate and a constant-rate trial both converged "
            f"(n = {', '.join(map(str, both))}), the first phase left PARITY in minima {min(ratio):.1f}–{max(ratio):.1f} "
            "times flatter: it changes the very quantity the chapter measures."
        )
    return " ".join(lines)
