"""Training-step speed of the book's encoder against the original code's path, in the same process.

The reference is what the original code trains: ``nn.TransformerEncoder`` over every position, with the
head on the last one. Ours computes the last layer at the last position only. Both run one torch thread
(small models train fastest that way on a 2-core CPU). Printed: ms per step, the ratio reference/ours
(>1 means ours is faster), and the fraction of the machine's measured single-thread matmul peak each
reaches.

Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_encoder.py [--steps N]``.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from replication import boolean
from replication.models import EncoderConfig, HR24Encoder, to_torch_encoder


def matmul_peak(size: int = 512, reps: int = 20) -> float:
    """Measured float32 GFLOP/s of a square matmul (the hardware reference)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * size**3 * reps / (time.perf_counter() - t) / 1e9


def step_flops(cfg: EncoderConfig, batch: int, last_only: bool) -> float:
    """Approximate forward+backward FLOPs of one step (3x forward matmul FLOPs)."""
    n, d, ff = cfg.n, cfg.d, cfg.ff
    per_layer = lambda t: 2 * t * (3 * d * d + d * d + 2 * d * ff) + 2 * 2 * t * n * d  # noqa: E731
    full = per_layer(n) * cfg.layers
    last = per_layer(n) * (cfg.layers - 1) + per_layer(1) + 2 * n * 2 * d * d if last_only else full
    return 3 * batch * last


class Reference(torch.nn.Module):
    """The original code's model: nn.TransformerEncoder on all positions, head on the last one."""

    def __init__(self, ours: HR24Encoder):
        super().__init__()
        self.ours = ours
        self.enc = to_torch_encoder(ours).train()

    def forward(self, x):
        return self.ours.head(self.enc(self.ours.embed(x))[:, -1]).squeeze(-1)


def time_steps(model, n: int, batch: int, steps: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    g = torch.Generator().manual_seed(0)
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()
        x = boolean.random_strings(batch, n, generator=g)
        loss = F.mse_loss(model(x), boolean.parity(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    peak = matmul_peak()
    print(f"single-thread matmul peak: {peak:.1f} GFLOP/s")
    print(f"{'setting':<28}{'ours ms':>9}{'ref ms':>9}{'ref/ours':>10}{'ours %peak':>12}{'ref %peak':>11}")
    for n, d, batch in [(16, 32, 256), (16, 64, 256), (16, 128, 1024), (30, 32, 256)]:
        cfg = EncoderConfig(n=n, d=d)
        torch.manual_seed(0)
        ours = HR24Encoder(cfg)
        ref = Reference(HR24Encoder(cfg))
        t_ours = time_steps(ours, n, batch, args.steps)
        t_ref = time_steps(ref, n, batch, args.steps)
        p_ours = step_flops(cfg, batch, True) / t_ours / 1e9 / peak
        p_ref = step_flops(cfg, batch, False) / t_ref / 1e9 / peak
        print(f"{f'n={n} d={d} batch={batch}':<28}{1e3 * t_ours:9.2f}{1e3 * t_ref:9.2f}{t_ref / t_ours:10.2f}"
              f"{100 * p_ours:11.1f}%{100 * p_ref:10.1f}%")


if __name__ == "__main__":
    main()
