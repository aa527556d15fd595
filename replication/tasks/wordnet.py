"""A sentence-pair task from WordNet 3.0: does this usage example belong to this gloss's sense of the word?

WordNet's database files (``data.noun``, ``data.verb``, ``data.adj``, ``data.adv``; Debian's ``wordnet-base``
installs them under ``/usr/share/wordnet``) hold one synset (one sense) a line, in WordNet's documented
format (wndb(5WN))::

    synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss

``w_cnt`` is two hexadecimal digits; the gloss after ``|`` is the definition followed by usage examples in
double quotes, separated by ``;``. Lines that start with two spaces are the licence header.

The task (:func:`sense_pairs`): for a word with at least two senses that have usage examples, pair the
definition of one sense with one of its own examples (label 1) and with an example of another sense of the
same word (label 0), so each positive pair has a negative twin with the same definition. The split into
training and validation pairs is by word, so that no definition or example is seen in both.

A second, easier task (:func:`word_pairs`): the first sentence is the word and its definition
(``"bank: sloping land ..."``), the second an example of that sense (label 1) or an example of a sense of
another word of the same split, drawn at random (label 0). The cue is the word itself, which most examples
contain; the task asks whether the example uses the defined word.

A third (:func:`order_pairs`): a definition and an example of the same sense, in that order (label 1) or the
other way round (label 0). The two sentences of a pair are the same in both orders, so the words alone say
nothing; a model must tell which of the two is the definition, and where it stands.

A fourth, a paraphrase task (:func:`paraphrase_pairs`): a usage example against the same example with its word
replaced by a synonym from the same synset (label 1, a paraphrase) or by a word of another sense of that word
(label 0: "the invaders encountered stiff opposition" with "confrontation" against "foe"). Both replacements are
words the original can stand for, so the label turns on the sense the example uses: on meaning, as in MRPC and
QQP. :func:`paraphrase_rules` scores the simplest lexical rules on it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

#: Where Debian's ``wordnet-base`` puts the database.
WORDNET_DIR = Path("/usr/share/wordnet")
#: The database files, one per part of speech.
PARTS = ("noun", "verb", "adj", "adv")
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class Synset:
    """One sense: its part of speech, offset, words (lower case, spaces for underscores), definition, examples."""

    pos: str
    offset: int
    words: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]


def check_available(folder: str | Path = WORDNET_DIR) -> Path:
    """The folder, after checking that it holds ``data.noun``; a clear error saying how to install it if not."""
    folder = Path(folder)
    if not (folder / "data.noun").is_file():
        raise FileNotFoundError(
            f"wordnet_dir: no WordNet database at {folder} (data.noun missing). Install Debian's wordnet-base "
            f"(`make corpus`, or `sudo apt-get install wordnet-base`), or point wordnet_dir at a folder holding "
            f"WordNet 3.0's data.noun, data.verb, data.adj and data.adv"
        )
    return folder


def parse_line(line: str, pos: str) -> Synset | None:
    """One synset from a line of a ``data.*`` file; None for a header line or a malformed one."""
    if line.startswith("  ") or "|" not in line:
        return None
    head, gloss = line.split("|", 1)
    fields = head.split()
    try:
        offset, w_cnt = int(fields[0]), int(fields[3], 16)
    except (IndexError, ValueError):
        return None
    raw = fields[4 : 4 + 2 * w_cnt : 2]
    words = tuple(re.sub(r"\(.*\)$", "", w).replace("_", " ").lower() for w in raw)
    examples = tuple(e.strip() for e in _QUOTED.findall(gloss) if e.strip())
    definition = _QUOTED.sub("", gloss).strip().strip(";").strip()
    definition = re.sub(r"\s*;\s*(;\s*)*", "; ", definition).strip("; ").strip()
    return Synset(pos=pos, offset=offset, words=words, definition=definition, examples=examples)


def read_synsets(folder: str | Path = WORDNET_DIR, parts: tuple[str, ...] = PARTS) -> list[Synset]:
    """Every synset of the ``data.*`` files of ``parts`` in ``folder`` (a part whose file is missing is skipped,
    but ``data.noun`` must exist), in file order."""
    folder = check_available(folder) if "noun" in parts else Path(folder)
    out = []
    for pos in parts:
        path = folder / f"data.{pos}"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            out += [s for s in (parse_line(line.rstrip("\n"), pos) for line in f) if s is not None]
    return out


@dataclass(frozen=True)
class Pair:
    """A (definition, example) pair of one word: label 1 if the example is of the definition's sense."""

    word: str
    first: str  # the definition
    second: str  # the usage example
    label: int


def sense_pairs(synsets: list[Synset], seed: int = 0) -> list[Pair]:
    """For every word with at least two senses that have examples: for each such sense, its definition with
    its first example (label 1) and with the first example of another sense of the word, drawn at random
    (label 0). Each synset is used by the first of its words that has two such senses, so that a definition
    appears under one word only. Deterministic in ``seed``."""
    by_word: dict[str, list[Synset]] = {}
    for s in synsets:
        if s.examples and s.definition:
            for w in s.words:
                by_word.setdefault(w, []).append(s)
    rng = random.Random(seed)
    used: set[tuple[str, int]] = set()
    pairs = []
    for word in sorted(by_word):
        senses = [s for s in by_word[word] if (s.pos, s.offset) not in used]
        if len(senses) < 2:
            continue
        used.update((s.pos, s.offset) for s in senses)
        for i, s in enumerate(senses):
            other = senses[rng.choice([j for j in range(len(senses)) if j != i])]
            pairs.append(Pair(word, s.definition, s.examples[0], 1))
            pairs.append(Pair(word, s.definition, other.examples[0], 0))
    return pairs


def split_by_word(pairs: list[Pair], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs: the words shuffled with ``seed``, the first ``val_fraction`` of them
    (by count of words) to validation; the pairs of a word stay together."""
    words = sorted({p.word for p in pairs})
    random.Random(seed).shuffle(words)
    val = set(words[: round(val_fraction * len(words))])
    return [p for p in pairs if p.word not in val], [p for p in pairs if p.word in val]


def word_pairs(synsets: list[Synset], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs of the word task: for every synset with a definition and an example, under
    its first word, ``"word: definition"`` with its first example (label 1) and with the first example of a
    random synset of another word of the same split (label 0). Words are split as in :func:`split_by_word`
    before the negatives are drawn, so no sentence is in both splits. Deterministic in ``seed``."""
    senses = [s for s in synsets if s.examples and s.definition and s.words]
    words = sorted({s.words[0] for s in senses})
    random.Random(seed).shuffle(words)
    val = set(words[: round(val_fraction * len(words))])
    rng = random.Random(seed)
    out = []
    for part in ([s for s in senses if s.words[0] not in val], [s for s in senses if s.words[0] in val]):
        pairs = []
        for s in part:
            others = [t for t in (part[rng.randrange(len(part))] for _ in range(100)) if t.words[0] != s.words[0]]
            if not others:
                raise ValueError(f"val_fraction: a split with only the word {s.words[0]!r} has no negatives")
            other = others[0]
            first = f"{s.words[0]}: {s.definition}"
            pairs += [Pair(s.words[0], first, s.examples[0], 1), Pair(s.words[0], first, other.examples[0], 0)]
        out.append(pairs)
    return out[0], out[1]


def order_pairs(synsets: list[Synset], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs of the order task: for every synset with a definition and an example, under
    its first word, (definition, first example) with label 1 and (first example, definition) with label 0;
    split by word as in :func:`split_by_word`."""
    pairs = []
    for s in synsets:
        if s.examples and s.definition and s.words:
            pairs += [
                Pair(s.words[0], s.definition, s.examples[0], 1),
                Pair(s.words[0], s.examples[0], s.definition, 0),
            ]
    return split_by_word(pairs, val_fraction, seed)


def lexical_rule(pairs: list[Pair], letters: int = 5) -> float:
    """Accuracy on ``pairs`` of the rule "label 1 if the first ``letters`` letters of the pair's word occur in the
    second sentence" (case-folded; underscores of multi-word entries read as spaces): how much of the word task a
    model could solve by matching tokens alone."""
    if not pairs:
        raise ValueError("pairs: must not be empty")
    hit = [(p.word.replace("_", " ").lower()[:letters] in p.second.lower()) == bool(p.label) for p in pairs]
    return sum(hit) / len(hit)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w'-]+", text.lower()))


def paraphrase_pairs(synsets: list[Synset], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs of the paraphrase task: for every usage example that contains one of its
    synset's words ``w`` (the first such word, as a whole word, case-folded) where ``w`` has a synonym in the
    synset and a word of another of its senses that is not in the synset, the example with the example where
    ``w`` is replaced by a random such synonym (label 1) and by a random such other-sense word (label 0). The
    examples are shuffled with ``seed`` and the first ``val_fraction`` of them go to validation, the two pairs of
    an example together (a split by example). Deterministic in ``seed``."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction: must be in (0, 1), got {val_fraction!r}")
    by_word: dict[str, list[Synset]] = {}
    for s in synsets:
        for w in s.words:
            by_word.setdefault(w, []).append(s)
    rng, examples = random.Random(seed), []
    for s in synsets:
        for ex in s.examples:
            for w in s.words:
                hit = re.search(r"\b" + re.escape(w) + r"\b", ex, re.IGNORECASE)
                same = sorted({x for x in s.words if x != w})
                other = sorted({x for t in by_word[w] if t != s for x in t.words if x != w and x not in s.words})
                if hit and same and other:
                    examples.append((w, ex, hit.span(), same, other))
                    break
    rng.shuffle(examples)
    n_val, out = round(val_fraction * len(examples)), ([], [])
    for i, (w, ex, (a, b), same, other) in enumerate(examples):
        for label, pool in ((1, same), (0, other)):
            out[i >= n_val].append(Pair(w, ex, ex[:a] + rng.choice(pool) + ex[b:], label))
    return out[1], out[0]


def replacement(pair: Pair) -> str:
    """The words of the pair's second sentence that are not in its first (the replacing word), sorted, joined."""
    return " ".join(sorted(_words(pair.second) - _words(pair.first)))


def paraphrase_rules(train: list[Pair], val: list[Pair], letters: int = 4) -> dict[str, tuple[float, float]]:
    """Training and validation accuracy of the simplest lexical rules on the paraphrase task, which read the
    words and nothing of their meaning: ``"majority"`` (the training set's commoner label for every pair),
    ``"prefix"`` (1 when the replacing word shares its first ``letters`` letters with the replaced one:
    spelling variants and derived forms), and ``"lookup"`` (the replacing word's commoner label in the training
    pairs; the training majority for a word not seen there, and on a tie)."""
    if not train or not val:
        raise ValueError(f"train, val: must not be empty, got {len(train)} and {len(val)} pairs")
    ones = sum(p.label for p in train)
    major = int(2 * ones > len(train))
    tally: dict[str, int] = {}
    for p in train:
        tally[replacement(p)] = tally.get(replacement(p), 0) + (1 if p.label else -1)
    rules = {
        "majority": lambda p: major,
        "prefix": lambda p: int(replacement(p)[:letters] == p.word.lower()[:letters]),
        "lookup": lambda p: int(tally[replacement(p)] > 0) if tally.get(replacement(p), 0) else major,
    }
    return {
        name: tuple(sum(rule(p) == p.label for p in split) / len(split) for split in (train, val))
        for name, rule in rules.items()
    }
