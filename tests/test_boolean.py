"""Exact sensitivities and Fourier identities (HR24 §3, Eq. 17)."""
import itertools
import math

import numpy as np
import pytest
import torch

from replication import boolean


@pytest.mark.parametrize("name", ["parity", "majority", "first", "mean"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 9, 12])
def test_average_sensitivity_matches_closed_form(name, n):
    assert boolean.average_sensitivity(name, n) == pytest.approx(boolean.closed_form_sensitivity(name, n), abs=1e-12)


def test_majority_hand_values():
    # n=3: each bit is pivotal when the other two disagree (prob 1/2): as = 3/2.
    assert boolean.average_sensitivity("majority", 3) == pytest.approx(1.5)
    # n=4, ties -> 0: f=1 iff >=3 ones. Bit pivotal iff other 3 bits hold exactly 2 ones (3/8): as = 4*3/8.
    assert boolean.average_sensitivity("majority", 4) == pytest.approx(1.5)
    assert boolean.closed_form_sensitivity("majority", 2) == pytest.approx(1.0)


def test_majority_ties_go_to_zero():
    x = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]])
    assert boolean.majority(x).tolist() == [0.0, 1.0, 0.0]


def test_all_strings_order():
    x = boolean.all_strings(3)
    assert x.tolist()[5] == [1, 0, 1]
    assert len({tuple(r) for r in x.tolist()}) == 8


def brute_fourier(table, n):
    """λ_P = E_x[g(x) χ_P(x)] by direct summation, g = 2f-1, bit 1 -> +1."""
    x = boolean.all_strings(n).double() * 2 - 1
    g = 2 * table - 1
    out = {}
    for size in range(n + 1):
        for P in itertools.combinations(range(n), size):
            chi = x[:, list(P)].prod(-1) if P else torch.ones(2**n, dtype=torch.float64)
            out[P] = float((g * chi).mean())
    return out


@pytest.mark.parametrize("name", ["parity", "majority", "first", "mean"])
def test_walsh_hadamard_matches_brute_force(name):
    n = 5
    table = boolean.truth_table(name, n)
    lam = boolean.walsh_hadamard(table)
    brute = brute_fourier(table, n)
    for P, v in brute.items():
        m = sum(1 << (n - 1 - i) for i in P)
        assert lam[m].item() == pytest.approx(v, abs=1e-12)


def test_parity_spectrum_is_top_degree():
    prof = boolean.degree_profile("parity", 6)
    assert prof[-1] == pytest.approx(1.0) and prof[:-1].sum() == pytest.approx(0.0)
    prof = boolean.degree_profile("first", 6)
    assert prof[1] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_eq17_on_random_real_functions(seed):
    n = 7
    g = torch.Generator().manual_seed(seed)
    table = torch.rand(2**n, generator=g, dtype=torch.float64) * 3 - 1  # arbitrary real values
    lhs = boolean.average_sensitivity(table)
    rhs = boolean.sensitivity_from_spectrum(table)
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_parseval():
    table = boolean.truth_table(boolean.random_function(8, seed=3), 8)
    assert boolean.degree_profile(table).sum() == pytest.approx(1.0)  # ±1-valued: sum λ² = 1


def test_random_function_sensitivity_near_half_n():
    n = 12
    vals = [boolean.average_sensitivity(boolean.random_function(n, seed=s), n) for s in range(5)]
    assert np.mean(vals) == pytest.approx(n / 2, rel=0.05)


def test_sparse_parity():
    fn = boolean.sparse_parity((0, 2))
    assert boolean.average_sensitivity(fn, 6) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="support"):
        boolean.sparse_parity(())


@pytest.mark.parametrize("bad", [0, 23, 2.5, "abc", True])
def test_bad_n_is_rejected(bad):
    with pytest.raises(ValueError, match="n: must be an integer"):
        boolean.average_sensitivity("parity", bad)


def test_unknown_function_is_rejected():
    with pytest.raises(ValueError, match="unknown name 'parityy'"):
        boolean.resolve("parityy")


def test_majority_asymptotics():
    n = 21
    assert boolean.closed_form_sensitivity("majority", n) == pytest.approx(math.sqrt(2 * n / math.pi), rel=0.05)
