"""Users' labeled texts as a task: read (:mod:`treernn.corpora.table`), split, parse once
(:mod:`treernn.corpora.parse_cache`) and turned into the trees every model reads.

``--corpus text:PATH``: PATH is a CSV, TSV or JSON-lines file, or a directory with ``train``,
``dev`` and ``test`` files of one of those formats. One item is a text and its label; the
class set is the training file's labels (integers in numeric order, else names in
alphabetical order). A single file is split into train, dev and test by a seeded stratified
split (``--data.split 0.8,0.1,0.1``, ``--data.split_seed``); each part's item ids are written
to the run directory (``split.json``).

How a text becomes a tree (the same rule in training and in ``treernn classify``):

- ``--data.trees parsed`` (default): spaCy parses the text; each sentence is a dependency tree,
  and a text of several sentences is one tree whose root (no word) has one child per sentence
  (:func:`treernn.trees.join_sentences`). Binary cells read it as a binarized phrase structure
  (the sentences joined left to right), the Child-Sum Tree-LSTM as it is, chain models its
  tokens in order.
- ``balanced``, ``left``, ``right``: a data-independent binary tree over all the text's tokens
  (spaCy's tokenizer only, so a pipeline without a parser works): for languages with no parser,
  and as a control for what the syntax adds.

Only the root carries the label; other nodes are unlabeled (they add nothing to the loss),
unless a JSON-lines item gives labeled phrases: a node whose words are exactly a phrase's takes
its label; phrases that match no node are counted and reported.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn.corpora.dataset import Dataset
from treernn.corpora.parse_cache import parse_texts
from treernn.corpora.table import FORMATS, TextItem, TextItems, looks_like_tree_file, read_text_items
from treernn.errors import ConfigError, CorpusError
from treernn.inputs import DEFAULT_MAX_CHARS, DEFAULT_MAX_TOKENS
from treernn.parsing import TokenParser
from treernn.trees import Tree, balanced_tree, join_sentences, left_branching_tree, right_branching_tree

TREE_KINDS = ("parsed", "balanced", "left", "right")
_BUILDERS = {"balanced": balanced_tree, "left": left_branching_tree, "right": right_branching_tree}
SPLITS = ("train", "dev", "test")


def parse_split(value: object, where: str = "data.split") -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` (or a list of three numbers) as three fractions summing to 1.

    Raises:
        ConfigError: not three numbers, a negative one, no training part, or a sum other than 1.
    """
    parts = value.split(",") if isinstance(value, str) else value
    try:
        fractions = tuple(float(p) for p in parts)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        fractions = ()
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions):
        raise ConfigError(f"{where} must be three fractions train,dev,test, got {value!r}; e.g. 0.8,0.1,0.1")
    if abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"{where} must sum to 1, got {value!r} (sum {sum(fractions):g}); e.g. 0.8,0.1,0.1")
    if fractions[0] <= 0:
        raise ConfigError(f"{where} needs a training part, got {value!r}; e.g. 0.8,0.1,0.1")
    return fractions  # type: ignore[return-value]


@dataclass(frozen=True)
class TextOptions:
    """How to read and shape a text corpus: the ``[data]`` settings that concern it, whose
    defaults are these (:class:`~treernn.training.config.DataConfig` takes them from here).
    ``max_chars`` / ``max_tokens`` None: no limit."""

    format: Optional[str] = None
    text_column: Optional[str] = None
    text_columns: Optional[str] = None  # pair corpora: "A,B" (default "a,b")
    label_column: str = "label"
    encoding: Optional[str] = None
    split: str = "0.8,0.1,0.1"
    split_seed: int = 0
    trees: str = "parsed"
    spacy_pipeline: Optional[str] = None
    parse_processes: int = 1
    skip_bad: bool = False
    max_chars: Optional[int] = DEFAULT_MAX_CHARS
    max_tokens: Optional[int] = DEFAULT_MAX_TOKENS
    cache: bool = True
    progress: bool = True
    label_names: Optional[tuple[str, ...]] = None  # a trained model's classes (evaluate, fine-tune)


def sort_labels(labels: set[str]) -> list[str]:
    """Class names in class-id order: integers numerically when every label is one, else
    alphabetically."""
    try:
        return sorted(labels, key=int)
    except ValueError:
        return sorted(labels)


def stratified_split(labels: Sequence[str], fractions: tuple[float, float, float],
                     seed: int, source: str = "") -> dict[str, list[int]]:
    """Positions of each part (train, dev, test): within each class the items are shuffled
    (``random.Random(seed)``) and cut by ``fractions``, each non-empty part getting at least one
    item of each class; positions are returned in file order.

    Raises:
        CorpusError: a class with fewer items than the parts that need one.
    """
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    parts: dict[str, list[int]] = {s: [] for s in SPLITS}
    needed = sum(1 for f in fractions if f > 0)
    for label in sorted(by_class):
        positions = by_class[label]
        if len(positions) < needed:
            raise CorpusError(
                f"{source}: class {label!r} has {len(positions)} item(s); the stratified split "
                f"{','.join(f'{f:g}' for f in fractions)} needs at least {needed} (one per part): add items, "
                f"merge the class with another, or give train, dev and test files")
        rng.shuffle(positions)
        n = len(positions)
        dev = max(1, round(fractions[1] * n)) if fractions[1] > 0 else 0
        test = max(1, round(fractions[2] * n)) if fractions[2] > 0 else 0
        while dev + test > n - 1 and (dev > 1 or test > 1):  # keep one item for training
            if dev >= test:
                dev -= 1
            else:
                test -= 1
        parts["dev"] += positions[:dev]
        parts["test"] += positions[dev:dev + test]
        parts["train"] += positions[dev + test:]
    return {s: sorted(p) for s, p in parts.items()}


def text_tree(sentences: Sequence[Tree], trees: str = "parsed", keep_labels: bool = False) -> Tree:
    """One text's tree from its parsed sentences (or from one flat tree of its tokens): the
    sentences joined (``parsed``), or a data-independent tree over all its tokens. Node labels
    are removed unless ``keep_labels`` (the parse's categories, for labeling text)."""
    if trees == "parsed":
        tree = join_sentences(list(sentences))
    else:
        tokens = [token for s in sentences for token in s.tokens()]
        tree = _BUILDERS[trees](tokens)
    return tree if keep_labels else tree.map(label=lambda _: None)


def token_limit_problem(sentences: Sequence[Tree], trees: str, limit: Optional[int]) -> Optional[str]:
    """Why a text is over ``--max-tokens``, or None: with parsed trees each sentence counts
    (the longest), with data-independent trees the whole text (one tree over all its tokens).
    The one rule of training, ``classify`` and the server."""
    if limit is None:
        return None
    sizes = [len(s.tokens()) for s in sentences]
    n = max(sizes) if trees == "parsed" else sum(sizes)
    if n <= limit:
        return None
    what = "a sentence" if trees == "parsed" else "a text"
    return f"{what} of {n} tokens, over the limit of {limit} (--max-tokens)"


def _phrase_key(text: str) -> str:
    return "".join(text.split())


def label_phrases(tree: Tree, item: TextItem, index: dict[str, int]) -> int:
    """Give each node whose words are exactly a phrase's (spaces ignored) the phrase's class;
    returns the number of phrases that matched no node."""
    if not item.phrases:
        return 0
    nodes: dict[str, list[Tree]] = {}
    for node in tree.postorder():
        nodes.setdefault(_phrase_key("".join(node.tokens())), []).append(node)
    unmatched = 0
    for phrase in item.phrases:
        text = phrase.text if phrase.text is not None else item.texts[0][phrase.span[0]:phrase.span[1]]
        found = nodes.get(_phrase_key(text))
        if not found:
            unmatched += 1
            continue
        for node in found:
            if node is not tree:  # the root keeps the item's label
                node.label = index[str(phrase.label)]
    return unmatched


def _shape(items: list[TextItem], options: TextOptions, source: str, log: Callable[[str], None]) -> tuple[list[Tree], list[str]]:
    """(one unlabeled tree per item, bad-item messages) for ``items`` of ``source``."""
    texts = [item.texts[0] for item in items]
    name = Path(source).name
    if options.trees == "parsed":
        sentences = parse_texts(texts, options.spacy_pipeline, options.parse_processes, options.cache,
                                options.progress, log, what=name)
    else:
        sentences = TokenParser(options.spacy_pipeline).parse_each(texts)  # the tokenizer alone: fast, not cached
    out, bad = [], []
    for item, sents in zip(items, sentences):
        if not sents:
            bad.append(f"{source}:{item.line}: no tokens in the text")
            out.append(None)
            continue
        problem = token_limit_problem(sents, options.trees, options.max_tokens)
        if problem is not None:
            bad.append(f"{source}:{item.line}: {problem}")
            out.append(None)
            continue
        out.append(text_tree(sents, options.trees))
    return out, bad


def _split_files(directory: Path) -> dict[str, Path]:
    found: dict[str, list[Path]] = {s: [] for s in SPLITS}
    for path in sorted(directory.iterdir()):
        stem, _, ext = path.name.partition(".")
        if stem in found and ext.lower() in ("csv", "tsv", "tab", "jsonl", "ndjson"):
            found[stem].append(path)
    missing = [s for s in SPLITS if not found[s]]
    if missing:
        names = ", ".join(p.name for p in sorted(directory.iterdir())[:8]) or "nothing"
        raise CorpusError(f"{directory} has no {', '.join(missing)} file (train, dev and test as .csv, .tsv or "
                          f".jsonl; found: {names}); or give one file to split: --corpus text:FILE")
    several = [s for s in SPLITS if len(found[s]) > 1]
    if several:
        raise CorpusError(f"{directory} has several {several[0]} files ({', '.join(p.name for p in found[several[0]])}); "
                          f"keep one per split")
    return {s: found[s][0] for s in SPLITS}


def _read(path: Path, options: TextOptions, log: Callable[[str], None]) -> TextItems:
    columns = (options.text_column,) if options.text_column else None
    items = read_text_items(path, options.format, columns, options.label_column, options.encoding,
                            options.skip_bad, options.max_chars)
    if items.skipped:
        log(f"skipped {items.skipped} bad item(s) of {path} (--data.skip_bad); first: {items.errors[0]}")
    if not items.items:
        raise CorpusError(f"{path}: no usable items ({items.skipped} skipped)")
    looks_bracketed = [it for it in items.items[:20] if _bracketed(it.texts[0])]
    if len(looks_bracketed) == min(len(items.items), 20):
        raise CorpusError(f"{path}: the texts look like bracketed trees ({items.items[0].texts[0][:40]!r}); a "
                          f"corpus of labeled trees is read with --corpus trees:DIR (label<TAB>(tree) per line)")
    return items


def _bracketed(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("(") and stripped.endswith(")") and stripped.count("(") >= 2


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_text_task(spec: str, options: TextOptions, log: Callable[[str], None] = print):
    """The :class:`~treernn.corpora.tasks.Dataset` of ``text:PATH`` (``spec`` is PATH).

    Raises:
        CorpusError: a missing or unreadable file, a bad item (see
            :func:`treernn.corpora.table.read_text_items`), a dev or test label unknown to
            training, a class too small for the split.
        ConfigError: a bad option.
        ParserError: the spaCy pipeline is missing, or has no parser for ``trees = parsed``.
    """
    if options.trees not in TREE_KINDS:
        raise ConfigError(f"data.trees must be one of {', '.join(TREE_KINDS)}, got {options.trees!r}; parsed "
                          f"uses spaCy's parses, the others build trees without a parser")
    fractions = parse_split(options.split)
    path = Path(spec)
    if not path.exists():
        raise CorpusError(f"{path}: no such file or directory (--corpus text:PATH takes a .csv, .tsv or .jsonl "
                          f"file, or a directory with train, dev and test files)")
    if path.is_dir():
        files = _split_files(path)
        shaped = {split: _read_and_shape(file, options, log) for split, file in files.items()}
        sources: dict = {split: {"file": str(file), "sha256": file_digest(file)} for split, file in files.items()}
    else:
        whole, trees = _read_and_shape(path, options, log)
        parts = stratified_split([it.label for it in whole], fractions, options.split_seed, str(path))
        shaped = {s: ([whole[i] for i in parts[s]], [trees[i] for i in parts[s]]) for s in SPLITS}
        sources = {"file": str(path), "sha256": file_digest(path), "split": options.split,
                   "split_seed": options.split_seed}
    train_items = shaped["train"][0]
    label_names = list(options.label_names) if options.label_names else sort_labels(
        {it.label for it in train_items} | {str(p.label) for it in train_items for p in it.phrases})
    index = {name: i for i, name in enumerate(label_names)}
    splits: dict[str, list[Tree]] = {}
    ids: dict[str, list[str]] = {}
    unmatched = total_phrases = 0
    for split in SPLITS:
        items, trees = shaped[split]
        source = sources[split]["file"] if path.is_dir() else str(path)
        for item, tree in zip(items, trees):
            for label in [item.label] + [str(p.label) for p in item.phrases]:
                if label not in index:
                    known = "the model's" if options.label_names else "the training data's"
                    raise CorpusError(f"{source}:{item.line}: label {label!r} is not one of {known} labels "
                                      f"({', '.join(label_names)})")
            tree.label = index[item.label]
            unmatched += label_phrases(tree, item, index)
            total_phrases += len(item.phrases)
        splits[split], ids[split] = trees, [item.id for item in items]
    if total_phrases:
        log(f"labeled phrases: {total_phrases - unmatched:,} of {total_phrases:,} matched a node"
            + (f"; {unmatched:,} matched none (their words are no node of the tree) and are not used"
               if unmatched else ""))
    return Dataset(f"text:{path.name}", label_names, splits, item_ids=ids, sources=sources,
                   phrases={"given": total_phrases, "unmatched": unmatched})


def _read_and_shape(path: Path, options: TextOptions, log: Callable[[str], None]) -> tuple[list[TextItem], list[Tree]]:
    """The usable items of one file and their trees (bad ones raised, or skipped and counted)."""
    read = _read(path, options, log)
    trees, bad = _shape(read.items, options, read.source, log)
    if bad and not options.skip_bad:
        raise CorpusError(bad[0])
    if bad:
        log(f"skipped {len(bad)} item(s) of {read.source} (--data.skip_bad); first: {bad[0]}")
    kept = [(item, tree) for item, tree in zip(read.items, trees) if tree is not None]
    if not kept:
        raise CorpusError(f"{read.source}: no usable items left")
    return [item for item, _ in kept], [tree for _, tree in kept]


__all__ = ["FORMATS", "TREE_KINDS", "TextOptions", "parse_split", "stratified_split", "text_tree",
           "token_limit_problem", "label_phrases", "load_text_task", "sort_labels", "looks_like_tree_file"]
