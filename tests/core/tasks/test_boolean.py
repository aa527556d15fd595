"""Exact sensitivities and Fourier identities (HR24 §3, Eq. 17)."""

import itertools
import math

import numpy as np
import pytest
import torch

from replication.measures import fourier, sensitivity
from replication.tasks import boolean

#: Known values of as_n on the ±1 scale, worked out by hand (not by this package). MAJORITY, ties -> 0:
#: bit i is pivotal iff the other n-1 bits hold exactly ⌊n/2⌋ ones, so
#: n=4: 4·C(3,2)/8 = 1.5; n=10: 10·C(9,5)/512 = 1260/512; n=20: 20·C(19,10)/2^19 = 1847560/524288;
#: odd n: n=5: 5·C(4,2)/16 = 30/16; n=11: 11·C(10,5)/1024 = 2772/1024.
KNOWN = [
    ("majority", 4, 1.5),
    ("majority", 5, 1.875),
    ("majority", 11, 2.7070),
    ("majority", 10, 2.4609),
    ("majority", 20, 3.5239),
    ("parity", 7, 7.0),
    ("first", 9, 1.0),
    ("mean", 8, 0.125),
]


@pytest.mark.parametrize("name,n,value", KNOWN)
def test_average_sensitivity_known_values(name, n, value):
    assert sensitivity.average_sensitivity(name, n) == pytest.approx(value, abs=5e-5)
    assert sensitivity.closed_form_sensitivity(name, n) == pytest.approx(value, abs=5e-5)


def brute_sensitivity(fn, n):
    """as_n by plain Python: count, over all strings, the flips that change ``fn`` (±1 scale, squared)."""
    total = 0.0
    for bits in itertools.product((0, 1), repeat=n):
        y = fn(bits)
        for i in range(n):
            flipped = bits[:i] + (1 - bits[i],) + bits[i + 1 :]
            total += (2 * y - 2 * fn(flipped)) ** 2 / 4  # ±1 scale: 2f - 1
    return total / 2**n


BY_HAND = {
    "parity": lambda b: sum(b) % 2,
    "majority": lambda b: int(2 * sum(b) > len(b)),
    "first": lambda b: b[0],
    "mean": lambda b: sum(b) / len(b),
}


@pytest.mark.parametrize("name", sorted(BY_HAND))
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_average_sensitivity_matches_brute_force(name, n):
    assert sensitivity.average_sensitivity(name, n) == pytest.approx(brute_sensitivity(BY_HAND[name], n), abs=1e-12)


def test_majority_hand_values():
    # n=3: each bit is pivotal when the other two disagree (prob 1/2): as = 3/2.
    assert sensitivity.average_sensitivity("majority", 3) == pytest.approx(1.5)
    # n=4, ties -> 0: f=1 iff >=3 ones. Bit pivotal iff other 3 bits hold exactly 2 ones (3/8): as = 4*3/8.
    assert sensitivity.average_sensitivity("majority", 4) == pytest.approx(1.5)
    assert sensitivity.closed_form_sensitivity("majority", 2) == pytest.approx(1.0)


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
    table = sensitivity.truth_table(name, n)
    lam = fourier.walsh_hadamard(table)
    brute = brute_fourier(table, n)
    for P, v in brute.items():
        m = sum(1 << (n - 1 - i) for i in P)
        assert lam[m].item() == pytest.approx(v, abs=1e-12)


def test_parity_spectrum_is_top_degree():
    prof = fourier.degree_profile("parity", 6)
    assert prof[-1] == pytest.approx(1.0) and prof[:-1].sum() == pytest.approx(0.0)
    prof = fourier.degree_profile("first", 6)
    assert prof[1] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_eq17_on_random_real_functions(seed):
    n = 7
    g = torch.Generator().manual_seed(seed)
    table = torch.rand(2**n, generator=g, dtype=torch.float64) * 3 - 1  # arbitrary real values
    lhs = sensitivity.average_sensitivity(table)
    rhs = fourier.sensitivity_from_spectrum(table)
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_parseval():
    table = sensitivity.truth_table(boolean.random_function(8, seed=3), 8)
    assert fourier.degree_profile(table).sum() == pytest.approx(1.0)  # ±1-valued: sum λ² = 1


def test_random_function_sensitivity_near_half_n():
    n = 12
    vals = [sensitivity.average_sensitivity(boolean.random_function(n, seed=s), n) for s in range(5)]
    assert np.mean(vals) == pytest.approx(n / 2, rel=0.05)


def test_sparse_parity():
    fn = boolean.sparse_parity((0, 2))
    assert sensitivity.average_sensitivity(fn, 6) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="support"):
        boolean.sparse_parity(())


@pytest.mark.parametrize("bad", [0, 23, 2.5, "abc", True])
def test_bad_n_is_rejected(bad):
    with pytest.raises(ValueError, match="n: must be an integer"):
        sensitivity.average_sensitivity("parity", bad)


def test_unknown_function_is_rejected():
    with pytest.raises(ValueError, match="unknown name 'parityy'"):
        boolean.resolve("parityy")


def test_majority_asymptotics():
    n = 21
    assert sensitivity.closed_form_sensitivity("majority", n) == pytest.approx(math.sqrt(2 * n / math.pi), rel=0.05)


def test_majority_profile_even_and_odd_n():
    """Ties -> 0 put weight on even degrees at even n: d_0 = (E g)² = ((386 - 638)/1024)² at n = 10, d_2 ≈ 0.034.

    At odd n MAJORITY is an odd function on the ±1 scale and every even degree is empty. Chapter 03 states
    this from the computed profile, not from typed text.
    """
    from replication.experiments import average_sensitivity as ch

    even = fourier.degree_profile("majority", 10)
    assert even[0] == pytest.approx((252 / 1024) ** 2, rel=1e-9) and even[2] == pytest.approx(0.034, abs=5e-4)
    odd = fourier.degree_profile("majority", 11)
    assert np.abs(odd[0::2]).max() < 1e-20 and odd.sum() == pytest.approx(1.0)
    cfg = ch.SensitivityConfig.from_params(scale="ci", functions='["majority"]')
    assert cfg.profile_n % 2 == 1
    text = ch.describe_profiles(ch.degree_profiles(cfg))
    assert "even degrees none" in text and f"odd n = {cfg.profile_n}" in text
    import dataclasses

    text = ch.describe_profiles(ch.degree_profiles(dataclasses.replace(cfg, profile_n=10)))
    assert "even degrees 24.6%" in text and "$d_{0}$ = 0.061" in text and "$d_{2}$ = 0.034" in text


# --------------------------------------------------------------------------------------------------
# Random truth tables (chapter 07)


def test_random_table_is_random_function_s_table():
    for n, seed in ((4, 0), (7, 3), (10, 11)):
        table = boolean.random_table(n, seed)
        assert table.dtype == torch.float64 and set(table.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(table, sensitivity.truth_table(boolean.random_function(n, seed), n))
    assert not torch.equal(boolean.random_table(8, 0), boolean.random_table(8, 1))


@pytest.mark.parametrize("n,seed", [(3, 0), (5, 1), (8, 2), (10, 3)])
def test_exact_sensitivity_of_a_truth_table_is_a_count_of_differing_neighbours(n, seed):
    """as_n of a {0,1} table = (number of ordered Hamming-neighbour pairs with different values) / 2^n.

    Counted with plain Python over integer indices: flipping bit i of a string flips one bit of its index.
    """
    table = boolean.random_table(n, seed).tolist()
    differing = sum(table[k] != table[k ^ (1 << i)] for k in range(2**n) for i in range(n))
    assert sensitivity.average_sensitivity(boolean.random_table(n, seed)) == differing / 2**n
    # a uniform random f has as_n ≈ n/2 (each flip changes the value with probability 1/2)
    assert abs(differing / 2**n - n / 2) < 3 * math.sqrt(n) / 2 ** (n / 2) + 0.5


def test_bad_n_is_rejected_for_random_tables():
    with pytest.raises(ValueError, match="n: must be an integer"):
        boolean.random_table(0)
