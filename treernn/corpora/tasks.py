"""Tasks: a corpus turned into labeled trees for training (class ids on the nodes).

Every task gives :class:`Dataset`: splits of :class:`~treernn.trees.Tree` objects whose node
labels are class ids (``int``) or None (unlabeled). The root label is the sentence label.

- ``sst``: the Stanford Sentiment Treebank, 5 classes or binary, every phrase labeled; with
  ``dependency=True`` the sentences are re-parsed by spaCy (Child-Sum Tree-LSTM on
  dependency trees, as Tai et al. 2015). Binary with ``neutral_phrases=True`` (Tai et al.'s
  code): neutral-root sentences are dropped, but neutral phrases keep a third class
  (negative 0, positive 1, neutral 2) so that they still train the model; a sentence is
  predicted as the likelier of negative and positive;
- ``ambiguity-arith``, ``ambiguity-attach``, ``ambiguity-zh``: the bundled structural-ambiguity corpus
  (``corpora/ambiguity``, installed as package data), one example per parse, only the root labeled;
- ``trees:DIR`` (formerly ``tsv:DIR``, still read, with a note): any directory with
  ``train.tsv``, ``dev.tsv``, ``test.tsv`` in the labeled-tree format (label<TAB>(tree) per
  line), only the root labeled;
- ``sick``, ``pairs:PATH``: sentence pairs with a relatedness score or a label
  (:mod:`treernn.corpora.pairs`);
- ``text:PATH``: the user's labeled texts (CSV, TSV, JSON lines), parsed by spaCy and cached
  (:mod:`treernn.corpora.texts`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from treernn import storage
from treernn.corpora.dataset import Dataset
from treernn.corpora.labeled import read_labeled_trees
from treernn.corpora.pairs import load_pair_task
from treernn.corpora.sst import load_sst, sst_cache_dir
from treernn.corpora.table import looks_like_tree_file
from treernn.corpora.texts import TextOptions, load_text_task, text_tree
from treernn.errors import CorpusError, TreernnError
from treernn.parsing import SpacyParser
from treernn.resources import ambiguity_dir
from treernn.trees import Tree, unescape_token

AMBIGUITY_DIR = ambiguity_dir()
TASKS = ("sst", "ambiguity-arith", "ambiguity-attach", "ambiguity-zh", "sick", "trees:DIR", "text:PATH", "pairs:PATH")


@dataclass(frozen=True)
class Phrase:
    """One labeled phrase of a tree as a sentence of its own (a training item of a sequence
    model with ``data.phrases``): its tokens and its class id. Has ``tokens()`` and ``label``
    as a :class:`~treernn.trees.Tree` does, so sequence batching takes either."""

    words: tuple[str, ...]
    label: int

    def tokens(self) -> list[str]:
        return list(self.words)

    def __len__(self) -> int:
        return len(self.words)


def labeled_phrases(trees: list[Tree]) -> list[Phrase]:
    """Every labeled node of ``trees`` as a :class:`Phrase`, each distinct (tokens, label) pair
    once, in order of first occurrence (deterministic), as Li et al. (2015) trained sequence
    models on SST's phrases. SST's 8,544 training trees give 318,582 labeled phrases, 159,274
    distinct ones (1,136,024 tokens), against 163,563 tokens in the sentences."""
    seen: dict[Phrase, None] = {}
    for tree in trees:
        for node in tree.postorder():
            if node.label is not None:
                seen.setdefault(Phrase(tuple(node.tokens()), node.label), None)
    return list(seen)


def _root_labeled(tree: Tree, label: int) -> Tree:
    """A copy of ``tree`` with every node unlabeled but the root, which gets ``label``."""
    out = tree.map(label=lambda _: None)
    out.label = label
    return out


def load_tsv_task(directory: Path, name: str, label_names: Optional[list[str]] = None,
                  skip_bad: bool = False) -> Dataset:
    """A labeled-tree TSV directory (``train.tsv``, ``dev.tsv``, ``test.tsv``, optional
    ``*.meta.tsv`` with ambiguity counts, other ``*.tsv`` files as extra test splits)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(f"corpus directory not found: {directory}")
    files = {p.name[:-4]: p for p in sorted(directory.glob("*.tsv")) if not p.name.endswith(".meta.tsv")}
    missing = [s for s in ("train", "dev", "test") if s not in files]
    if missing:
        raise CorpusError(f"{directory} has no {', '.join(s + '.tsv' for s in missing)}")
    raw = {}
    for split, path in files.items():
        if path.stat().st_size and not looks_like_tree_file(path):
            raise CorpusError(f"{path}:1: does not look like a labeled-tree file (label<TAB>(tree) per line); "
                              f"a table of plain texts is read with --corpus text:{path}")
        raw[split] = read_labeled_trees(path, skip_bad=skip_bad).items
    if label_names is None:
        label_names = sorted({item.label for items in raw.values() for item in items},
                             key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    index = {name: i for i, name in enumerate(label_names)}
    splits, ambiguous = {}, {}
    for split, items in raw.items():
        unknown = sorted({it.label for it in items} - set(index))
        if unknown:
            raise CorpusError(f"{files[split]}: labels {unknown} do not occur in train/dev/test")
        splits[split] = [_root_labeled(it.tree, index[it.label]) for it in items]
        meta = directory / f"{split}.meta.tsv"
        if meta.exists() and not skip_bad:
            flags = [int(line.split("\t")[2]) > 1 for line in meta.read_text().splitlines() if line]
            if len(flags) != len(items):
                raise CorpusError(f"{meta} has {len(flags)} lines for {len(items)} examples")
            ambiguous[split] = flags
    ordered = {s: splits[s] for s in ("train", "dev", "test")}
    ordered.update({s: t for s, t in splits.items() if s not in ordered})
    return Dataset(name, label_names, ordered, ambiguous)


def dependency_versions(trees: list[Tree], parser=None) -> list[Tree]:
    """spaCy dependency trees over the same tokens as ``trees``, labeled from them.

    Each sentence is parsed as one sentence from its own tokens (PTB escapes undone for the
    parser, the original tokens kept in the result). A dependency node takes the label of the
    phrase of ``trees`` with exactly its span; nodes whose span is no phrase are unlabeled.
    """
    parser = parser or SpacyParser(one_tree_per_text=True)
    token_lists = [t.tokens() for t in trees]
    parsed = parser.parse([[unescape_token(tok) for tok in toks] for toks in token_lists])
    out = []
    for tree, dep, toks in zip(trees, parsed, token_lists):
        phrase_label = {}
        for node, span in zip(tree.postorder(), tree.spans()):
            if node.label is not None:
                phrase_label.setdefault(span, node.label)
        for node, span in zip(dep.postorder(), dep.spans()):
            node.label = phrase_label.get(span)
            node.token = toks[node.index]
        dep.label = tree.label  # the root is the sentence
        out.append(dep)
    return out


def cached_dependency_versions(trees: list[Tree], processes: int = 1) -> list[Tree]:
    """:func:`dependency_versions`, cached as JSON lines in the user cache directory (keyed
    by the sentences, their labels and the spaCy pipeline), since parsing takes minutes."""
    parser = SpacyParser(one_tree_per_text=True, n_process=processes)  # nlp.pipe(n_process=...)
    meta = parser.nlp.meta
    key = hashlib.sha1(f"{meta.get('name')}-{meta.get('version')}".encode())
    for tree in trees:
        key.update(repr((tree.tokens(), tree.labels())).encode())
    cache = sst_cache_dir().parent / "dependency" / f"{key.hexdigest()[:20]}.jsonl"
    if cache.exists():
        try:
            return [Tree.from_dict(json.loads(line)) for line in cache.read_text().splitlines()]
        except (ValueError, OSError):
            pass  # a damaged cache is rebuilt below
    out = dependency_versions(trees, parser)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        storage.atomic_write_bytes(cache, "".join(json.dumps(t.to_dict()) + "\n" for t in out).encode())
    except (OSError, TreernnError):
        pass  # caching is an optimisation; an unwritable cache only costs time
    return out


def shaped_tree(tree: Tree, shape: str) -> Tree:
    """A ``balanced``, ``left``- or ``right``-branching tree over ``tree``'s tokens with its root
    label only (Shi et al. 2018's controls: hierarchy without syntax)."""
    out = text_tree([tree], shape)
    out.label = tree.label
    return out


def _binary_with_neutral(tree: Tree) -> Tree:
    """Fine-grained labels -> negative 0, positive 1, neutral 2 (phrases only), in place."""
    for node in tree.postorder():
        if node.label is not None:
            node.label = (0, 0, 2, 1, 1)[node.label]
    return tree


def load_task(corpus: str, path: Optional[str] = None, classes: int = 5,
              skip_bad: bool = False, dependency: bool = False,
              neutral_phrases: bool = False, parse_processes: int = 1,
              text: Optional[TextOptions] = None, log: Callable[[str], None] = print,
              target: str = "relatedness", score_range: str = "1,5") -> Dataset:
    """The :class:`Dataset` of a corpus name (see the module docstring); ``text``: how to read
    a ``text:PATH`` or pair corpus (default :class:`~treernn.corpora.texts.TextOptions`);
    ``target``, ``score_range``: pair corpora (:mod:`treernn.corpora.pairs`)."""
    if corpus == "sick" or corpus.startswith("pairs:"):
        return load_pair_task(corpus, target, text or TextOptions(skip_bad=skip_bad), path, score_range, log)
    if corpus.startswith("text:"):
        return load_text_task(corpus[5:], text or TextOptions(skip_bad=skip_bad), log)
    if corpus.startswith("trees:"):
        return load_tsv_task(Path(corpus[6:]), corpus, skip_bad=skip_bad)
    if corpus == "sst":
        three_way = classes == 2 and neutral_phrases
        sst = load_sst(path, classes=5 if three_way else classes, skip_bad=skip_bad)
        names = (["very negative", "negative", "neutral", "positive", "very positive"]
                 if classes == 5 else ["negative", "positive"])
        splits = dict(sst.splits())
        if dependency:  # parsed (and cached) from the fine-grained trees for both tasks
            splits = {name: cached_dependency_versions(trees, parse_processes) for name, trees in splits.items()}
        shape = text.trees if text is not None else "parsed"
        if shape != "parsed":  # structure controls: the same tokens and sentence label, a tree without syntax
            splits = {name: [shaped_tree(t, shape) for t in trees] for name, trees in splits.items()}
        name = f"sst-{classes}" + ("-dep" if dependency else "") + ("" if shape == "parsed" else f"-{shape}")
        if three_way:
            splits = {split: [_binary_with_neutral(t) for t in trees if t.label != 2]
                      for split, trees in splits.items()}
            return Dataset(name, names + ["neutral"], splits, sentence_classes=2)
        return Dataset(name, names, splits)
    if corpus in ("ambiguity-arith", "ambiguity-attach", "ambiguity-zh"):
        base = Path(path) if path else AMBIGUITY_DIR
        return load_tsv_task(base / corpus.split("-", 1)[1], corpus, skip_bad=skip_bad)
    if corpus.startswith("tsv:"):
        log(f"note: --corpus tsv:DIR is now spelled trees:DIR (labeled bracketed trees); plain texts "
            f"are read with --corpus text:PATH")
        return load_tsv_task(Path(corpus[4:]), corpus, skip_bad=skip_bad)
    raise CorpusError(f"unknown corpus {corpus!r}; known: {', '.join(TASKS)}")
