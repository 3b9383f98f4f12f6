"""Sentence-pair tasks: SICK (``--corpus sick``) and the user's own pairs (``--corpus
pairs:PATH``), as a :class:`~treernn.corpora.dataset.Dataset` of
:class:`~treernn.corpora.dataset.Pair` items.

- ``target = "relatedness"``: a score; SICK's ``relatedness_score`` (1-5); a user's score
  column with its range ``score_range`` ("LOW,HIGH", integers: Tai et al.'s model predicts a
  distribution over the integer scores LOW..HIGH, which become the classes 1..K). Scores are kept
  on the file's scale; the model works on 1..K (``score - LOW + 1``).
- ``target = "entailment"`` (SICK's ``entailment_label``) or ``"label"`` (a user's label
  column): classes, named as in the training file.

Each side is a text and becomes a tree as in :mod:`treernn.corpora.texts` (parsed once,
cached; several sentences joined under one root). Distinct sentences are parsed once (SICK's
19,680 sides hold about 6,000 distinct sentences).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn.corpora.dataset import Dataset, Pair
from treernn.corpora.parse_cache import parse_texts
from treernn.corpora.sick import ENTAILMENT_LABELS, load_sick
from treernn.corpora.table import read_text_items
from treernn.corpora.texts import SPLITS, TextOptions, parse_split, sort_labels, stratified_split, text_tree
from treernn.errors import ConfigError, CorpusError
from treernn.parsing import TokenParser
from treernn.trees import Tree

TARGETS = ("relatedness", "entailment", "label")


def parse_score_range(value: object, where: str = "data.score_range") -> tuple[int, int]:
    """``"1,5"`` as (1, 5): two integers, the first below the second."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        low, high = (int(str(p).strip()) for p in parts)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be two integers LOW,HIGH, got {value!r}; e.g. 1,5") from None
    if low >= high:
        raise ConfigError(f"{where} must have LOW below HIGH, got {value!r}; e.g. 1,5")
    return low, high


def _trees(texts: Sequence[str], options: TextOptions, log: Callable[[str], None], what: str) -> dict[str, Tree]:
    """Each distinct text's tree (parsed once, cached)."""
    distinct = list(dict.fromkeys(texts))
    if options.trees == "parsed":
        parsed = parse_texts(distinct, options.spacy_pipeline, options.parse_processes, options.cache,
                             options.progress, log, what=what)
    else:
        parsed = TokenParser(options.spacy_pipeline).parse_each(distinct)
    return {text: text_tree(sentences, options.trees) for text, sentences in zip(distinct, parsed)}


def load_pair_task(corpus: str, target: str, options: TextOptions, path: Optional[str] = None,
                   score_range: str = "1,5", log: Callable[[str], None] = print) -> Dataset:
    """The Dataset of ``sick`` or ``pairs:PATH``: splits of :class:`Pair` items, ``pair_task``
    ``"relatedness"`` (``label_names`` the integer scores) or ``"classes"``.

    Raises:
        CorpusError: a bad file or line (file:line), an unknown label in dev or test.
        ConfigError: a target the corpus does not have, a bad score range.
    """
    if target not in TARGETS:
        raise ConfigError(f"data.target must be one of {', '.join(TARGETS)}, got {target!r}")
    if corpus == "sick":
        if target == "label":
            raise ConfigError("data.target for sick is relatedness or entailment, got 'label'; SICK's labels "
                              "are its entailment labels: --data.target entailment")
        read = load_sick(path, options.skip_bad)
        for split, result in read.items():
            if result.skipped:
                log(f"skipped {result.skipped} bad line(s) of SICK's {split} split; first: {result.errors[0]}")
        raw = {s: [(p.id, p.a, p.b, p.score if target == "relatedness" else p.label, p.line)
                   for p in read[s].items] for s in SPLITS}
        low, high, source = 1, 5, "SICK"
        names = list(ENTAILMENT_LABELS) if target == "entailment" else None
    else:
        if target == "entailment":
            target = "label"
        low, high = parse_score_range(score_range)
        raw, source = _read_pairs(Path(corpus[6:]), target, options, low, high, log), corpus[6:]
        names = None
    texts = [text for items in raw.values() for _, a, b, _, _ in items for text in (a, b)]
    trees = _trees(texts, options, log, Path(source).name)
    if target == "relatedness":
        label_names = [str(k) for k in range(low, high + 1)]
    else:
        label_names = names or sort_labels({str(y) for _, _, _, y, _ in raw["train"]})
    index = {name: i for i, name in enumerate(label_names)}
    splits, ids = {}, {}
    for split in SPLITS:
        pairs = []
        for item_id, a, b, y, line in raw[split]:
            if target == "relatedness":
                pairs.append(Pair(trees[a], trees[b], score=float(y) - low + 1))
            else:
                if str(y) not in index:
                    raise CorpusError(f"{source}:{line}: label {str(y)!r} is not one of the training data's labels "
                                      f"({', '.join(label_names)})")
                pairs.append(Pair(trees[a], trees[b], label=index[str(y)]))
        splits[split], ids[split] = pairs, [item_id for item_id, *_ in raw[split]]
    name = f"{corpus if corpus == 'sick' else 'pairs:' + Path(source).name}-{target}"
    return Dataset(name, label_names, splits, item_ids=ids, pair_task="relatedness" if target == "relatedness"
                   else "classes", score_low=low)


def _read_pairs(path: Path, target: str, options: TextOptions, low: int, high: int,
                log: Callable[[str], None]) -> dict[str, list[tuple]]:
    """(id, a, b, score or label, line) per split of a user's pair file or folder."""
    columns = tuple(c.strip() for c in options.text_columns.split(",")) if options.text_columns else ("a", "b")
    if len(columns) != 2 or not all(columns):
        raise ConfigError(f"data.text_columns must name two columns, got {options.text_columns!r}; e.g. "
                          f"sentence_A,sentence_B")
    label_column = options.label_column if options.label_column != "label" or target == "label" else "score"

    def read(file: Path) -> list[tuple]:
        items = read_text_items(file, options.format, columns, label_column, options.encoding,
                                options.skip_bad, options.max_chars)
        if items.skipped:
            log(f"skipped {items.skipped} bad item(s) of {file}; first: {items.errors[0]}")
        out = []
        for item in items.items:
            y: object = item.label
            if target == "relatedness":
                try:
                    y = float(item.label)
                except ValueError:
                    y = math.nan
                if not (math.isfinite(y) and low <= y <= high):  # type: ignore[operator]
                    message = (f"{file}:{item.line}: score {item.label!r} in column {label_column!r} is not a "
                               f"number in [{low}, {high}] (--data.score_range)")
                    if not options.skip_bad:
                        raise CorpusError(message)
                    log(f"skipped: {message}")
                    continue
            out.append((item.id, item.texts[0], item.texts[1], y, item.line))
        if not out:
            raise CorpusError(f"{file}: no usable pairs")
        return out

    if path.is_dir():
        files = {s: next((p for p in sorted(path.iterdir()) if p.name.split(".")[0] == s), None) for s in SPLITS}
        missing = [s for s, f in files.items() if f is None]
        if missing:
            raise CorpusError(f"{path} has no {', '.join(missing)} file (train, dev and test as .csv, .tsv or "
                              f".jsonl); or give one file to split: --corpus pairs:FILE")
        return {s: read(f) for s, f in files.items()}  # type: ignore[arg-type]
    whole = read(path)
    keys = [str(y) if target == "label" else "" for *_, y, _ in whole]  # labels: stratified; scores: shuffled
    parts = stratified_split(keys, parse_split(options.split), options.split_seed, str(path))
    return {s: [whole[i] for i in parts[s]] for s in SPLITS}
