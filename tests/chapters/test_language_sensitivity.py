"""Chapter 11's pieces: the WordNet reader and its task, GLUE's files, the tokenizer, the models, the
sensitivity measure, the config and the claims. The real corpus is used only by the one test that says so."""

from __future__ import annotations

import dataclasses

import pandas as pd
from scipy import stats
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


# --- V25's sizes and training, the meaning task, the readings of the noise --------------------------------------


def test_encoder_at_v25_width_matches_torch_transformer_encoder():
    """The encoder's stack at the cpu preset's sizes (width 256, 8 heads, feed-forward 1,024, 4 layers) against
    ``nn.TransformerEncoder`` with copied weights (post-LN, GELU, padded keys masked)."""
    m = ls.PRESETS["cpu"].meaning
    torch.manual_seed(0)
    enc = Encoder(vocab=50, d=m.d, layers=m.layers, heads=m.heads, ff=m.ff, max_len=16, dropout=0.0).eval()
    layer = nn.TransformerEncoderLayer(m.d, m.heads, m.ff, dropout=0.0, activation="gelu", batch_first=True)
    ref = nn.TransformerEncoder(layer, m.layers, enable_nested_tensor=False).eval()
    with torch.no_grad():
        for r, blk in zip(ref.layers, enc.blocks):
            r.self_attn.in_proj_weight.copy_(blk.qkv.weight)
            r.self_attn.in_proj_bias.copy_(blk.qkv.bias)
            r.self_attn.out_proj.weight.copy_(blk.proj.weight)
            r.self_attn.out_proj.bias.copy_(blk.proj.bias)
            for a, b in ((r.linear1, blk.ff1), (r.linear2, blk.ff2), (r.norm1, blk.ln1), (r.norm2, blk.ln2)):
                a.weight.copy_(b.weight)
                a.bias.copy_(b.bias)
    ids, lengths = _tokens()
    keep = torch.arange(ids.shape[1])[None] < lengths[:, None]
    x = ours = enc.embed(ids)
    for blk in enc.blocks:
        ours = blk(ours, keep)
    theirs = ref(x, src_key_padding_mask=~keep)
    assert torch.allclose(ours[keep], theirs[keep], atol=1e-4)


def test_lstm_at_v25_width_reads_the_final_hidden_state_of_nn_lstm():
    """V25's LSTM (4 × 256, Embedding then LayerNorm, a linear head) reads the last layer's final hidden state
    of ``nn.LSTM`` over the real tokens: the same as a packed sequence's ``h_n[-1]``."""
    m = ls.PRESETS["cpu"].meaning
    torch.manual_seed(0)
    model = build("lstm", 50, m.d, m.layers, m.heads, m.ff, 16, 0.0, head=m.lstm_head).eval()
    assert isinstance(model.head, nn.Linear) and model.lstm.num_layers == 4 and model.lstm.hidden_size == 256
    ids, lengths = _tokens()
    packed = nn.utils.rnn.pack_padded_sequence(model.embed(ids), lengths, batch_first=True, enforce_sorted=False)
    _, (h, _) = model.lstm(packed)
    assert torch.allclose(model(ids, lengths), model.head(h[-1]), atol=1e-5)


def test_the_lstm_trained_as_the_released_script_updates_its_recurrent_weights_only():
    from replication.models.language import trained_parameters

    torch.manual_seed(0)
    model = build("lstm", 50, 16, 2, 4, 24, 16, 0.0, head="linear")
    assert len(trained_parameters(model, "lstm")) == len(list(model.lstm.parameters())) < len(list(model.parameters()))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(trained_parameters(model, "lstm"), lr=1e-2)
    ids, lengths = _tokens()
    nn.functional.cross_entropy(model(ids, lengths), torch.tensor([0, 1, 0])).backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("lstm.") for k in changed)
    with pytest.raises(ValueError, match="trains"):
        trained_parameters(build("softmax", 50, 16, 2, 4, 24, 16, 0.0), "lstm")
    with pytest.raises(ValueError, match="trains"):
        trained_parameters(model, "head")


def test_presets_hold_v25s_settings_and_the_order_task_keeps_its_own():
    paper, cpu = ls.PRESETS["paper"].meaning, ls.PRESETS["cpu"].meaning
    for m in (paper, cpu):
        assert (m.d, m.layers, m.heads, m.lr, m.lr_decay, m.batch_size, m.max_len, m.repeats) == (
            256,
            4,
            8,
            1e-4,
            0.9,
            32,
            128,
            3,
        )
        assert m.pairing == "paraphrase" and m.lstm_trains == ("all", "lstm") and m.code_path and m.n_sens >= 400
    assert (paper.ff, paper.epochs, paper.vocab_size, cpu.ff, cpu.epochs) == (3072, 100, 50265, 1024, 30)
    assert ls.PRESETS["paper"].d == 256 and ls.PRESETS["paper"].ff == 3072
    assert 3600 <= cpu.n_train <= 3800
    small = ls.PRESETS["cpu"]
    assert (small.d, small.pairing, small.lstm_trains, small.code_path) == (32, "order", ("all",), False)
    runs = ls.language_runs(cpu)
    assert sorted({(r.model, r.trains) for r in runs}) == [
        ("lstm", "all"),
        ("lstm", "lstm"),
        ("relu", "all"),
        ("softmax", "all"),
    ]


def test_new_settings_are_checked_by_name():
    base = ls.PRESETS["ci"]
    for field, bad in (
        ("lr_decay", 1.5),
        ("warmup", -1),
        ("warmup", 10**6),
        ("lstm_trains", ("all", "head")),
        ("lstm_trains", ("all", "all")),
        ("lstm_head", "mlp"),
        ("code_path", "yes"),
        ("sens_splits", ("val",)),
        ("sens_ends", 1),
        ("meaning", base),  # a meaning with a meaning of its own
    ):
        with pytest.raises(ValueError, match=f"^{field}"):
            dataclasses.replace(base, **{field: bad})


def test_lr_decay_and_the_code_path_are_measured_inside_a_run(tmp_path, monkeypatch):
    write_wordnet(tmp_path, senses=3)
    monkeypatch.setattr(ls.measure, "TOKENIZER_CACHE", tmp_path / "tok")
    cfg = dataclasses.replace(ls.PRESETS["ci"], data_dir=str(tmp_path), epochs=2, checkpoints=(0, 1, 2), n_sens=4)
    cfg = dataclasses.replace(cfg, code_path=True, sens_ends=True, sens_splits=("train",), lr_decay=0.5, repeats=3)
    run = next(r for r in ls.language_runs(cfg) if r.model == "softmax")
    out = ls.measure_language(run)
    assert [sorted(k for k in h if "sens" in k) for h in out["history"]] == [
        ["code_sens_train_15", "code_sens_train_4", "sens_train_15", "sens_train_4"],
        [],
        ["code_sens_train_15", "code_sens_train_4", "sens_train_15", "sens_train_4"],
    ]
    assert {"init_code_sens_train_15", "code_sens_train_4"} <= set(out)
    assert {p.get("path") for p in out["positions"]} == {None, "code"}
    lstm = next(r for r in ls.language_runs(cfg) if r.model == "lstm")
    assert not any("code" in k for k in ls.measure_language(lstm))  # the LSTM's code path is the paper's


def test_paraphrase_pairs_replace_the_word_by_a_synonym_or_another_senses_word(tmp_path):
    lines = ["  1 header"]
    senses = [
        (["bank", "riverbank"], 'sloping land; "they sat on the bank of the river"'),
        (["bank", "depository"], 'a financial institution; "the bank raised its rates"'),
        (["bank", "cant"], 'a slope in the turn of a road; "the bank of the curve"'),
    ]
    for i, (words, gloss) in enumerate(senses):
        lines.append(_synset_line(100 * (i + 1), words, gloss))
    (tmp_path / "data.noun").write_text("\n".join(lines) + "\n")
    train, val = wordnet.paraphrase_pairs(wordnet.read_synsets(tmp_path), 1 / 3)
    assert len(val) == 2 and len(train) == 4  # one example in three to validation, both its pairs
    same = {s[1].split('"')[1]: set(s[0]) - {"bank"} for s in senses}
    for p in train + val:
        word = wordnet.replacement(p)
        assert p.word == "bank" and p.second == p.first.replace("bank", word, 1)
        assert (word in same[p.first]) == bool(p.label)
    assert {p.first for p in val}.isdisjoint({p.first for p in train})
    assert wordnet.paraphrase_pairs(wordnet.read_synsets(tmp_path), 1 / 3) == (train, val)
    with pytest.raises(ValueError, match="val_fraction"):
        wordnet.paraphrase_pairs([], 0.0)


def test_lexical_rules_on_the_paraphrase_task():
    P = wordnet.Pair
    train = [
        P("sensitize", "sensitize the film", "sensitise the film", 1),
        P("sensitize", "sensitize the film", "sensify the film", 0),
        P("cloudy", "a cloudy liquid", "a murky liquid", 1),
        P("cloudy", "a cloudy liquid", "a nebulous liquid", 0),
    ]
    val = [P("cloudy", "a cloudy sky", "a murky sky", 1), P("clumsy", "clumsy hands", "awkward hands", 0)]
    rules = wordnet.paraphrase_rules(train, val)
    assert rules["majority"] == (0.5, 0.5)
    # sensitise and sensify share "sens" (right, wrong); murky, nebulous and awkward share nothing (wrong, right, right)
    assert rules["prefix"] == (0.5, 0.5)
    assert rules["lookup"] == (1.0, 1.0)  # murky: 1 in training; awkward unseen: the majority, 0 on a tie
    with pytest.raises(ValueError, match="train"):
        wordnet.paraphrase_rules([], val)


def test_learned_needs_training_accuracy_and_a_binomial_margin_over_the_majority():
    from replication.experiments.language_sensitivity.meaning import learned

    assert learned(0.95, 0.60, 1000, 0.5)[0]  # 600 of 1,000 against 0.5: p far below 0.05
    assert not learned(0.95, 0.52, 100, 0.5)[0]  # 52 of 100: not significant
    assert not learned(0.85, 0.70, 1000, 0.5)[0]  # training accuracy below 0.9
    ok, p = learned(0.9, 0.55, 1000, 0.5)
    assert ok and p < 0.01
    with pytest.raises(ValueError, match="rate"):
        learned(0.9, 0.6, 100, 1.0)


def _meaning_runs(lstm: float, soft: float, relu: float, code_soft: float, code_relu: float) -> pd.DataFrame:
    rows = []
    for m, trains, base, code in (
        ("lstm", "all", lstm, None),
        ("lstm", "lstm", lstm, None),
        ("softmax", "all", soft, code_soft),
        ("relu", "all", relu, code_relu),
    ):
        for s in range(3):
            row = {"model": m, "trains": trains, "seed": s, "epoch": 30, "train_acc": 0.95, "val_acc": 0.6}
            row |= {"n_val": 1000, "name": m + trains}
            for v in (15, 4):
                row |= {f"sens_train_{v}": base + 0.001 * s, f"init_sens_train_{v}": base + 0.001 * s}
                if code is not None:
                    row |= {f"code_sens_train_{v}": code + 0.001 * s, f"init_code_sens_train_{v}": code + 0.001 * s}
            rows.append(row)
    return pd.DataFrame(rows)


def _positions(runs: pd.DataFrame, lstm_rises: bool) -> pd.DataFrame:
    rows = []
    for _, r in runs.iterrows():
        for path in ("paper", "code") if r["model"] != "lstm" else ("paper",):
            for v in (15.0, 4.0):
                for back in range(6):
                    sens = (0.5 - 0.05 * back + 0.01 * r["seed"]) if r["model"] == "lstm" and lstm_rises else 0.1
                    rows.append(
                        {"model": r["model"], "trains": r["trains"], "seed": r["seed"], "path": path, "epoch": 30}
                        | {"split": "train", "variance": v, "from_end": back, "count": 50, "sensitivity": sens}
                    )
    return pd.DataFrame(rows)


def test_readings_judge_each_comparison_and_name_what_decides_the_order():
    from replication.experiments.language_sensitivity import meaning, readings

    assert len(readings.READINGS) == 8 and readings.PAPER in readings.READINGS and readings.CODE in readings.READINGS
    assert readings.PAPER.column("softmax") == "sens_train_15" and readings.CODE.column("relu") == "code_sens_train_15"
    assert readings.CODE.column("lstm", init=True) == "init_sens_train_15"
    # The paper's path: transformers far below the LSTM; the code's path: above it (the noise renormalised).
    runs = _meaning_runs(0.1, 0.01, 0.005, 0.3, 0.4)
    pos = _positions(runs, lstm_rises=True)
    table = readings.verdicts(runs, pos, 30)
    below = table[table["comparison"] == "below"].set_index("reading")["holds"]
    assert below[readings.PAPER.label] and not below[readings.CODE.label]
    assert readings.deciding(table) == {"path": (4, 4), "variance": (0, 4), "lstm": (0, 4)}
    cl = meaning.claims(ls.PRESETS["cpu"], runs, pos, 12, 0.5)
    assert [c.kind for c in cl[1:4]] == ["paper", "diagnosis", "diagnosis"]
    assert cl[1].holds and not cl[2].holds and not cl[3].holds and cl[3].measured == "holds under 4 of 8 readings"
    assert cl[0].holds and "3 of 3 seeds" in cl[0].measured and cl[-1].holds and "4 of 4 pairs" in cl[-1].measured
    later = [c for c in cl if "later tokens" in c.claim]
    assert all(c.holds for c in later)


def test_meaning_claims_say_not_run_yet_without_the_runs():
    from replication.experiments.language_sensitivity import meaning

    cl = meaning.claims(ls.PRESETS["cpu"], pd.DataFrame(), pd.DataFrame(), 12, 0.5)
    assert len(cl) == 1 + 4 * 3 + 1 and not any(c.testable or c.holds for c in cl)
    assert all("not run yet at this scale (0 of 12" in c.note for c in cl)
    one = _meaning_runs(0.1, 0.01, 0.005, 0.3, 0.4)
    cl = meaning.claims(ls.PRESETS["cpu"], one[one["seed"] == 0], pd.DataFrame(), 12, 0.5)
    assert all("4 of 12 meaning runs stored" in c.note for c in cl)


def test_the_step_cost_projection_counts_steps_and_perturbed_pairs():
    from replication.experiments.language_sensitivity import steps

    cfg = ls.PRESETS["cpu"].meaning
    run = next(r for r in ls.language_runs(cfg) if r.model == "softmax")
    timing = {"seconds_per_step": 0.5, "seconds_per_eval": 0.01, "seconds_per_pair": 0.001, "mean_length": 10.0}
    p = steps.projection(run, timing)
    assert p["steps"] == 30 * 116 and p["train_s"] == 30 * 116 * 0.5
    once = 2 * 400 * 3 * 10.0  # two variances, 400 pairs, 3 draws, 10 tokens each
    assert p["evaluations"] == 2 * once + 2 * once  # the paper's path at 0 and 30, the code's at both
    assert p["measure_s"] == pytest.approx(p["evaluations"] * 0.01 + 7 * 4700 * 0.001)
    lstm = next(r for r in ls.language_runs(cfg) if r.model == "lstm")
    assert steps.projection(lstm, timing)["evaluations"] == 2 * once
    assert {s.run.epochs for s in steps.step_runs(cfg)} == {1} and len(steps.step_runs(cfg)) == 4
    with pytest.raises(ValueError, match="steps"):
        steps.StepCost(run, steps=0)


@pytest.mark.skipif(not (wordnet.WORDNET_DIR / "data.noun").is_file(), reason="WordNet (wordnet-base) not installed")
def test_meaning_parts_are_resumable_and_seed_by_seed():
    parts = {p.name: p for p in ls.make_runs("ci")}
    assert not parts["meaning"].default and parts["step_cost"].default
    assert [r.seed for r in parts["meaning"].runs] == sorted(r.seed for r in parts["meaning"].runs)
    cpu = {p.name: p for p in ls.make_runs("cpu")}
    assert len(cpu["meaning"].runs) == 12 and not cpu["meaning_trials"].default
    assert len(cpu["meaning_trials"].runs) == 10


def test_the_learning_rate_warms_up_linearly_then_decays_by_epoch():
    run = dataclasses.replace(next(iter(ls.language_runs(ls.PRESETS["ci"]))), lr=1e-3, lr_decay=0.5, warmup=1)
    rate = ls.measure.rate
    assert rate(run, 1, 0, 10) == pytest.approx(1e-4)  # first step: lr / ramp
    assert rate(run, 1, 4, 10) == pytest.approx(5e-4)
    assert rate(run, 1, 9, 10) == pytest.approx(1e-3)  # the ramp's end: the full rate
    assert rate(run, 3, 25, 10) == pytest.approx(1e-3 * 0.25)  # then × lr_decay per epoch
    assert rate(run, 3, 25, 0) == pytest.approx(1e-3 * 0.25)  # no warm-up


def test_meaning_trials_change_one_setting_of_the_meaning_runs():
    from replication.experiments.language_sensitivity import meaning_trials as mt

    cfg = ls.PRESETS["cpu"]
    trials = mt.trial_runs(cfg)
    assert len(trials) == 2 * len(mt.TRIALS) and len({r for _, _, r in trials}) == len(trials)
    first = {r.model: r for i, _, r in trials if i == 0}
    v25 = {r.model: r for r in ls.language_runs(cfg.meaning) if r.seed == 0 and r.trains == "all"}
    for model, r in first.items():  # trial 0 is V25's optimiser: only the length and the measures differ
        same = dataclasses.replace(
            v25[model], epochs=mt.EPOCHS, checkpoints=r.checkpoints, sens_ends=True, code_path=False
        )
        assert r == dataclasses.replace(same, variances=(15.0,), n_sens=100, sens_splits=("train",))
        assert r.checkpoints == tuple(range(mt.EPOCHS + 1)) and (r.lr, r.lr_decay, r.warmup) == (1e-4, 0.9, 0)
    assert {(r.lr, r.warmup) for i, _, r in trials if i == 3} == {(1e-3, 1)}
    with pytest.raises(ValueError, match="does not have"):
        mt.trial_runs(cfg, trials=(("bad", dict(learning_rate=1.0)),))
    with pytest.raises(ValueError, match="warmup"):
        mt.trial_runs(cfg, trials=(("bad", dict(warmup=-1)),))
    assert mt.trial_runs(dataclasses.replace(cfg, meaning=None)) == []


def test_meaning_trial_summary_reads_the_curves():
    from replication.experiments.language_sensitivity import meaning_trials as mt

    rows = [
        {"trial": 0, "setting": "s", "model": "LSTM", "epoch": e, "train_acc": t, "val_acc": v, "loss": 0.0}
        | {"train_seconds": 120.0}
        for e, t, v in ((0, 0.5, 0.6), (1, 0.8, 0.56), (2, 0.95, 0.52))  # epoch 0 (untrained) is not the best
    ]
    out = mt.summary(pd.DataFrame(rows), 8)
    r = out.loc[(0, "s", "LSTM")]
    assert (r["train_acc"], r["val_acc"], r["best_val"], r["best_epoch"]) == (0.95, 0.52, 0.56, 1)
    assert r["train ≥ 0.9 at"] == 2 and r["minutes"] == 2.0 and out.attrs["stored"] == "1 of 8 trial runs stored"
    assert mt.summary(pd.DataFrame(), 8).attrs["stored"] == "0 of 8 trial runs stored"


def test_meaning_trials_describe_names_the_fits_and_tests_the_best_validation_accuracy():
    from replication.experiments.language_sensitivity import meaning_trials as mt

    rows = [
        {"trial": t, "setting": "s", "model": "LSTM", "epoch": e, "train_acc": a, "val_acc": v, "loss": 0.0}
        | {"train_seconds": 60.0}
        for t, e, a, v in ((0, 0, 0.5, 0.5), (0, 1, 0.7, 0.51), (1, 0, 0.5, 0.5), (1, 1, 0.95, 0.6))
    ]
    cfg = dataclasses.replace(ls.PRESETS["cpu"], meaning=dataclasses.replace(ls.PRESETS["cpu"].meaning, n_val=1000))
    text = mt.describe(mt.summary(pd.DataFrame(rows), 8), cfg, 0.5)
    assert "2 of 8 trial runs stored" in text and "trial 1 LSTM by epoch 1" in text
    p = float(stats.binomtest(600, 1000, 0.5, alternative="greater").pvalue)
    assert "0.600 (trial 1, LSTM, epoch 1)" in text and f"p = {p:.3g}" in text
    assert "No meaning trial is stored" in mt.describe(mt.summary(pd.DataFrame(), 8), cfg, 0.5)


def test_meaning_trial_claims_judge_v25s_optimiser_and_the_best_generalisation():
    from replication.experiments.language_sensitivity import meaning_trials as mt

    cfg = dataclasses.replace(ls.PRESETS["cpu"], meaning=dataclasses.replace(ls.PRESETS["cpu"].meaning, n_val=1000))
    rows = []
    for trial in range(len(mt.TRIALS)):
        for model, (fit, val) in {"LSTM": (0.95, 0.5), "RoBERTa (softmax)": (0.7 + 0.1 * trial, 0.51)}.items():
            val = 0.58 if (trial, model) == (2, "RoBERTa (softmax)") else val
            rows += [
                {"trial": trial, "setting": "s", "model": model, "epoch": e, "train_acc": a, "val_acc": v}
                | {"loss": 0.0, "train_seconds": 1.0}
                for e, a, v in ((0, 0.5, 0.5), (1, fit, val))
            ]
    table = mt.summary(pd.DataFrame(rows), 2 * len(mt.TRIALS))
    fit, gen = mt.claims(cfg, table, 0.5)
    assert not fit.holds and fit.testable and "RoBERTa (softmax): training accuracy 0.7 after 1 epochs" in fit.measured
    assert "LSTM: training accuracy 0.95 after 1 epochs (≥ 0.9 from epoch 1)" in fit.measured
    assert gen.holds and gen.measured.startswith("1 of 10 trial runs above") and "trial 2, RoBERTa" in gen.measured
    assert "Bonferroni over the 10 runs (p < 0.005)" in gen.note and fit.kind == gen.kind == "diagnosis"
    few = mt.claims(cfg, table.iloc[:3], 0.5)
    assert not any(c.testable for c in few) and "3 of 10 trial runs stored" in few[0].note


def test_a_curriculum_trains_on_the_order_task_first_with_a_shared_tokenizer(tmp_path, monkeypatch):
    write_wordnet(tmp_path, senses=3)
    monkeypatch.setattr(ls.measure, "TOKENIZER_CACHE", tmp_path / "tok")
    cfg = dataclasses.replace(ls.PRESETS["ci"], data_dir=str(tmp_path), pairing="sense", epochs=1, checkpoints=(0, 1))
    plain = next(r for r in ls.language_runs(dataclasses.replace(cfg, n_sens=4)) if r.model == "softmax")
    taught = dataclasses.replace(plain, curriculum=2)
    data = ls.load_data(taught)
    order = ls.load_pairs("wordnet", str(tmp_path), "order")[0]
    assert len(data["pre"][0]) == min(len(order), len(data["train"][0])) and "pre" not in ls.load_data(plain)
    timeless = lambda r: {k: v for k, v in r.items() if not k.endswith("_seconds")}  # noqa: E731
    a, b, c = ls.measure_language(taught), ls.measure_language(taught), ls.measure_language(plain)
    assert timeless(a) == timeless(b)  # reproducible
    assert a["history"][0] != c["history"][0] or a["history"][1] != c["history"][1]  # the curriculum changed the run
    with pytest.raises(ValueError, match="curriculum"):
        from replication.experiments.language_sensitivity import meaning_trials as mt

        mt.trial_runs(
            dataclasses.replace(
                ls.PRESETS["cpu"], meaning=dataclasses.replace(ls.PRESETS["cpu"].meaning, pairing="order")
            ),
            trials=(("c", dict(curriculum=1)),),
        )
