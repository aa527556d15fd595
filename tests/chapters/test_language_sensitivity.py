"""Chapter 11's pieces: the WordNet reader and its task, GLUE's files, the tokenizer, the models, the
sensitivity measure, the config and the claims. The real corpus is used only by the one test that says so."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from torch import nn

from replication.experiments import language_sensitivity as ls
from replication.measures.sequence import sequence_sensitivity
from replication.models.language import Encoder, build
from replication.tasks import text, wordnet

WORDS = ["bank", "plant", "bark", "spring", "match", "light", "pitch", "seal", "bat", "crane", "fair", "lead"]


def _synset_line(offset: int, words: list[str], gloss: str) -> str:
    ws = " ".join(f"{w} 0" for w in words)
    return f"{offset:08d} 05 n {len(words):02x} {ws} 000 | {gloss}  "


def write_wordnet(folder, senses: int = 2) -> None:
    """A data.noun in WordNet's format: a licence header, then synsets of WORDS with definitions and examples."""
    lines = ["  1 This software and database is being provided", "  2 header line"]
    offset = 100
    for i, w in enumerate(WORDS):
        for s in range(senses):
            gloss = f'sense {s} of the word {w} number {i}; "the {w} example {s} one"; "another {w} {s}"'
            lines.append(_synset_line(offset, [w, f"{w}_thing"] if s == 0 else [w], gloss))
            offset += 100
    lines.append(_synset_line(offset, ["lonely"], 'a word with one sense; "only one sense here"'))
    lines.append(_synset_line(offset + 100, ["bare"], "a sense with no example"))
    (folder / "data.noun").write_text("\n".join(lines) + "\n")


def test_parse_line_reads_words_definition_and_examples():
    s = wordnet.parse_line(
        _synset_line(123, ["river_bank", "bank(a)"], 'sloping land; "he sat on the bank"; "x y"'), "noun"
    )
    assert s.offset == 123 and s.words == ("river bank", "bank")
    assert s.definition == "sloping land" and s.examples == ("he sat on the bank", "x y")
    assert wordnet.parse_line("  1 header", "noun") is None and wordnet.parse_line("garbage", "noun") is None


def test_sense_pairs_and_split_by_word(tmp_path):
    write_wordnet(tmp_path)
    syn = wordnet.read_synsets(tmp_path)
    assert len(syn) == 2 * len(WORDS) + 2
    pairs = wordnet.sense_pairs(syn)
    assert len(pairs) == 4 * len(WORDS)  # two senses, a positive and a negative each
    assert sum(p.label for p in pairs) == len(pairs) // 2
    for p in pairs:
        sense = int(p.first.split()[1])
        assert (f"example {sense} " in p.second) == bool(p.label)
    train, val = wordnet.split_by_word(pairs, 0.25)
    assert {p.word for p in train}.isdisjoint({p.word for p in val}) and len(train) + len(val) == len(pairs)
    assert wordnet.sense_pairs(syn, seed=3) == wordnet.sense_pairs(syn, seed=3)


def test_word_pairs_draw_negatives_from_other_words_of_the_same_split(tmp_path):
    write_wordnet(tmp_path)
    syn = wordnet.read_synsets(tmp_path)
    train, val = wordnet.word_pairs(syn, 0.25)
    example = {f"{s.words[0]}: {s.definition}": s.examples[0] for s in syn if s.examples}
    word_of = {s.examples[0]: s.words[0] for s in syn if s.examples}
    assert len(train) + len(val) == 2 * (2 * len(WORDS) + 1)  # every synset with an example: two pairs
    assert {p.word for p in train}.isdisjoint({p.word for p in val})
    for split in (train, val):
        assert sum(p.label for p in split) == len(split) // 2
        own = {p.second for p in split if p.label}
        for p in split:
            assert p.first.startswith(f"{p.word}: ")
            assert (p.second == example[p.first]) == bool(p.label)
            assert p.second in own and (p.label or word_of[p.second] != p.word)  # another word of the same split
    assert wordnet.word_pairs(syn, 0.25, seed=3) == wordnet.word_pairs(syn, 0.25, seed=3)


def test_order_pairs_swap_the_same_two_sentences(tmp_path):
    write_wordnet(tmp_path)
    train, val = wordnet.order_pairs(wordnet.read_synsets(tmp_path), 0.25)
    assert len(train) + len(val) == 2 * (2 * len(WORDS) + 1) and {p.word for p in train}.isdisjoint(
        {p.word for p in val}
    )
    for split in (train, val):
        pos = {(p.first, p.second) for p in split if p.label}
        assert {(p.second, p.first) for p in split if not p.label} == pos
        assert all(p.first.startswith("sense") == bool(p.label) for p in split if p.word != "lonely")


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        wordnet.read_synsets(tmp_path)


@pytest.mark.skipif(not (wordnet.WORDNET_DIR / "data.noun").is_file(), reason="WordNet (wordnet-base) not installed")
def test_real_wordnet_gives_many_pairs():
    pairs = wordnet.sense_pairs(wordnet.read_synsets())
    assert len(pairs) > 20_000 and abs(sum(p.label for p in pairs) / len(pairs) - 0.5) < 1e-9


def test_glue_files(tmp_path):
    mrpc = 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA cat sat.\tThe cat sat.\n0\t3\t4\tRain.\tSun "x".\n'
    qqp = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n0\t1\t2\tWhy?\tHow?\t0\n1\t3\t4\tWho?\t\t1\n2\t5\t6\tA?\tB?\t1\n"
    for name, body in (("mrpc", mrpc), ("qqp", qqp)):
        (tmp_path / name).mkdir()
        for f in ("train.tsv", "dev.tsv"):
            (tmp_path / name / f).write_text(body)
    train, dev = text.read_glue("mrpc", tmp_path / "mrpc")
    assert [(p.first, p.second, p.label) for p in train] == [
        ("A cat sat.", "The cat sat.", 1),
        ("Rain.", 'Sun "x".', 0),
    ]
    train, _ = text.read_glue("qqp", tmp_path / "qqp")
    assert [(p.first, p.label) for p in train] == [("Why?", 0), ("A?", 1)]  # the row with an empty question is skipped
    with pytest.raises(FileNotFoundError, match="dev.tsv"):
        (tmp_path / "mrpc" / "dev.tsv").unlink()
        text.read_glue("mrpc", tmp_path / "mrpc")
    with pytest.raises(ValueError, match="dataset"):
        text.read_glue("sst2", tmp_path)


def test_tokenizer_is_cached_and_deterministic(tmp_path):
    texts = [f"the {w} example {i} of a sentence" for i in range(20) for w in WORDS]
    a = text.train_tokenizer(texts, 300, tmp_path / "a")
    b = text.train_tokenizer(texts, 300, tmp_path / "b")
    assert list((tmp_path / "a").iterdir())[0].read_text() == list((tmp_path / "b").iterdir())[0].read_text()
    c = text.train_tokenizer(texts, 300, tmp_path / "a")  # read back
    pairs = [wordnet.Pair("w", "the bank example", "another sentence of the plant example", 1)]
    ids, lengths, labels = text.encode_pairs(a, pairs, 64)
    assert torch.equal(ids, text.encode_pairs(c, pairs, 64)[0]) and torch.equal(ids, text.encode_pairs(b, pairs, 64)[0])
    row = ids[0].tolist()
    assert row[0] == text.BOS and row[-1] == text.EOS and row.count(text.EOS) == 3 and labels.tolist() == [1]
    short, slen, _ = text.encode_pairs(a, pairs + [wordnet.Pair("w", "a", "b", 0)], 8)
    assert slen.max() <= 8 and short[1, slen[1] :].eq(text.PAD).all()


def _tokens(B=3, L=7, vocab=50):
    g = torch.Generator().manual_seed(0)
    return torch.randint(3, vocab, (B, L), generator=g), torch.tensor([L, 4, 5])


def test_softmax_block_matches_torch_transformer_layer():
    torch.manual_seed(0)
    enc = Encoder(vocab=50, d=16, layers=1, heads=4, ff=24, max_len=16, dropout=0.0).eval()
    ref = nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation="gelu", batch_first=True).eval()
    blk = enc.blocks[0]
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(blk.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(blk.qkv.bias)
        ref.self_attn.out_proj.weight.copy_(blk.proj.weight)
        ref.self_attn.out_proj.bias.copy_(blk.proj.bias)
        for a, b in ((ref.linear1, blk.ff1), (ref.linear2, blk.ff2), (ref.norm1, blk.ln1), (ref.norm2, blk.ln2)):
            a.weight.copy_(b.weight)
            a.bias.copy_(b.bias)
    ids, lengths = _tokens()
    x = enc.embed(ids)
    keep = torch.arange(ids.shape[1])[None] < lengths[:, None]
    ours = blk(x, keep)
    theirs = ref(x, src_key_padding_mask=~keep)
    assert torch.allclose(ours[keep], theirs[keep], atol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "relu", "lstm"])
def test_padding_does_not_change_the_prediction(name):
    torch.manual_seed(0)
    model = build(name, 50, 16, 2, 4, 24, 16, 0.1).eval()
    ids, lengths = _tokens()
    other = ids.clone()
    other[1, 4:] = 7
    assert torch.allclose(model(ids, lengths)[1], model(other, lengths)[1], atol=1e-6)
    assert torch.allclose(model(ids, lengths), model.classify(model.embed(ids), lengths))


def test_models_refuse_bad_settings():
    with pytest.raises(ValueError, match="attention"):
        Encoder(50, 16, 1, 4, 24, 16, attention="linear")
    with pytest.raises(ValueError, match="model"):
        build("gru", 50, 16, 1, 4, 24, 16, 0.1)


class LastOnly(nn.Module):
    """Predicts from the last real token only: the sign of its first embedding coordinate."""

    def embed(self, ids):
        return ids[..., None].float().expand(*ids.shape, 4).clone() * 0 + 1.0

    def classify(self, emb, lengths):
        last = emb[torch.arange(len(emb)), lengths - 1, 0]
        return torch.stack([-last, last], -1)


def test_sequence_sensitivity_counts_positions_from_the_end():
    ids, lengths = _tokens()
    g = torch.Generator().manual_seed(1)
    s = sequence_sensitivity(LastOnly(), ids, lengths, sigma=3.0, repeats=4, generator=g, chunk=5)
    assert s.n_evaluations == int(lengths.sum()) * 4 == sum(s.count)
    assert s.count[0] == 12 and s.count[6] == 4  # every pair has a last token; only the longest a 7th from the end
    assert all(c == 0 for c in s.changed[1:]) and 0 < s.changed[0] <= 12
    assert s.fraction == s.changed[0] / s.n_evaluations
    again = sequence_sensitivity(LastOnly(), ids, lengths, 3.0, 4, torch.Generator().manual_seed(1), chunk=5)
    assert again == s
    with pytest.raises(ValueError, match="sigma"):
        sequence_sensitivity(LastOnly(), ids, lengths, sigma=-1.0)


def test_config_checks_parameters_by_name(tmp_path):
    with pytest.raises(ValueError, match="unknown parameter"):
        ls.LanguageConfig.from_params(scale="ci", width=3)
    with pytest.raises(ValueError, match="models"):
        ls.LanguageConfig.from_params(scale="ci", models=["gru"], data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="data_dir"):
        ls.LanguageConfig.from_params(scale="ci", dataset="mrpc", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="checkpoints"):
        dataclasses.replace(ls.PRESETS["ci"], checkpoints=(0, 5))
    write_wordnet(tmp_path)
    cfg = ls.LanguageConfig.from_params(scale="ci", data_dir=str(tmp_path), epochs="3")
    assert cfg.epochs == 3 and cfg.checkpoints == (0, 1, 3)


def test_a_tiny_run_is_reproducible(tmp_path, monkeypatch):
    write_wordnet(tmp_path, senses=3)
    monkeypatch.setattr(ls.measure, "TOKENIZER_CACHE", tmp_path / "tok")
    cfg = dataclasses.replace(ls.PRESETS["ci"], data_dir=str(tmp_path), epochs=2, checkpoints=(0, 2), n_sens=5)
    run = [r for r in ls.language_runs(cfg) if r.model == "relu"][0]
    timeless = lambda r: {k: v for k, v in r.items() if not k.endswith("_seconds")}  # noqa: E731
    a, b = ls.measure_language(run), ls.measure_language(run)
    assert timeless(a) == timeless(b) and [h["epoch"] for h in a["history"]] == [0, 2]
    assert {(p["split"], p["variance"]) for p in a["positions"]} == {
        (s, v) for s in ("train", "val") for v in (15.0, 4.0)
    }
    assert 0 <= a["sens_train_15"] <= 1 and "init_sens_val_4" in a


def _runs(lstm: float, soft: float, relu: float) -> pd.DataFrame:
    rows = []
    for m, base in (("lstm", lstm), ("softmax", soft), ("relu", relu)):
        for s in range(3):
            v = base + 0.001 * s
            rows.append(
                {
                    "model": m,
                    "seed": s,
                    "train_acc": 0.9,
                    "val_acc": 0.6 + 0.01 * s,
                    "sens_train_15": v,
                    "init_sens_train_15": v,
                    "sens_train_4": v,
                    "sens_val_15": v,
                }
            )
    return pd.DataFrame(rows)


def test_claims_hold_and_fail_on_the_numbers():
    cfg = ls.PRESETS["ci"]
    trend = pd.DataFrame(
        [
            {"model": m, "seed": s, "rho": r + 0.01 * s}
            for m, r in (("lstm", 0.8), ("softmax", 0.0), ("relu", 0.05))
            for s in range(3)
        ]
    )
    good = ls.claims(cfg, _runs(0.15, 0.01, 0.005), trend)
    assert all(c.holds for c in good), [c.note for c in good if not c.holds]
    bad = ls.claims(cfg, _runs(0.01, 0.15, 0.2), trend.assign(rho=0.0))
    assert not any(c.holds for c in bad[1:])
    assert "is not below" in bad[1].note and "ends above" in bad[5].note and "not significantly above 0" in bad[6].note


class BigLast(nn.Module):
    """Class 1 when a coordinate of the last real token is larger than 3 in size; the LayerNorm has no weights."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(4, elementwise_affine=False)

    def raw(self, ids):
        return torch.stack([ids.float(), -ids.float(), ids.float() * 0, ids.float() * 0], -1)

    def embed(self, ids):
        return self.norm(self.raw(ids))

    def classify(self, emb, lengths):
        big = (emb[torch.arange(len(emb)), lengths - 1].abs().max(-1).values > 3).float()
        return torch.stack([1 - big, big], -1)


def test_noise_before_the_layernorm_keeps_the_token_at_its_scale():
    ids, lengths = _tokens()
    after = sequence_sensitivity(
        BigLast(), ids, lengths, sigma=10.0, repeats=4, generator=torch.Generator().manual_seed(0)
    )
    before = sequence_sensitivity(
        BigLast(), ids, lengths, sigma=10.0, repeats=4, generator=torch.Generator().manual_seed(0), before_norm=True
    )
    assert after.changed[0] > 6 and before.changed[0] == 0  # a LayerNorm-ed 4-vector has entries below √3


def test_depth_claim_compares_the_order_of_the_models_at_each_depth():
    import pandas as pd

    cfg = ls.PRESETS["cpu"]
    assert {r.layers for r in ls.depth_runs(cfg)} == {2, 6} and len(ls.depth_runs(cfg)) == 18
    with pytest.raises(ValueError, match="^depths:"):
        ls.LanguageConfig(scale="ci", layers=4, depths=(4,))

    def table(order6):
        rows = []
        for d, order in ((4, ("LSTM", "RoBERTa (ReLU)", "RoBERTa (softmax)")), (6, order6)):
            rows += [
                {"layers": d, "name": n, "seeds": 3, "sensitivity": 0.01 * (i + 1) * d} for i, n in enumerate(order)
            ]
        return pd.DataFrame(rows).set_index(["layers", "name"])

    same = ls.depth_claim(cfg, table(("LSTM", "RoBERTa (ReLU)", "RoBERTa (softmax)")))
    assert same.holds and "6 layers: LSTM < RoBERTa (ReLU) < RoBERTa (softmax)" in same.measured
    swapped = ls.depth_claim(cfg, table(("RoBERTa (ReLU)", "LSTM", "RoBERTa (softmax)")))
    assert not swapped.holds and "order changes with depth" in swapped.note


def test_the_lexical_rule_reads_the_word_in_the_example():
    from replication.tasks.wordnet import Pair, lexical_rule

    pairs = [
        Pair("bank", "bank: sloping land", "we sat on the bank", 1),
        Pair("bank", "bank: sloping land", "he ran", 0),
        Pair("river_bank", "river bank: land", "by the river bank", 1),
        Pair("cat", "cat: a feline", "dogs bark", 1),
    ]
    assert lexical_rule(pairs) == 0.75  # the last positive has no "cat" in its example
    with pytest.raises(ValueError, match="pairs"):
        lexical_rule([])


@pytest.mark.slow
def test_describe_trials_names_the_best_word_task_run_and_the_rule():
    import pandas as pd

    word = next(i for i, (_, c) in enumerate(ls.TRIALS) if c.get("pairing") == "word")
    table = pd.DataFrame(
        [
            {"trial": 0, "setting": "a", "model": "LSTM", "val_acc": 0.5},
            {"trial": word, "setting": "b", "model": "RoBERTa (softmax)", "val_acc": 0.61},
        ]
    ).set_index(["trial", "setting", "model"])
    text = ls.describe_trials(table)
    assert f"0.610 (RoBERTa (softmax), trial {word})" in text and "of the training pairs" in text
