"""Chapter 02: the encoder, its LayerNorm normalisation factors N_i^(k) (HR24 Eq. 5) and Blowup (Eq. 11).

One model is trained briefly on a sensitive function so the factors can be read on a live network
before and after training, and checked against ``torch.nn.TransformerEncoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..tasks import boolean
from ..report.claims import Claim, claims_for, fmt
from ..runs.config import ChapterConfig
from ..checks import check_choice, check_multiple, check_int
from ..models.encoder import HR24Encoder, to_torch_encoder
from ..runs.store import Store
from ..runs.chapters import kind
from ..train import TrainConfig, train

CLAIM = claims_for(__name__)

#: Stored results of this chapter (committed under results/; `make results CHAPTER=02` recomputes them).
KIND = kind("anatomy_model", __name__)


@dataclass(frozen=True)
class AnatomyConfig(ChapterConfig):
    """Settings of chapter 02."""

    scale: str  # ci | cpu | paper
    function: str = "parity"  # the function the live model learns
    n: int = 8  # input length
    d: int = 32  # model width
    steps: int = 2000  # training steps
    lr: float = 1e-3  # AdamW learning rate
    batch_size: int = 256  # fresh strings per step
    inputs: int = 512  # strings on which factors and blowup are read
    seed: int = 0  # initialisation and data seed

    def __post_init__(self):
        """Every check of every field, in one place: a bad value raises a ValueError naming it."""
        super().__post_init__()
        check_choice("function", self.function, boolean.FUNCTIONS)
        check_int("n", self.n, 2, 64)
        check_multiple("d", self.d, 4, "two heads, two embedding halves")
        check_int("steps", self.steps, 0)
        check_int("inputs", self.inputs, 1)
        check_int("seed", self.seed, 0)
        self.train_config()  # checks lr and batch_size as training takes them

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: n: input length, an integer in [2, 64].
    #: function: "parity", "majority", "first" or "mean".
    #: steps: training steps, >= 0.
    #: d: model width, a multiple of 4.
    PARAMS = ("n", "function", "steps", "d")

    def train_config(self, steps: int | None = None) -> TrainConfig:
        return TrainConfig(
            self.function,
            n=self.n,
            d=self.d,
            lr=self.lr,
            batch_size=self.batch_size,
            steps=self.steps if steps is None else steps,
            seed=self.seed,
            eval_every=250,
        )


PRESETS = {
    "ci": AnatomyConfig(scale="ci", n=6, d=16, steps=60, inputs=64),
    "cpu": AnatomyConfig(scale="cpu", n=8, d=32, steps=2000),
    "paper": AnatomyConfig(scale="paper", n=8, d=128, steps=10_000, lr=3e-4, batch_size=1024),
}


def live_models(cfg: AnatomyConfig, cache: Store | None = None) -> tuple[dict[str, HR24Encoder], dict]:
    """The model at initialisation and after ``cfg.steps`` steps (trained once, then cached).

    Returns the two models and the training summary (eval MSE, steps, seconds).
    """
    cache = cache or Store()

    def fit():
        r = train(cfg.train_config())
        return {"state": r.model.state_dict(), **r.summary()}

    trained = cache.get_or_compute(KIND, cfg.train_config(), fit)
    torch.manual_seed(cfg.seed)
    init = HR24Encoder(cfg.train_config().encoder).eval()
    final = HR24Encoder(cfg.train_config().encoder)
    final.load_state_dict(trained["state"])
    final.eval()
    return {"initialisation": init, "trained": final}, {k: v for k, v in trained.items() if k != "state"}


def probe_inputs(cfg: AnatomyConfig) -> torch.Tensor:
    g = torch.Generator().manual_seed(12345)
    return boolean.random_strings(cfg.inputs, cfg.n, generator=g)


@torch.no_grad()
def equivalence(model: HR24Encoder, x: torch.Tensor) -> dict[str, float]:
    """Max |difference| to ``nn.TransformerEncoder`` with copied weights, and of the LayerNorm-norm bound."""
    ref = to_torch_encoder(model)
    out_ref = model.head(ref(model.embed(x))[:, -1]).squeeze(-1)
    rec: list[torch.Tensor] = []
    out = model(x, record=rec)
    # ||LayerNorm(y)|| <= sqrt(d) before the affine map (HR24 §2): check on every recorded input.
    d = model.cfg.d
    norms = [
        ((y - y.mean(-1, keepdim=True)) * torch.rsqrt(y.var(-1, unbiased=False, keepdim=True) + model.cfg.eps)).norm(
            dim=-1
        )
        for y in rec
    ]
    return {
        "max_abs_diff_vs_torch": float((out - out_ref).abs().max()),
        "max_normalised_norm_over_sqrt_d": float(max(float(n.max()) for n in norms) / np.sqrt(d)),
    }


@torch.no_grad()
def ln_factor_frame(models: dict[str, HR24Encoder], x: torch.Tensor) -> pd.DataFrame:
    """Tidy N_i^(k): one row per (model, LayerNorm application, position), averaged over inputs."""
    rows = []
    for name, m in models.items():
        eq5 = m.ln_factors(x, "eq5")
        code = m.ln_factors(x, "code")
        for k, (a, b) in enumerate(zip(eq5, code)):
            layer, norm = divmod(k, 2)
            app = f"layer {layer + 1} norm{norm + 1}"
            positions = range(a.shape[1]) if a.shape[1] > 1 else [m.cfg.n - 1]
            for j, pos in enumerate(positions):
                rows.append(
                    {
                        "model": name,
                        "application": app,
                        "position": pos + 1,
                        "N_eq5": float(a[:, j].mean()),
                        "N_code": float(b[:, j].mean()),
                        "N_eq5_max": float(a[:, j].max()),
                    }
                )
    return pd.DataFrame(rows)


@torch.no_grad()
def blowup_frame(models: dict[str, HR24Encoder], x: torch.Tensor) -> pd.DataFrame:
    """Blowup(x) per input under both conventions (§7.1 product of maxima; Eq. 11 with 1 + N)."""
    rows = []
    ones = x.sum(-1)
    for name, m in models.items():
        b = m.blowup(x)
        b1 = m.blowup(x, plus_one=True)
        bc = m.blowup(x, convention="code")
        for i in range(len(x)):
            rows.append(
                {
                    "model": name,
                    "ones": int(ones[i]),
                    "blowup": float(b[i]),
                    "blowup_eq11": float(b1[i]),
                    "blowup_code": float(bc[i]),
                }
            )
    return pd.DataFrame(rows)


def training_table(summary: dict) -> pd.Series:
    """The live model's training run (final eval MSE, steps, seconds) as one column."""
    return pd.Series(summary, name="training run")


def equivalence_checks(models: dict[str, HR24Encoder], x: torch.Tensor) -> dict[str, dict]:
    """:func:`equivalence` of every model, by name."""
    return {name: equivalence(m, x) for name, m in models.items()}


def equivalence_table(checks: dict[str, dict]) -> pd.DataFrame:
    """:func:`equivalence` of each model, one row per model."""
    return pd.DataFrame(checks).T


def blowup_summary(blowups: pd.DataFrame) -> pd.DataFrame:
    """Distribution over inputs of Blowup under the three conventions, per model."""
    return blowups.groupby("model")[["blowup", "blowup_eq11", "blowup_code"]].describe().T.round(3)


def describe(cfg: AnatomyConfig, blowups: pd.DataFrame, summary: dict) -> str:
    """This run's blowup before and after training, in a sentence or two (Markdown)."""
    b = blowups.groupby("model")["blowup"]
    mean, med = b.mean(), b.median()
    init, trained = float(mean.get("initialisation", np.nan)), float(mean.get("trained", np.nan))
    fit = bool(summary.get("converged", summary["eval_mse"] < 1e-3))
    text = (
        f"Here, after {summary.get('steps_run', cfg.steps)} steps on {cfg.function.upper()} at n = {cfg.n}, "
        f"the model's evaluation MSE is {fmt(summary['eval_mse'])} ({'it fits' if fit else 'it does not fit'} "
        f"the function at the 10⁻³ threshold), and its mean Blowup over {cfg.inputs} random inputs "
        f"{'rose' if trained > init else 'fell' if trained < init else 'did not change'}: {fmt(init)} at "
        f"initialisation, {fmt(trained)} trained (medians {fmt(float(med.get('initialisation', np.nan)))} and "
        f"{fmt(float(med.get('trained', np.nan)))})."
    )
    return text


def claims(
    cfg: AnatomyConfig, checks: dict[str, dict], factors: pd.DataFrame, blowups: pd.DataFrame, trained_mse: float
) -> list[Claim]:
    out = []

    def add(claim, ref, paper, measured, holds, note="", *, kind, headline=False, section):
        out.append(
            CLAIM(
                claim, ref, paper, measured, bool(holds), cfg.scale, note, kind=kind, headline=headline, section=section
            )
        )

    diff = max(c["max_abs_diff_vs_torch"] for c in checks.values())
    add(
        "The encoder written out here computes the same function as torch.nn.TransformerEncoder",
        "HR24 §7.1 (PyTorch default encoder)",
        "same function",
        f"max |Δoutput| = {fmt(diff)}",
        diff < 1e-4,
        "weights copied into nn.TransformerEncoder; initialised and trained model",
        kind="check",
        section="The same function as `torch.nn.TransformerEncoder`",
    )
    ratio = max(c["max_normalised_norm_over_sqrt_d"] for c in checks.values())
    add(
        "LayerNorm's normalised output has norm at most √d",
        "HR24 §2",
        "≤ √d",
        f"max ‖(y−mean)·N‖/√d = {fmt(ratio, 6)}",
        ratio <= 1 + 1e-5,
        "equality up to the eps term",
        kind="check",
        section="The same function as `torch.nn.TransformerEncoder`",
    )
    r = factors["N_code"] / factors["N_eq5"]
    expected = np.sqrt((cfg.d - 1) / cfg.d)
    add(
        "The original code's 1/std (unbiased, no eps) is Eq. 5's factor times √((d−1)/d) where eps is negligible",
        "HR24 Eq. 5 vs the released code",
        f"ratio √((d−1)/d) = {fmt(expected, 5)}",
        f"median ratio {fmt(float(r.median()), 5)}",
        abs(float(r.median()) - expected) < 1e-3,
        "the eps term matters only where the variance is tiny",
        kind="check",
        section="The normalisation factors $N_i^{(k)}$",
    )
    b = blowups.groupby("model")["blowup"].mean()
    add(
        "Blowup grows as the model learns a sensitive function",
        "HR24 §7.2, Fig. 12",
        "blowup rises during learning",
        f"mean Blowup {fmt(b.get('initialisation', np.nan))} at init → {fmt(b.get('trained', np.nan))} trained "
        f"(eval MSE {fmt(trained_mse)})",
        b.get("trained", 0) > b.get("initialisation", np.inf) and trained_mse < 1e-2,
        f"{cfg.function.upper()} at n={cfg.n} after {cfg.steps} steps; holds only if the model also fit the function",
        kind="paper",
        section="Blowup per input",
    )
    return out
