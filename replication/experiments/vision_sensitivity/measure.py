"""Training one :class:`~.runs.VisionRun` and measuring it: the losses of the three methods, the
token-wise sensitivity on images, ShOp / ShPred, and :func:`measure_vision`, the sweep's measure."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...measures.output_sharpness import predict_in_chunks, shop_shpred
from ...measures.token import patchify, token_sensitivity, unpatchify
from ...models.vision import build_model
from ...tasks import images as vision_data
from ...tasks.corruptions import CORRUPTIONS, corrupt
from ...train import fit
from .runs import VisionRun
from .config import METHODS, NOISE
from .scattered import scattered_sensitivity

#: How stored weights are kept (a run's ``weight_dtype``).
WEIGHT_DTYPES = {"float16": torch.float16, "float32": torch.float32}


def one_patch_noise(
    x: torch.Tensor, patch: int, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x`` (B, C, H, W) with N(0, sigma²) added to one patch per image, chosen uniformly (V25 §7.1's regulariser)."""
    tokens = patchify(x, patch)  # (B, T, D)
    B, T, D = tokens.shape
    which = torch.randint(T, (B,), generator=generator)
    noise = torch.zeros_like(tokens)
    noise[torch.arange(B), which] = sigma * torch.randn(B, D, generator=generator, dtype=x.dtype)
    return unpatchify(tokens + noise, patch, tuple(x.shape[1:]))


def training_loss(model, x, y, run: VisionRun, generator: torch.Generator | None = None) -> torch.Tensor:
    """The loss of one batch for ``run.method``.

    - ``plain``: cross-entropy.
    - ``reg`` (V25 §7.1): ``CE(f(x), y) + λ · MSE(f(x), f(x ⊕ noisy patch))``, gradients through both.
    - ``aug``: cross-entropy on the clean batch and on a copy with whole-image noise N(0, aug_sigma²).
    """
    if run.method == "plain":
        return F.cross_entropy(model(x), y)
    if run.method == "reg":
        both = model(torch.cat([x, one_patch_noise(x, run.patch, run.reg_sigma, generator)]))
        clean, noisy = both[: len(x)], both[len(x) :]
        return F.cross_entropy(clean, y) + run.reg_lambda * F.mse_loss(noisy, clean)
    if run.method == "aug":
        noisy = x + run.aug_sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return F.cross_entropy(model(torch.cat([x, noisy])), torch.cat([y, y]))
    raise ValueError(f"method: must be one of {list(METHODS)}, got {run.method!r}")


def image_sensitivity(model, x: torch.Tensor, patch: int, sigma: float, repeats: int, generator=None):
    """V25 Def. 4.1 on images ``x`` (N, C, H, W): tokens are the patches; the model reads them back as an image."""
    shape = tuple(x.shape[1:])
    return token_sensitivity(
        lambda t: model(unpatchify(t, patch, shape)).argmax(-1),
        patchify(x, patch),
        sigma,
        repeats=repeats,
        generator=generator,
        chunk=2000,
    )


def measure_levels(model, x: torch.Tensor, patch: int, levels, repeats: int) -> list[dict]:
    """The sensitivity of ``model`` on images ``x`` at each (noise standard deviation, perturbation) of ``levels``
    (:func:`.readings.measurements`): ``token``, one patch at a time (:func:`image_sensitivity`); ``scattered``,
    ``patch²`` scattered pixels (:func:`.scattered.scattered_sensitivity`); each with its own fixed noise seed."""
    out = []
    for sigma, perturb in levels:
        gen = torch.Generator().manual_seed(5)
        if perturb == "token":
            s = image_sensitivity(model, x, patch, sigma, repeats, gen)
            sens, n = s.fraction, s.n_evaluations
        elif perturb == "scattered":
            s = scattered_sensitivity(model, x, patch * patch, sigma, repeats, gen)
            sens, n = s.fraction, s.n_evaluations
        else:
            raise ValueError(f"levels: perturbation must be 'token' or 'scattered', got {perturb!r}")
        out.append({"sigma": float(sigma), "perturb": perturb, "sensitivity": sens, "evaluations": n})
    return out


def epoch_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, order: torch.Generator):
    """Endless mini-batches of ``(x, y)``: each epoch a fresh permutation drawn from ``order``, cut into
    ``batch_size`` pieces (the last one shorter)."""
    while True:
        perm = torch.randperm(len(y), generator=order)
        for i in range(0, len(y), batch_size):
            idx = perm[i : i + batch_size]
            yield x[idx], y[idx]


def load_run_data(run: VisionRun) -> vision_data.ImageData:
    return vision_data.load(run.dataset, run.data_dir or None).subset(run.n_train, run.n_test)


def measure_vision(run: VisionRun, device: str = "cpu") -> dict:
    """Train ``run`` to its target training accuracy, then measure sensitivity, corruption accuracy and sharpness."""
    data = load_run_data(run)
    xtr, ytr = data.standardise(data.x_train), data.y_train
    xte, yte = data.standardise(data.x_test), data.y_test
    torch.manual_seed(run.seed)
    model = build_model(run.arch, data.shape, run.patch, data.classes, dropout=run.dropout)
    opt = torch.optim.SGD(model.parameters(), lr=run.lr)
    order = torch.Generator().manual_seed(run.seed)
    noise = torch.Generator().manual_seed(10_007 + run.seed)
    per_epoch = math.ceil(len(ytr) / run.batch_size)
    curve_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(1))[: run.curve_sens]
    ev_tr, ev_te = slice(0, run.n_eval), slice(0, run.n_eval)  # the subsets are already in a shuffled order
    kept: dict[float, tuple[int, dict]] = {}  # level -> (epoch, weights) of the first epoch at or above it

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        out_tr, out_te = predict_in_chunks(m, xtr[ev_tr]), predict_in_chunks(m, xte[ev_te])
        sens = image_sensitivity(m, xtr[curve_idx], run.patch, run.sigma, 1, noise)
        acc = float((out_tr.argmax(-1) == ytr[ev_tr]).float().mean())
        for level in run.levels:
            if acc >= level and level not in kept:
                kept[level] = (step // per_epoch, copy.deepcopy(m.state_dict()))
        return {
            "epoch": step // per_epoch,
            "train_acc": acc,
            "test_acc": float((out_te.argmax(-1) == yte[ev_te]).float().mean()),
            "train_loss": float(F.cross_entropy(out_tr, ytr[ev_tr])),
            "sensitivity": sens.fraction,
        }

    def stop(row) -> str | None:
        return "reached target_acc" if row["train_acc"] >= run.target_acc and not run.fixed_budget else None

    res = fit(
        model,
        epoch_batches(xtr, ytr, run.batch_size, order),
        lambda m, b: training_loss(m, b[0], b[1], run, noise),
        opt,
        run.epochs * per_epoch,
        eval_every=per_epoch,
        evaluate=evaluate,
        stop=stop,
        progress=False,
    )
    model.eval()
    final = res.history[-1]
    full_train = float((predict_in_chunks(model, xtr).argmax(-1) == ytr).float().mean())
    full_test = float((predict_in_chunks(model, xte).argmax(-1) == yte).float().mean())
    sens_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(2))[: run.n_sens]
    sens = image_sensitivity(model, xtr[sens_idx], run.patch, run.sigma, run.repeats, noise)
    corr_gen = torch.Generator().manual_seed(3)
    raw_te, y_c = data.x_test[: run.n_corrupt], yte[: run.n_corrupt]
    clean_subset = float((predict_in_chunks(model, xte[: run.n_corrupt]).argmax(-1) == y_c).float().mean())
    corruption = []
    for name in CORRUPTIONS:
        for sev in run.severities:
            out = predict_in_chunks(model, data.standardise(corrupt(raw_te, name, sev, corr_gen)))
            corruption.append(
                {"corruption": name, "severity": sev, "accuracy": float((out.argmax(-1) == y_c).float().mean())}
            )
    sharp = shop_shpred(model, xtr[: run.n_sharp], run.sharp_sigma, run.sharp_repeats, torch.Generator().manual_seed(4))
    acc = pd.DataFrame(corruption)
    extra = fixed_budget_measures(run, model, kept, int(final["epoch"]), xtr, ytr, sens_idx) if run.fixed_budget else {}
    return {
        **extra,
        "history": [{k: (int(v) if k in ("step", "epoch") else float(v)) for k, v in r.items()} for r in res.history],
        "train_acc": full_train,
        "test_acc": full_test,
        "train_acc_eval": float(final["train_acc"]),
        "epochs_run": int(final["epoch"]),
        "reached_target": bool(final["train_acc"] >= run.target_acc),
        "sensitivity": sens.fraction,
        "sens_per_token": sens.per_token.tolist(),
        "sens_evaluations": sens.n_evaluations,
        "corruption": corruption,
        "clean_subset_acc": clean_subset,
        "corrupt_acc": float(acc["accuracy"].mean()),
        "noise_acc": float(acc.loc[acc["corruption"].isin(NOISE), "accuracy"].mean()),
        "shop": sharp["shop"],
        "shpred": sharp["shpred"],
        "shop_draws": sharp["shop_draws"],
        "shpred_draws": sharp["shpred_draws"],
        "failed": res.failed,
        "train_seconds": res.seconds,
    }


def fixed_budget_measures(run: VisionRun, model, kept: dict, epoch: int, xtr, ytr, sens_idx) -> dict:
    """What a fixed-budget run adds: each level checkpoint's accuracy and full sensitivity (the matched-accuracy
    comparison), the final weights (``run.weight_dtype``; the level checkpoints' are not kept, so that the stored
    runs stay small enough for the repository to travel to a device), and ShOp / ShPred at every
    ``run.sharp_sigmas`` (eval mode; with dropout also in train mode, as V25's released code measures them)."""
    states = [(f"acc{i}", lv, *kept[lv]) for i, lv in enumerate(run.levels) if lv in kept]
    states.append(("final", None, epoch, copy.deepcopy(model.state_dict())))
    rows, weights = [], {}
    for name, level, ep, state in states:
        m = copy.deepcopy(model)
        m.load_state_dict(state)
        m.eval()
        sens = image_sensitivity(m, xtr[sens_idx], run.patch, run.sigma, run.repeats, torch.Generator().manual_seed(3))
        with torch.no_grad():
            train_acc = float((predict_in_chunks(m, xtr).argmax(-1) == ytr).float().mean())
        rows.append(
            {
                "name": name,
                "level": level,
                "epoch": ep,
                "train_acc": train_acc,
                "sensitivity": sens.fraction,
                "evaluations": sens.n_evaluations,
            }
        )
        if run.weight_dtype and name == "final":  # the level checkpoints are measured here; their weights are not
            weights[name] = {k: v.to(WEIGHT_DTYPES[run.weight_dtype]).contiguous() for k, v in state.items()}
    sweep = []
    for sigma in run.sharp_sigmas:
        for mode in ("eval", "train") if run.dropout else ("eval",):
            gen = torch.Generator().manual_seed(5)
            torch.manual_seed(6)  # dropout's masks in train mode
            r = shop_shpred(model, xtr[: run.n_sharp], sigma, run.sharp_repeats, gen, train_mode=mode == "train")
            sweep.append(
                {
                    "sigma": sigma,
                    "mode": mode,
                    "shop": r["shop"],
                    "shpred": r["shpred"],
                    "shop_sd": float(np.std(r["shop_draws"], ddof=1)) if len(r["shop_draws"]) > 1 else 0.0,
                    "shpred_sd": float(np.std(r["shpred_draws"], ddof=1)) if len(r["shpred_draws"]) > 1 else 0.0,
                }
            )
    model.eval()
    maps = []
    if run.map_levels:  # the readings map, at the end and at the highest level's checkpoint
        idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(2))[: run.map_images]  # as sens_idx
        for name, _, ep, state in [states[-1]] + ([states[-2]] if len(states) > 1 else []):
            m = copy.deepcopy(model)
            m.load_state_dict(state)
            m.eval()
            for row in measure_levels(m, xtr[idx], run.patch, run.map_levels, run.repeats):
                maps.append({"checkpoint": name, "epoch": ep, **row})
    levels = [
        {
            "ratio": k,
            "sigma": k * run.sigma,
            "sensitivity": rows[-1]["sensitivity"]
            if k == 1
            else image_sensitivity(
                model, xtr[sens_idx], run.patch, k * run.sigma, run.repeats, torch.Generator().manual_seed(3)
            ).fraction,
        }
        for k in run.noise_levels
    ]
    return {
        "checkpoints": rows,
        "sharp_sweep": sweep,
        "level_sweep": levels,
        **({"weights": weights} if weights else {}),
        **({"map": maps} if maps else {}),
    }
