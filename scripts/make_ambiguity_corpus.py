#!/usr/bin/env python
"""Generate the structural-ambiguity corpora (corpora/ambiguity), deterministically.

Usage::

    .venv/bin/python scripts/make_ambiguity_corpus.py [--out corpora/ambiguity] [--seed 0]

Two sub-corpora, each split into labeled-tree TSV files (``label<TAB>(tree)``, read with
:func:`treernn.corpora.read_labeled_trees`), one line per *parse*:

- ``arith``: "two plus three times four" under ``corpora/grammars/arith.cfg``
  (``E -> E OP E | NUM``); the label is the value of the expression under that parse, mod 10.
- ``attach``: prepositional-phrase attachment ("she saw the man with the telescope": label
  ``verb`` or ``noun``) and what a number counts in a noun compound ("two language school
  students": label ``head`` = students or ``modifier`` = schools) under
  ``corpora/grammars/attach.cfg``; the label is read off each tree.

Beside every ``<split>.tsv`` a ``<split>.meta.tsv`` has one line per example (same line
numbers, no header): ``sentence<TAB>parses<TAB>labels`` - the sentence's index in the split,
how many parses the sentence has under the grammar, and how many distinct labels those parses
have. A sentence is *ambiguous* when ``labels > 1``.

The same seed gives the same bytes on every run and platform: sentences are drawn with
:class:`random.Random`, the parses of a sentence are sorted into a canonical order, and no
set or dict iteration order reaches the output. The script prints the table of sizes that
corpora/ambiguity/README.md quotes.

Speed: the parses of a sentence depend only on its sequence of parts of speech when every word
has exactly one part of speech and appears only in a rule ``X -> 'word'`` (true of both
grammars). :class:`ParseCache` therefore chart-parses one sentence per part-of-speech pattern
with :class:`treernn.parsing.CFGParser` and puts the words of every other sentence with that
pattern into copies of its trees; tests/corpora/test_ambiguity_corpus.py checks the result against
parsing each sentence directly.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn.corpora import write_labeled_trees
from treernn.parsing import CFGParser, quantified_span
from treernn.trees import Tree, to_ptb

ROOT = Path(__file__).resolve().parents[1]
GRAMMARS = ROOT / "corpora" / "grammars"
DEFAULT_OUT = ROOT / "corpora" / "ambiguity"

Tokens = tuple[str, ...]


# ------------------------------------------------------------------------------- parsing
def relexicalize(tree: Tree, tokens: Sequence[str]) -> Tree:
    """A copy of a phrase-structure ``tree`` whose leaves carry ``tokens``, left to right."""
    built: dict[int, Tree] = {}
    i = 0
    for node in tree.postorder():  # post-order visits the leaves left to right
        if not node.children:
            built[id(node)] = Tree(node.label, token=tokens[i])
            i += 1
        else:
            built[id(node)] = Tree(node.label, [built.pop(id(c)) for c in node.children])
    if i != len(tokens):
        raise ValueError(f"tree has {i} leaves, got {len(tokens)} tokens")
    return built[id(tree)]


def _skeleton(tree: Tree) -> str:
    """The bracketing of ``tree`` with every token replaced by ``x`` (a token-free sort key)."""
    return to_ptb(relexicalize(tree, ["x"] * len(tree.leaves())))


class ParseCache:
    """Every parse of a sentence under a grammar, in a canonical order, parsed once per pattern.

    Args:
        grammar: path of an NLTK CFG file whose words each have exactly one part of speech
            and appear only in rules ``X -> 'word'``.

    ``parses(tokens)`` returns the trees of :class:`~treernn.parsing.CFGParser` sorted by
    their token-free bracketing. Sentences with the same part-of-speech sequence share one
    chart parse (their trees differ only in the words).
    """

    def __init__(self, grammar: Path) -> None:
        self.parser = CFGParser(grammar)
        self.pos: dict[str, str] = {}
        for prod in self.parser.grammar.productions():
            rhs = prod.rhs()
            if any(isinstance(sym, str) for sym in rhs):
                word = rhs[0]
                if len(rhs) != 1 or word in self.pos:
                    raise ValueError(
                        f"{grammar}: {word!r} must appear in exactly one rule X -> '{word}'"
                    )
                self.pos[word] = str(prod.lhs())
        self._templates: dict[tuple[str, ...], list[Tree]] = {}

    def templates(self, tokens: Sequence[str]) -> list[Tree]:
        """The parses of the first sentence seen with the part-of-speech pattern of ``tokens``
        (their leaves carry that sentence's words: use :func:`relexicalize`)."""
        key = tuple(self.pos.get(t, "?" + t) for t in tokens)
        if key not in self._templates:
            trees = self.parser.parse_each([list(tokens)])[0]
            self._templates[key] = sorted(trees, key=_skeleton)
        return self._templates[key]

    def parses(self, tokens: Sequence[str]) -> list[Tree]:
        """Every parse of ``tokens``, in canonical order."""
        return [relexicalize(t, tokens) for t in self.templates(tokens)]


# --------------------------------------------------------------------------- the examples
@dataclass
class Sentence:
    """One sentence of a split and the parses kept as its examples."""

    tokens: Tokens
    trees: list[Tree]  # the parses written (all of them, or a sample: see max_parses)
    labels: list[str]  # the label of each written parse
    n_parses: int  # parses under the grammar
    n_labels: int  # distinct labels over all parses

    @property
    def ambiguous(self) -> bool:
        return self.n_labels > 1


def make_sentence(
    cache: ParseCache,
    tokens: Tokens,
    label_of: Callable[[Tree, Sequence[str]], str],
    rng: random.Random,
    max_parses: Optional[int] = None,
) -> Sentence:
    """Parse ``tokens``, label every parse, keep all parses or a seeded sample of ``max_parses``."""
    templates = cache.templates(tokens)
    labels = [label_of(t, tokens) for t in templates]  # labels of the word-substituted trees
    keep = list(range(len(templates)))
    if max_parses is not None and len(keep) > max_parses:
        keep = sorted(rng.sample(keep, max_parses))
    return Sentence(
        tokens,
        [relexicalize(templates[i], tokens) for i in keep],
        [labels[i] for i in keep],
        len(templates),
        len(set(labels)),
    )


def write_split(directory: Path, split: str, sentences: Sequence[Sentence]) -> None:
    """``<split>.tsv`` (one line per kept parse) and ``<split>.meta.tsv`` beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    items = [(label, tree) for s in sentences for label, tree in zip(s.labels, s.trees)]
    write_labeled_trees(directory / f"{split}.tsv", items)
    meta = "".join(
        f"{sid}\t{s.n_parses}\t{s.n_labels}\n" for sid, s in enumerate(sentences) for _ in s.trees
    )
    (directory / f"{split}.meta.tsv").write_bytes(meta.encode("utf-8"))


# ---------------------------------------------------------------------------------- arith
NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
OPERATORS = {"plus": int.__add__, "minus": int.__sub__, "times": int.__mul__}

#: Sentences per split by number of operators. Only 300 sentences have one operator.
ARITH_SPLITS: dict[str, dict[int, int]] = {
    "train": {1: 240, 2: 2000, 3: 1200, 4: 560},
    "dev": {1: 20, 2: 250, 3: 160, 4: 70},
    "test": {1: 40, 2: 500, 3: 320, 4: 140},
    "test_long": {5: 250, 6: 250},
}
#: test_long keeps a seeded sample of this many parses per sentence (6 operators: 132 parses).
LONG_MAX_PARSES = 8


def arith_value(tree: Tree, tokens: Optional[Sequence[str]] = None) -> int:
    """The value of an ``arith.cfg`` parse (not binarized); ``tokens`` replace its words."""
    value: dict[int, object] = {}
    i = 0
    for node in tree.postorder():
        if not node.children:
            word = tokens[i] if tokens is not None else node.token
            i += 1
            value[id(node)] = NUMBERS[word] if word in NUMBERS else OPERATORS[word]
            continue
        kids = [value.pop(id(c)) for c in node.children]
        if len(kids) == 1:  # E -> NUM
            value[id(node)] = kids[0]
        else:  # E -> E OP E
            left, op, right = kids
            value[id(node)] = op(left, right)  # type: ignore[operator]
    return value[id(tree)]  # type: ignore[return-value]


def arith_label(tree: Tree, tokens: Optional[Sequence[str]] = None) -> str:
    """The label of an ``arith`` parse: its value mod 10 (Python's ``%``: 0..9)."""
    return str(arith_value(tree, tokens) % 10)


def _expression(rng: random.Random, n_ops: int) -> Tokens:
    words, ops = sorted(NUMBERS, key=NUMBERS.get), list(OPERATORS)
    tokens = [rng.choice(words)]
    for _ in range(n_ops):
        tokens += [rng.choice(ops), rng.choice(words)]
    return tuple(tokens)


def make_arith(seed: int = 0, grammar: Path = GRAMMARS / "arith.cfg") -> dict[str, list[Sentence]]:
    """The ``arith`` splits: distinct sentences everywhere (no sentence in two splits)."""
    rng = random.Random(f"arith:{seed}")
    cache = ParseCache(grammar)
    words, ops = sorted(NUMBERS, key=NUMBERS.get), list(OPERATORS)
    one_op = [(a, op, b) for a in words for op in ops for b in words]
    rng.shuffle(one_op)
    seen: set[Tokens] = set()
    splits: dict[str, list[Sentence]] = {}
    for split, counts in ARITH_SPLITS.items():
        max_parses = LONG_MAX_PARSES if split == "test_long" else None
        token_lists: list[Tokens] = []
        for n_ops, count in counts.items():
            chosen: list[Tokens] = []
            while len(chosen) < count:
                tokens = one_op.pop() if n_ops == 1 else _expression(rng, n_ops)
                if tokens not in seen:
                    seen.add(tokens)
                    chosen.append(tokens)
            token_lists += chosen
        rng.shuffle(token_lists)
        splits[split] = [make_sentence(cache, t, arith_label, rng, max_parses) for t in token_lists]
    return splits


# --------------------------------------------------------------------------------- attach
SUBJECTS = ["I", "she", "he", "we", "they"]
OBJECT_PRONOUNS = ["him", "them", "us", "me"]
DETERMINERS = ["the", "a", "my", "our", "this", "that"]
VERBS = ["saw", "watched", "noticed", "photographed", "followed", "met", "helped", "visited",
         "thanked", "called"]
PREPOSITIONS = ["with", "near", "behind", "beside", "under"]
PEOPLE = ["man", "woman", "dog", "girl", "boy", "cat", "thief", "stranger", "farmer", "pilot"]
THINGS = ["telescope", "hat", "camera", "umbrella", "scarf", "book", "map", "flag"]
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
MODIFIERS = ["language", "music", "art", "science", "chess", "dance", "math", "film"]
INSTITUTIONS = ["school", "club", "class", "camp", "team"]
MEMBERS = ["students", "teachers", "members", "fans", "coaches", "volunteers"]

#: Sentences per split.
ATTACH_SPLITS = {"train": 2000, "dev": 250, "test": 500}

#: The sentence patterns and how often each is drawn. All but the *_only ones are ambiguous.
ATTACH_PATTERNS = [
    ("pp", 0.40),  # SUBJ V Det N P Det N: verb or noun attachment
    ("pp_verb_only", 0.05),  # SUBJ V Pro P Det N: a pronoun takes no PP, so verb only
    ("pp_noun_only", 0.05),  # Det N P Det N V Det N: a PP on the subject, so noun only
    ("number", 0.40),  # Num [N] N N as subject or object: head or modifier
    ("number_head_only", 0.10),  # Num N: the number counts the only noun
]


def attach_label(tree: Tree, tokens: Optional[Sequence[str]] = None) -> str:
    """The label of an ``attach`` parse, read off the tree.

    ``verb`` / ``noun``: the nearest labeled ancestor of the PP is a VP / an NP.
    ``head`` / ``modifier``: the nearest labeled ancestor of the number (Num) is the NP
    (it counts the compound's head noun) / a QNP (it counts the modifier's noun).
    Unlabeled nodes (from :func:`~treernn.trees.binarize`) are skipped, so binarized trees
    give the same label.
    """
    stack: list[tuple[Tree, Optional[str]]] = [(tree, None)]
    while stack:
        node, ancestor = stack.pop()
        if node.label == "PP":
            return {"VP": "verb", "NP": "noun"}[ancestor]  # type: ignore[index]
        if node.label == "Num":
            return {"NP": "head", "QNP": "modifier"}[ancestor]  # type: ignore[index]
        below = node.label if node.label is not None else ancestor
        stack.extend((c, below) for c in reversed(node.children))
    raise ValueError(f"no PP and no Num in {to_ptb(tree)}")


def _attach_sentence(rng: random.Random, pattern: str) -> Tokens:
    c = rng.choice

    def subject() -> list[str]:
        return [c(SUBJECTS)] if rng.random() < 0.5 else [c(DETERMINERS), c(PEOPLE)]

    if pattern == "pp":
        return tuple(subject() + [c(VERBS), c(DETERMINERS), c(PEOPLE), c(PREPOSITIONS),
                                  c(DETERMINERS), c(THINGS)])
    if pattern == "pp_verb_only":
        return tuple(subject() + [c(VERBS), c(OBJECT_PRONOUNS), c(PREPOSITIONS),
                                  c(DETERMINERS), c(THINGS)])
    if pattern == "pp_noun_only":
        return (c(DETERMINERS), c(PEOPLE), c(PREPOSITIONS), c(DETERMINERS), c(THINGS),
                c(VERBS), c(DETERMINERS), c(PEOPLE))
    if pattern == "number":
        np = [c(NUMBER_WORDS)] + ([c(MODIFIERS)] if rng.random() < 0.5 else [])
        np += [c(INSTITUTIONS), c(MEMBERS)]
    elif pattern == "number_head_only":
        np = [c(NUMBER_WORDS), c(MEMBERS)]
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    if rng.random() < 0.5:  # the number phrase as object or as subject
        return tuple(subject() + [c(VERBS)] + np)
    return tuple(np + [c(VERBS), c(DETERMINERS), c(PEOPLE)])


def make_attach(seed: int = 0, grammar: Path = GRAMMARS / "attach.cfg") -> dict[str, list[Sentence]]:
    """The ``attach`` splits: distinct sentences everywhere (no sentence in two splits)."""
    rng = random.Random(f"attach:{seed}")
    cache = ParseCache(grammar)
    names = [name for name, _ in ATTACH_PATTERNS]
    weights = [w for _, w in ATTACH_PATTERNS]
    seen: set[Tokens] = set()
    splits: dict[str, list[Sentence]] = {}
    for split, count in ATTACH_SPLITS.items():
        sentences = []
        while len(sentences) < count:
            tokens = _attach_sentence(rng, rng.choices(names, weights)[0])
            if tokens not in seen:
                seen.add(tokens)
                sentences.append(make_sentence(cache, tokens, attach_label, rng))
        splits[split] = sentences
    return splits


# ------------------------------------------------------------------------------------- zh
ZH_NUMERALS = ["两", "三", "四", "五", "六", "七", "八", "九", "十"]
ZH_FIELDS = ["外语", "音乐", "美术", "体育", "医学", "法律", "数学", "历史"]  # Nm: N1, the field
ZH_INSTITUTIONS = ["学院", "学校", "大学", "中学", "医院"]  # Ni: N2
ZH_PEOPLE = ["学生", "老师", "教授", "校友", "学者", "代表"]  # Np: N3
ZH_PERSON_MEASURES = ["名", "位"]

#: Phrases per split.
ZH_SPLITS = {"train": 1500, "dev": 200, "test": 400}
#: Noun combinations (N1 or none, N2 or none, N3 or none) per split: the test phrases use
#: combinations no training or dev phrase has (their words are all seen in training).
ZH_COMBINATION_SHARES = {"train": 0.7, "dev": 0.1, "test": 0.2}

#: The phrase patterns and how often each is drawn. ``amb`` and ``amb_short`` are ambiguous.
ZH_PATTERNS = [
    ("amb", 0.45),  # NUM 个 N1 N2 的 N3: the founding pattern, 两个外语学院的学生
    ("amb_short", 0.15),  # NUM 个 N2 的 N3: 两个学院的学生
    ("institutions_only", 0.1),  # NUM 所 [N1] N2 的 N3: 所 counts institutions
    ("people_only", 0.1),  # NUM 名|位 [N1] N2 的 N3: 名, 位 count people
    ("bare", 0.2),  # NUM 个 [N1] N2 or NUM 个 [N1] N3: one noun to count
]


def zh_label(tree: Tree, tokens: Optional[Sequence[str]] = None) -> str:
    """What the numeral counts in a ``zh.cfg`` parse: ``institutions`` when the phrase the
    quantifier (QP, QPI, QPP) opens ends in an institution noun (Ni), ``people`` when it ends
    in a person noun (Np). Unlabeled nodes (binarized trees) are looked through."""
    leaves = tokens if tokens is not None else tree.tokens()
    span = quantified_span(tree)
    if span is None:
        raise ValueError(f"no quantifier in {to_ptb(tree)}")
    return "institutions" if leaves[span[1] - 1] in ZH_INSTITUTIONS else "people"


def _zh_combinations() -> list[tuple]:
    """Every (N1 or None, N2 or None, N3 or None) the patterns use."""
    fields = [None] + ZH_FIELDS
    out = [(f, i, p) for f in fields for i in ZH_INSTITUTIONS for p in ZH_PEOPLE]  # ... N2 的 N3
    out += [(f, i, None) for f in fields for i in ZH_INSTITUTIONS]  # NUM 个 [N1] N2
    out += [(f, None, p) for f in fields for p in ZH_PEOPLE]  # NUM 个 [N1] N3
    return out


def _zh_phrase(rng: random.Random, pattern: str, combos: list[tuple]) -> Optional[Tokens]:
    """A phrase of ``pattern`` over a noun combination drawn from ``combos`` (None: the
    drawn combination does not fit the pattern)."""
    field, institution, person = rng.choice(combos)
    num = rng.choice(ZH_NUMERALS)
    head = [field] if field else []
    if pattern == "bare":
        if (institution is None) == (person is None):
            return None
        return tuple([num, "个"] + head + [institution or person])
    if institution is None or person is None:
        return None
    if pattern == "amb" and field is None or pattern == "amb_short" and field is not None:
        return None
    measure = {"amb": "个", "amb_short": "个", "institutions_only": "所"}.get(pattern)
    measure = measure or rng.choice(ZH_PERSON_MEASURES)
    return tuple([num, measure] + head + [institution, "的", person])


def make_zh(seed: int = 0, grammar: Path = GRAMMARS / "zh.cfg") -> dict[str, list[Sentence]]:
    """The ``zh`` splits: distinct phrases everywhere; each split's phrases from its own noun
    combinations (:data:`ZH_COMBINATION_SHARES`)."""
    rng = random.Random(f"zh:{seed}")
    cache = ParseCache(grammar)
    combos = _zh_combinations()
    rng.shuffle(combos)
    cut1 = round(ZH_COMBINATION_SHARES["train"] * len(combos))
    cut2 = cut1 + round(ZH_COMBINATION_SHARES["dev"] * len(combos))
    parts = {"train": combos[:cut1], "dev": combos[cut1:cut2], "test": combos[cut2:]}
    names, weights = [n for n, _ in ZH_PATTERNS], [w for _, w in ZH_PATTERNS]
    seen: set[Tokens] = set()
    splits: dict[str, list[Sentence]] = {}
    for split, count in ZH_SPLITS.items():
        sentences: list[Sentence] = []
        while len(sentences) < count:
            tokens = _zh_phrase(rng, rng.choices(names, weights)[0], parts[split])
            if tokens is not None and tokens not in seen:
                seen.add(tokens)
                sentences.append(make_sentence(cache, tokens, zh_label, rng))
        splits[split] = sentences
    return splits


# ----------------------------------------------------------------------------------- main
def stats_table(corpora: dict[str, dict[str, list[Sentence]]]) -> str:
    """The Markdown table of sizes quoted in corpora/ambiguity/README.md."""
    rows = [
        "| corpus | split | sentences | examples | ambiguous sentences | ambiguous examples | labels |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, splits in corpora.items():
        for split, sentences in splits.items():
            n_ex = sum(len(s.trees) for s in sentences)
            amb_s = sum(s.ambiguous for s in sentences)
            amb_ex = sum(len(s.trees) for s in sentences if s.ambiguous)
            counts: dict[str, int] = {}
            for s in sentences:
                for label in s.labels:
                    counts[label] = counts.get(label, 0) + 1
            labels = " ".join(f"{k}:{counts[k]}" for k in sorted(counts))
            rows.append(
                f"| {name} | {split} | {len(sentences)} | {n_ex} | "
                f"{amb_s} ({amb_s / len(sentences):.1%}) | {amb_ex} ({amb_ex / n_ex:.1%}) | {labels} |"
            )
    return "\n".join(rows) + "\n"


def generate(out: Path = DEFAULT_OUT, seed: int = 0) -> dict[str, dict[str, list[Sentence]]]:
    """Write ``out/arith/*``, ``out/attach/*`` and ``out/zh/*``; return the sentences of every split."""
    corpora = {"arith": make_arith(seed), "attach": make_attach(seed), "zh": make_zh(seed)}
    for name, splits in corpora.items():
        for split, sentences in splits.items():
            write_split(Path(out) / name, split, sentences)
    return corpora


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output directory (default: corpora/ambiguity of this repository)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0: the bundled corpus)")
    args = ap.parse_args(argv)
    corpora = generate(args.out, args.seed)
    print(f"wrote {args.out}")
    print(stats_table(corpora), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
