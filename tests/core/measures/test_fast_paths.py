"""Every fast path the benchmark (benchmarks/run.py) times gives the numbers of its reference path.

The references are written the way the original code does it (benchmarks/reference.py): the
``nn.TransformerEncoder`` model, copy-and-perturb sharpness, a model's sensitivity from every string and
its neighbours. The sweep runner's worker processes against one process are checked in test_sweep.py.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from replication.tasks import boolean
from replication.models import folded
from replication.measures import sensitivity
from replication.measures import sharpness as sharpness_mod
from replication.models.encoder import EncoderConfig, HR24Encoder

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import reference  # noqa: E402


def encoder(n, d=16, seed=0):
    torch.manual_seed(seed)
    m = HR24Encoder(EncoderConfig(n=n, d=d))
    with torch.no_grad():  # non-trivial LayerNorm and bias values, as after training
        for k, p in m.named_parameters():
            if "norm" in k or "bias" in k:
                p.add_(0.3 * torch.randn_like(p))
    return m.eval()


# ---- sharpness ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 6, 8, 16])
def test_sharpness_fast_path_equals_the_plain_loop(n):
    """Default path (distinct strings once; perturbations batched with vmap where the forward is small)
    against one forward pass per perturbation over every input: the same per-perturbation values."""
    m = encoder(n)
    x = boolean.eval_strings(n, 512)
    y = boolean.parity(x)
    kw = dict(rho=0.05, n_perturbations=6, seed=3)
    fast_mean, fast = sharpness_mod.sharpness(m, x, return_all=True, **kw)
    slow_mean, slow = sharpness_mod.sharpness(m, x, return_all=True, chunk=1, dedup=False, **kw)
    np.testing.assert_allclose(fast, slow, rtol=1e-5)
    assert fast_mean == pytest.approx(slow_mean, rel=1e-6)
    both_fast = sharpness_mod.sharpness_both(m, x, y, **kw)
    both_slow = sharpness_mod.sharpness_both(m, x, y, chunk=1, dedup=False, **kw)
    for k in both_slow:
        assert both_fast[k] == pytest.approx(both_slow[k], rel=1e-5), k


@pytest.mark.parametrize("chunk", [2, 5, 6])
def test_batched_perturbations_equal_one_at_a_time(chunk):
    """vmap over chunks of stacked perturbed parameters (chunks that divide the count and ones that
    do not) draws the same directions as the loop."""
    m = encoder(8)
    x = boolean.eval_strings(8, 300)
    kw = dict(rho=0.02, n_perturbations=6, seed=11)
    _, batched = sharpness_mod.sharpness(m, x, return_all=True, chunk=chunk, **kw)
    _, loop = sharpness_mod.sharpness(m, x, return_all=True, chunk=1, **kw)
    np.testing.assert_allclose(batched, loop, rtol=1e-5)


@pytest.mark.parametrize("n", [4, 10])
def test_sharpness_equals_copy_and_perturb_on_the_original_model(n):
    """The fast path on the book's encoder against the original code's way: deep-copy the
    nn.TransformerEncoder model per perturbation, add the same draws in place, forward every input."""
    m = encoder(n, seed=n)
    x = boolean.eval_strings(n, 400)
    y = boolean.majority(x)
    for rho in (0.02, 0.1):
        kw = dict(rho=rho, n_perturbations=5, seed=7)
        got = sharpness_mod.sharpness_both(m, x, y, **kw)
        want = reference.copy_and_perturb(m, x, y, **kw)
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=2e-5), (k, rho)


def test_long_inputs_take_the_folded_forward_and_equal_copy_and_perturb():
    """At n = 30 (7680 positions, too many to batch) the default path is the folded forward; its
    sharpness and ΔMSE are those of the original code's way with the same draws."""
    m = encoder(30, d=32, seed=1)
    x = boolean.eval_strings(30, 256)
    y = boolean.parity(x)
    assert folded.foldable(m, x) and sharpness_mod.perturbation_chunk(m, x, 4) == 1
    kw = dict(rho=0.05, n_perturbations=4, seed=2)
    got, want = sharpness_mod.sharpness_both(m, x, y, **kw), reference.copy_and_perturb(m, x, y, **kw)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=2e-5), k


def folded_outputs(m, x, params=None, chunk_bytes=2**16):  # several passes
    params = dict(m.named_parameters()) if params is None else params
    with torch.no_grad():
        return folded.folded_forward(params, m.cfg, folded.fold_plans(m.cfg, x, chunk_bytes=chunk_bytes))


@pytest.mark.parametrize(
    "cfg",
    [
        dict(n=30, d=32),
        dict(n=5, d=16),
        dict(n=7, d=24, heads=3, layers=3, d_ff=40),
        dict(n=9, d=16, layers=4, heads=4),
    ],
)
def test_folded_forward_equals_the_module_and_nn_transformer_encoder(cfg):
    """The folded forward (layer 1 from (token, position) tables, the last layer's keys and values never
    projected) against the module and against nn.TransformerEncoder with copied weights, also with every
    parameter perturbed (as sharpness evaluates it) and on strings with repeats."""
    torch.manual_seed(0)
    m = HR24Encoder(EncoderConfig(**cfg)).eval()
    x = torch.cat([boolean.eval_strings(cfg["n"], 300), torch.zeros(2, cfg["n"], dtype=torch.long)])
    with torch.no_grad():
        np.testing.assert_allclose(folded_outputs(m, x), m(x), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(folded_outputs(m, x), reference.OriginalModel(m).eval()(x), rtol=1e-5, atol=1e-6)
        g = torch.Generator().manual_seed(1)
        noisy = {k: p + 0.3 * torch.randn(p.shape, generator=g) for k, p in m.named_parameters()}
        np.testing.assert_allclose(
            folded_outputs(m, x, noisy), torch.func.functional_call(m, noisy, (x,)), rtol=1e-5, atol=1e-6
        )


def test_folded_forward_in_passes_equals_one_pass():
    """Strings evaluated in passes sized to cache (fold_plans) give the outputs of one pass over all."""
    m = encoder(12, d=32, seed=5)
    x = boolean.eval_strings(12, 1000)
    assert len(folded.fold_plans(m.cfg, x, chunk_bytes=2**16)) > 10
    np.testing.assert_allclose(folded_outputs(m, x), folded_outputs(m, x, chunk_bytes=2**40), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("exp_range", [0.0, 60.0, 1e9])
def test_folded_forward_with_more_tokens_and_either_softmax(monkeypatch, exp_range):
    """A three-token alphabet (a value vector per token but the first), widely spread attention scores,
    and both ways to the softmax: scores read then softmax (range 0), exp of the shifted table read."""
    monkeypatch.setattr(folded, "EXP_RANGE", exp_range)
    torch.manual_seed(3)
    m = HR24Encoder(EncoderConfig(n=6, d=16, vocab=3)).eval()
    x = torch.randint(0, 3, (200, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        np.testing.assert_allclose(folded_outputs(m, x), m(x), rtol=1e-5, atol=1e-6)
        m.layers[0].self_attn.in_proj_weight.mul_(4.0)  # scores 16x wider: attention near one-hot
        np.testing.assert_allclose(folded_outputs(m, x), m(x), rtol=1e-5, atol=1e-5)


def test_which_models_and_inputs_are_folded():
    m = encoder(8)
    x = boolean.eval_strings(8, 100)
    assert folded.foldable(m, x)
    assert not folded.foldable(m, x.float())  # float inputs: the module's own forward
    assert not folded.foldable(m, x[:, :6])  # wrong length
    assert not folded.foldable(m, x + 1)  # a token outside the alphabet
    assert not folded.foldable(HR24Encoder(EncoderConfig(n=8, d=16, layers=1)), x)

    class Other(HR24Encoder):  # a subclass may compute something else
        pass

    assert not folded.foldable(Other(m.cfg), x)
    with pytest.raises(ValueError, match="fold"):
        sharpness_mod.sharpness(m, x.float(), fold=True)
    with pytest.raises(ValueError, match="chunk"):
        sharpness_mod.sharpness(m, x, fold=True, chunk=2)
    with pytest.raises(ValueError, match="fold"):
        sharpness_mod.sharpness(m, x, fold=1)


@pytest.mark.parametrize("n", [6, 12])
def test_folded_and_batched_paths_agree(n):
    """fold=True (one folded forward per perturbation) against fold=False (the vmap / loop choice)."""
    m = encoder(n, seed=2)
    x = boolean.eval_strings(n, 300)
    kw = dict(rho=0.03, n_perturbations=5, seed=4)
    _, folded = sharpness_mod.sharpness(m, x, return_all=True, fold=True, **kw)
    _, other = sharpness_mod.sharpness(m, x, return_all=True, fold=False, **kw)
    np.testing.assert_allclose(folded, other, rtol=2e-5)


@pytest.mark.parametrize(
    "shape,high", [((500, 6), 2), ((400, 5), 3), ((300, 70), 2), ((200, 2, 3), 2), ((50, 40), 4000)]
)
def test_distinct_rows_as_torch_unique_gives_them(shape, high):
    """Rows packed into one integer each (or, when they do not fit, torch.unique over rows): the same
    distinct rows, in the same order, and the same inverse."""
    x = torch.randint(0, high, shape, generator=torch.Generator().manual_seed(0))
    x = torch.cat([x, x[:7]])  # at least some repeats
    rows, inverse = sharpness_mod._unique_rows(x)
    want_rows, want_inverse = torch.unique(x, dim=0, return_inverse=True)
    assert torch.equal(rows, want_rows) and torch.equal(inverse, want_inverse)
    assert torch.equal(rows[inverse], x)
    distinct = boolean.eval_strings(20, 100)
    assert sharpness_mod._unique_rows(distinct)[1] is None


def test_float_inputs_are_not_deduplicated_and_batch_the_same():
    lin = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0))
    x = torch.randn(6, 3).repeat(3, 1)  # repeated rows: left as they are for float inputs
    assert sharpness_mod._unique_rows(x)[1] is None
    a = sharpness_mod.sharpness(lin, x, n_perturbations=7, exclude=(), chunk=3, rescale=1.0)
    b = sharpness_mod.sharpness(lin, x, n_perturbations=7, exclude=(), chunk=1, rescale=1.0)
    assert a == pytest.approx(b, rel=1e-6)


def test_chunk_rule_and_validation():
    m = encoder(4, d=32)
    small, large = boolean.all_strings(4).long(), boolean.eval_strings(30, 2048)
    assert sharpness_mod.perturbation_chunk(m, small, 20) == 20  # 64 positions: one batched pass
    assert sharpness_mod.perturbation_chunk(m, large, 20) == 1  # 61 440 positions: one at a time
    with pytest.raises(ValueError, match="chunk"):
        sharpness_mod.sharpness(m, small, chunk=0)


def test_sharpness_leaves_the_model_and_its_mode_alone():
    m = encoder(6).train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    sharpness_mod.sharpness(m, boolean.all_strings(6).long(), n_perturbations=4)  # batched path
    assert m.training
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


# ---- the cube -----------------------------------------------------------------------------------


def test_cube_strings_are_all_strings_in_order():
    full = boolean.all_strings(7).long()
    assert torch.equal(torch.cat([sensitivity.cube_strings(7, i, min(i + 37, 128)) for i in range(0, 128, 37)]), full)


@pytest.mark.parametrize("batch", [None, 1000, 4096])
def test_model_over_the_cube_equals_flipping_each_bit(batch):
    """Exact as_n(T) from one pass over the cube (2^n evaluations) against each string with its n
    neighbours (2^n (n+1) evaluations)."""
    n = 12
    m = encoder(n, seed=5)
    with torch.no_grad():
        table = sensitivity.model_table(m, n, batch=batch)
        np.testing.assert_allclose(
            table.numpy(), m(boolean.all_strings(n).long()).double().numpy(), rtol=1e-6, atol=1e-7
        )
    per_string = reference.flip_sensitivity(m, n)
    np.testing.assert_allclose(
        sensitivity.sensitivity_from_table(table).numpy(), per_string.numpy(), rtol=1e-4, atol=1e-9
    )
    assert sensitivity.model_average_sensitivity(m, n, batch=batch) == pytest.approx(float(per_string.mean()), rel=1e-5)


def test_cube_batch_is_sized_to_memory():
    m = encoder(16, d=32)
    b = sensitivity.cube_batch(16, m)
    assert b & (b - 1) == 0 and 1 <= b <= 2**16
    assert 4 * 16 * (16 * 32 + 2 * 2 * 16) * b <= sensitivity.CUBE_BATCH_BYTES
    assert sensitivity.cube_batch(16, m, budget=1) == 1
    assert sensitivity.cube_batch(3, m) == 8  # never more than the cube
    with pytest.raises(ValueError, match="batch"):
        sensitivity.model_table(m, 16, batch=0)


# ---- training and chapter 05 --------------------------------------------------------------------


@pytest.mark.parametrize("n,d,batch", [(8, 16, 32), (12, 32, 64)])
def test_training_step_equals_the_original_model(n, d, batch):
    """The book's encoder (last layer at the last position only) trains like nn.TransformerEncoder."""
    torch.manual_seed(0)
    ours = HR24Encoder(EncoderConfig(n=n, d=d))
    ref = reference.OriginalModel(ours)
    a = reference.train_steps(ours, ours.parameters(), n, batch, steps=5)
    b = reference.train_steps(ref, ref.trainable(), n, batch, steps=5)
    np.testing.assert_allclose(a, b, rtol=1e-4)


@pytest.mark.slow
def test_chapter05_measurement_equals_the_original_way():
    """measure_run against the same run measured the original code's way: copy-and-perturb sharpness,
    with the book's training (identical training numbers) and with nn.TransformerEncoder's (close)."""
    from replication.runs.encoder import sweep as encoder_sweep
    from replication.runs.encoder.sweep import SweepConfig, measure_run, run_configs

    run = run_configs(SweepConfig.from_params(scale="ci"))[0]
    fast = measure_run(run)
    same_training = reference.reference_measure(run, original_training=False)
    original = reference.reference_measure(run)
    assert encoder_sweep.sharpness_both is sharpness_mod.sharpness_both  # the reference put everything back
    assert encoder_sweep.train.__module__ == "replication.train.hr24"
    for k in ("eval_mse", "param_norm", "blowup", "model_as", "steps_run"):
        assert fast[k] == same_training[k], k
        assert fast[k] == pytest.approx(original[k], rel=1e-4), k
    # ΔMSE is 4 (E MSE(θ+Δ) - MSE(θ)): a difference of two MSEs of a ci model far from a fit (≈ 0.25
    # each), so float32 rounding of either forward pass (1e-7 of 0.25) shows at 1e-7 absolute.
    for ref, rel in ((same_training, 2e-5), (original, 1e-4)):
        for k in ("sharpness", "sharpness_se"):
            assert fast[k] == pytest.approx(ref[k], rel=rel), k
        assert fast["delta_mse_sharpness"] == pytest.approx(ref["delta_mse_sharpness"], rel=rel, abs=1e-6)
