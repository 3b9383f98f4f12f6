"""Text in, a label for every phrase out: parse, batch, run a trained model once per batch.

::

    import treernn
    predict = treernn.load()                         # the bundled SST model, or a model directory
    for s in predict(["The movie was great. The plot, not so much."]):
        print(s.label_name, s.probabilities, s.tree)   # one SentencePrediction per sentence

How a text becomes trees: spaCy's dependency parser splits it into sentences and parses each;
models with binary cells (N-ary Tree-LSTM, recursive NN, RNTN) get the dependency parse as
a binarized phrase structure (:func:`treernn.trees.dependency_to_phrase`), the Child-Sum
Tree-LSTM gets the dependency tree itself, chain models the tokens. A text that is a
bracketed tree (it starts with ``(`` and reads as one) is taken as it is, labels ignored.

Tokens: a model trained on SST knows PTB-escaped tokens (``-LRB-`` for ``(``); a token that
is not in the vocabulary is looked up in its escaped form before it counts as unknown.
"""

from __future__ import annotations

import contextlib
import gc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import torch

from treernn.corpora.dataset import Pair
from treernn.corpora.texts import TREE_KINDS, text_tree, token_limit_problem
from treernn.device import pick_device
from treernn.errors import ParserError, TreernnError
from treernn.inputs import DEFAULT_MAX_CHARS, DEFAULT_MAX_TOKENS, Item, chunked, decode_inputs
from treernn.models.build import load_model_dir, prepare_tree
from treernn.parsing import SpacyParser, TokenParser
from treernn.resources import bundled_model_dir
from treernn.trees import Tree, draw, drop_tokens, from_ptb, to_ptb, to_svg
from treernn.trees.ptb import PTB_ESCAPES

_ESCAPE = {v: k for k, v in PTB_ESCAPES.items()}  # "(" -> "-LRB-", "/" -> "\/", ...


@dataclass
class SentencePrediction:
    """The model's reading of one sentence.

    Attributes:
        text_index: which input text the sentence came from; sentence_index: its place there.
        tree: the tree the model read; every node's ``label`` is its predicted class id
            (for chain models only the root is labeled).
        probabilities: class probabilities of every node, in the tree's post-order
            (``tree.postorder()``); the root's are last.
        label: the sentence's class id; label_name: its name.
        label_names: the model's class names, by id.
        span: set by the spaCy component: the sentence's token span in its ``Doc``.
        categories: the parse's own node labels (dependency relations for spaCy parses) in
            post-order, None where a node has none; ``sentimentTree`` writes them.
    """

    text_index: int
    sentence_index: int
    tree: Tree
    probabilities: list[list[float]]
    label: int
    label_name: str
    label_names: list[str] = field(repr=False)
    span: Optional[tuple[int, int]] = None  # the sentence's token span in its spaCy Doc (component)
    categories: Optional[list] = field(default=None, repr=False)  # the parse's node labels, post-order

    @property
    def tokens(self) -> list[str]:
        return self.tree.tokens()

    def nodes(self) -> list[tuple[Tree, tuple[int, int], Optional[list[float]]]]:
        """(node, token span (end exclusive), probabilities or None) in post-order."""
        order, probs = self._order_probs()
        return list(zip(order, self.tree.spans(), probs))

    def _order_probs(self) -> tuple[list[Tree], list[Optional[list[float]]]]:
        order = self.tree.postorder()
        probs: list[Optional[list[float]]] = list(self.probabilities)
        if len(probs) != len(order):  # chain models: the root only
            probs = [None] * (len(order) - 1) + [probs[-1]]
        return order, probs

    @property
    def binary(self) -> Optional[str]:
        """``"negative"`` or ``"positive"`` for a sentiment model (:func:`corenlp_values` not
        None): whichever side has more probability mass at the root (very negative + negative
        against positive + very positive), as a fine-grained model answers the binary task.
        None for other models."""
        values = corenlp_values(self.label_names)
        if values is None:
            return None
        root = self.probabilities[-1]
        negative = sum(p for p, v in zip(root, values) if v < 2)
        positive = sum(p for p, v in zip(root, values) if v > 2)
        return "positive" if positive > negative else "negative"

    def to_json(self, nodes: bool = True) -> dict[str, Any]:
        """The sentence as JSON (one line of ``treernn classify --format json``); see
        :data:`JSON_FIELDS`. A sentiment model (class names CoreNLP's, see
        :func:`corenlp_values`) writes CoreNLP's sentiment fields, on CoreNLP's scale; any
        other model ``label`` and ``labelDistribution`` with its own class names.
        ``nodes=False`` leaves out the per-node list (the CoreNLP server's sentences)."""
        values = corenlp_values(self.label_names)
        out = {"index": self.sentence_index, "text": self.text_index, "tokens": self.tokens,
               **self._fields(self.label, self.probabilities[-1], values)}
        order, probs = self._order_probs()
        if values is not None:
            out["sentimentTree"] = self._sentiment_tree(order, probs)
        if nodes:
            entries = []
            for node, (start, end), p in zip(order, self.tree.spans(), probs):
                if p is None:
                    continue
                entry: dict[str, Any] = {"span": [start, end], **self._fields(node.label, p, values)}
                if node.token is not None:
                    entry["token"] = node.token
                entries.append(entry)
            out["nodes"] = entries
        return out

    def _fields(self, cls: int, probs: list[float], values: Optional[list[int]]) -> dict[str, Any]:
        if values is None:
            return {"label": self.label_names[cls],
                    "labelDistribution": {n: round(p, 4) for n, p in zip(self.label_names, probs)}}
        five = [0.0] * len(CORENLP_CLASSES)
        for p, v in zip(probs, values):
            five[v] = round(p, 4)
        return {"sentimentValue": str(values[cls]),
                "sentiment": CORENLP_CLASSES[values[cls]].replace(" ", ""),
                "sentimentDistribution": five}

    def sentiment_tree(self) -> str:
        """The labeled tree as CoreNLP's JSON writes ``sentimentTree``: Penn Treebank layout
        (CoreNLP's ``Tree.pennPrint``), each node ``CATEGORY|sentiment=V|prob=P`` (V on
        CoreNLP's 0-4 scale, P the probability of that class, 3 decimals). The categories are
        the parse's: dependency relations for spaCy parses (``X`` where a node has none);
        CoreNLP writes its constituency parser's."""
        return self._sentiment_tree(*self._order_probs())

    def _sentiment_tree(self, order: list[Tree], node_probs: list[Optional[list[float]]]) -> str:
        values = corenlp_values(self.label_names) or list(range(len(self.label_names)))
        probs = {id(node): p for node, p in zip(order, node_probs)}
        categories = dict(zip(map(id, order), self.categories or ()))

        def fmt(node: Tree) -> str:
            cat = categories.get(id(node)) or "X"
            p = probs.get(id(node))
            if p is None or node.label is None:
                return cat
            return f"{cat}|sentiment={values[node.label]}|prob={p[node.label]:.3f}"

        return _penn(self.tree, fmt)


#: CoreNLP's sentiment classes, by ``sentimentValue`` (its ``SentimentAnnotator`` names; the
#: JSON writer drops the space: ``Verynegative``).
CORENLP_CLASSES = ("Very negative", "Negative", "Neutral", "Positive", "Very positive")


def corenlp_values(label_names: Sequence[str]) -> Optional[list[int]]:
    """Each class's value on CoreNLP's 0-4 sentiment scale when every class name is one of
    CoreNLP's five (any case: SST's fine-grained, binary and binary-with-neutral models), else
    None (a model for another task)."""
    scale = {name.lower(): v for v, name in enumerate(CORENLP_CLASSES)}
    values = [scale.get(str(name).lower()) for name in label_names]
    return None if None in values else values  # type: ignore[return-value]


def _penn(root: Tree, fmt: Callable[[Tree], str]) -> str:
    """``root`` laid out as CoreNLP's ``Tree.pennPrint`` does: a node with a token and no
    children is a preterminal, ``(LABEL token)``; consecutive preterminals stay on one line
    (except after a ``CC``), every other node starts a new line indented two spaces a level."""
    out: list[str] = []

    def preterminal(node: Tree) -> bool:
        return node.token is not None and not node.children

    def display(node: Tree, indent: int, first: bool, left_pre: bool, top: bool) -> None:
        pre = preterminal(node)
        label = fmt(node)
        if (first and pre) or (left_pre and pre and not label.startswith("CC")):
            out.append(" ")
        else:
            out.append("" if top else "\n")
            out.append("  " * indent)
        if pre:
            out.append(f"({label} {node.token})")
            return
        out.append(f"({label}")
        if node.token is not None:  # a dependency head: its word, then its dependents
            out.append(f" {node.token}")
        first_child, left = True, True
        for child in node.children:
            display(child, indent + 1, first_child, left, False)
            left = preterminal(child) and not fmt(child).startswith("CC")
            first_child = False
        out.append(")")

    display(root, 0, False, False, True)
    return "".join(out).strip()


#: The JSON each sentence becomes (``treernn classify --format json``, one object per line;
#: the JSON Schema is ``treernn/data/classify.schema.json``). Sentiment models (class names
#: CoreNLP's) write the ``sentiment*`` fields; other models ``label`` and ``labelDistribution``.
JSON_FIELDS = {
    "index": "the sentence's place in its text (0-based)",
    "text": "the input text it came from (0-based; stdin: line number - 1)",
    "tokens": "the sentence's tokens",
    "sentimentValue": "sentiment models: the sentence's class on CoreNLP's 0-4 scale, as a string "
                      "(0 very negative ... 4 very positive; a binary model gives 1 or 3)",
    "sentiment": "sentiment models: its name as CoreNLP's JSON writes it: Verynegative, Negative, "
                 "Neutral, Positive, Verypositive",
    "sentimentDistribution": "sentiment models: five probabilities in CoreNLP's order (very negative "
                             "... very positive); a class the model does not have gets 0",
    "sentimentTree": "sentiment models: the tree as CoreNLP writes it, each node "
                     "CATEGORY|sentiment=V|prob=P",
    "label": "other models: the sentence's class, by the name it had in training",
    "labelDistribution": "other models: {class name: probability}",
    "nodes": "every labeled node in post-order: span [start, end) over tokens, the same class "
             "fields as the sentence (sentimentValue, sentiment, sentimentDistribution, or label, "
             "labelDistribution) and token where the node carries one",
}


def _display(name: str) -> str:
    return name[:1].upper() + name[1:]


class Predictor:
    """A trained model with its vocabulary and a parser: ``predictor(texts)``.

    Build it with :func:`load` (from a model directory) or from a model in memory.

    Args:
        model: a classifier from :func:`treernn.models.build.build_model` (its ``config`` set).
        vocab: the model's vocabulary.
        parser: a :class:`~treernn.parsing.SpacyParser` (default: the English one, loaded on
            first use) or any parser with ``parse_each(texts)``.
        batch_size: sentences per model call.
        max_tokens: the longest sentence labeled, in tokens (default
            :data:`~treernn.inputs.DEFAULT_MAX_TOKENS`; None: no limit); a longer one is
            refused (see :meth:`predict`).
        max_chars: the longest text parsed, in characters (default
            :data:`~treernn.inputs.DEFAULT_MAX_CHARS`; None: no limit); a longer one is refused
            before parsing.
        threads: torch threads for the model (default 1; None: leave torch's setting). A tree
            is run level by level, and most levels are a few nodes: on two cores, two threads
            made a 5,000-token sentence 6x slower than one whenever another process ran.
        pause_gc: Python's cyclic garbage collector off while a batch is parsed and labeled
            (see :func:`paused_gc`); False leaves it alone.
        text_rule: how a text becomes a tree for a model trained on labeled texts
            (``--corpus text:PATH``): ``parsed`` (its sentences joined under one root),
            ``balanced``, ``left`` or ``right`` (a tree over all its tokens), as in training
            (:func:`treernn.corpora.texts.text_tree`); one prediction per text. None (models
            trained on sentences: SST, the bundled model): one prediction per sentence.
        spacy_pipeline: the spaCy pipeline of the default parser (None: the English one).
    """

    def __init__(self, model: Any, vocab: Any, parser: Any = None, batch_size: int = 256,
                 max_tokens: Optional[int] = DEFAULT_MAX_TOKENS,
                 max_chars: Optional[int] = DEFAULT_MAX_CHARS, threads: Optional[int] = 1,
                 pause_gc: bool = True, text_rule: Optional[str] = None,
                 spacy_pipeline: Optional[str] = None) -> None:
        if text_rule is not None and text_rule not in TREE_KINDS:
            raise TreernnError(f"text_rule must be one of {', '.join(TREE_KINDS)} or None, got {text_rule!r}")
        self.text_rule, self.spacy_pipeline = text_rule, spacy_pipeline
        if batch_size < 1:
            raise TreernnError(f"batch_size must be >= 1, got {batch_size}")
        for name, value in (("max_tokens", max_tokens), ("max_chars", max_chars)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise TreernnError(f"{name} must be a positive integer or None, got {value!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise TreernnError(f"threads must be a positive integer or None, got {threads!r}")
        self.max_tokens, self.max_chars, self.threads = max_tokens, max_chars, threads
        self.pause_gc = pause_gc
        self.model = model.eval()
        self.config = model.config
        self.vocab = vocab
        self.device = next(model.parameters()).device
        self.label_names = list(self.config.label_names or [str(i) for i in range(self.config.num_classes)])
        self._parser = parser
        self.batch_size = batch_size

    @property
    def parser(self):
        if self._parser is None:
            if self.text_rule not in (None, "parsed"):
                self._parser = TokenParser(self.spacy_pipeline)  # a tree over the tokens: no parse needed
            else:
                self._parser = SpacyParser(model=self.spacy_pipeline)
        return self._parser

    # ---------------------------------------------------------------- parsing
    def trees(self, texts: Sequence[str], refuse: Optional[Callable[[int, str], None]] = None) -> list[list[Tree]]:
        """The trees of each text, in the shape the model reads (see :meth:`shape`).

        A text over ``max_chars`` is not parsed and a sentence over ``max_tokens`` is left out:
        each is passed to ``refuse(text index, message)`` or, without ``refuse``, raised as a
        :class:`ParserError`."""
        return [[tree for _, tree in sentences] for sentences in self._sentences(texts, refuse)]

    def _sentences(self, texts: Sequence[str],
                   refuse: Optional[Callable[[int, str], None]]) -> list[list[tuple[int, Tree]]]:
        """:meth:`trees` with each tree's place among its text's sentences (refused ones counted)."""
        refuse = refuse or _raise
        out: list[list[Tree]] = [[] for _ in texts]
        plain = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ParserError(f"text {i}: must be a string, got {type(text).__name__}")
            if self.max_chars is not None and len(text) > self.max_chars:
                refuse(i, f"text of {len(text)} characters, over the limit of {self.max_chars} (--max-chars)")
                continue
            bracketed = _as_ptb(text, i)
            if bracketed is not None:
                out[i] = [bracketed]
            else:
                plain.append(i)
        if plain:
            for i, trees in zip(plain, self.parser.parse_each([texts[i] for i in plain])):
                out[i] = trees
        if self.text_rule is not None:
            return [self._text(i, trees, refuse) for i, trees in enumerate(out)]
        shaped = []
        for i, trees in enumerate(out):
            kept = []
            for j, tree in enumerate(self.shape(trees, keep_empty=True)):
                if tree is None:
                    continue
                n = len(tree.tokens())
                if self.max_tokens is not None and n > self.max_tokens:
                    where = f" (sentence {j + 1} of the text)" if j else ""
                    refuse(i, f"sentence of {n} tokens, over the limit of {self.max_tokens} (--max-tokens){where}")
                    continue
                kept.append((j, tree))
            shaped.append(kept)
        return shaped

    def _text(self, i: int, trees: list[Tree], refuse: Callable[[int, str], None]) -> list[tuple[int, Tree]]:
        """A text's sentences as the one tree a model trained on texts reads (``text_rule``);
        a sentence over ``max_tokens`` refuses the whole text (its tree would lose words)."""
        sentences = [kept for kept in (drop_tokens(t, lambda token: not token.strip()) for t in trees) if kept is not None]
        if not sentences:
            return []
        problem = token_limit_problem(sentences, self.text_rule, self.max_tokens)
        if problem is not None:
            refuse(i, problem)
            return []
        tree = text_tree(sentences, self.text_rule, keep_labels=True)
        return [(0, prepare_tree(tree, self.config.encoder).map(label=_category))]

    def shape(self, trees: Iterable[Tree], keep_empty: bool = False) -> list:
        """Parsed trees in the shape the model reads: whitespace tokens (spaCy keeps runs of
        spaces and newlines as tokens) dropped, a sentence of nothing else dropped (None in
        its place with ``keep_empty``), binarized for binary cells; string labels (the parse's
        categories) kept, others removed."""
        out: list = []
        for tree in trees:
            kept = drop_tokens(tree, lambda token: not token.strip())
            if kept is not None:
                out.append(prepare_tree(kept, self.config.encoder).map(label=_category))
            elif keep_empty:
                out.append(None)
        return out

    def _lookup_form(self, token: str) -> str:
        if token in self.vocab.stoi or self.vocab.normalize(token) in self.vocab.stoi:
            return token
        escaped = "".join(_ESCAPE.get(ch, ch) for ch in token)
        return escaped if escaped in self.vocab.stoi else token

    # ---------------------------------------------------------------- prediction
    def predict_trees(self, trees: Sequence[Tree], ids: Sequence[tuple[int, int]] = ()) -> list[SentencePrediction]:
        """Predictions for already parsed trees (shaped for the model), ``batch_size`` at a time,
        on ``threads`` torch threads (the setting before is restored)."""
        before = torch.get_num_threads()
        if self.threads is not None and self.threads != before:
            torch.set_num_threads(self.threads)
        try:
            with paused_gc(self.pause_gc):
                return self._predict_trees(trees, ids)
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    @torch.no_grad()
    def _predict_trees(self, trees: Sequence[Tree], ids: Sequence[tuple[int, int]]) -> list[SentencePrediction]:
        ids = list(ids) or [(i, 0) for i in range(len(trees))]
        results = []
        for b0 in range(0, len(trees), self.batch_size):
            chunk = list(trees[b0:b0 + self.batch_size])
            lookup = [t.map(token=self._lookup_form, label=lambda _: None) for t in chunk]
            batch, _ = self.model.make_batch(lookup, self.vocab, self.device)
            out = self.model(batch)
            sentence = self.model.predict_sentences(out.logits).tolist()  # (B,)
            if out.node_logits is not None:
                probs = torch.softmax(out.node_logits, -1)  # (N, C), trees' post-orders one after another
                node_pred = probs.argmax(-1).tolist()
                probs_list = probs.tolist()
                offsets = batch.offsets.tolist()
            else:
                probs_list = torch.softmax(out.logits, -1).tolist()  # (B, C)
            for k, tree in enumerate(chunk):
                labeled = tree.map()
                order = labeled.postorder()
                categories = [_category(node.label) for node in order]
                for node in order:
                    node.label = None
                if out.node_logits is not None:
                    lo, hi = offsets[k], offsets[k + 1]
                    for node, cls in zip(order, node_pred[lo:hi]):
                        node.label = cls
                    p = probs_list[lo:hi]
                else:
                    p = [probs_list[k]]
                order[-1].label = sentence[k]
                text_index, sentence_index = ids[b0 + k]
                results.append(SentencePrediction(text_index, sentence_index, labeled, p, sentence[k],
                                                  self.label_names[sentence[k]], self.label_names,
                                                  categories=categories))
        return results

    def predict(self, texts: Union[str, Iterable[str]],
                refuse: Optional[Callable[[int, str], None]] = None) -> list[SentencePrediction]:
        """One :class:`SentencePrediction` per sentence of every text, in order.

        All sentences of all texts are parsed together (``nlp.pipe``) and run through the
        model ``batch_size`` at a time. A text over ``max_chars`` or a sentence over
        ``max_tokens`` goes to ``refuse(text index, message)`` and is left out; the other
        sentences are labeled.

        Raises:
            ParserError: an empty or whitespace-only text, a text that is not a string; without
                ``refuse``, a text or sentence over the limits.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        trees, ids = [], []
        with paused_gc(self.pause_gc):
            parsed = self._sentences(texts, refuse)
        for i, sentences in enumerate(parsed):
            for j, tree in sentences:
                trees.append(tree)
                ids.append((i, j))
        return self.predict_trees(trees, ids)

    __call__ = predict


@contextlib.contextmanager
def paused_gc(active: bool = True):
    """Python's cyclic garbage collector off for a batch: parsing and labeling a batch allocate
    hundreds of thousands of small objects (tokens, tree nodes) and no cycles, and each full
    collection the allocations set off walks every object of the process (spaCy's and torch's
    included). Measured: labeling 1,016 parsed SST sentences took 2.78 s with the collector and
    0.96 s without (one thread, the first batch of a process). Refcounting still frees
    everything; the collector is back on (and catches any cycle) as soon as the batch is done."""
    enabled = gc.isenabled()
    if active:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _raise(index: int, message: str) -> None:
    raise ParserError(f"text {index}: {message}")


def _category(label: Any) -> Optional[str]:
    """A parse's node label kept as its category: non-empty strings only (not SST's classes)."""
    return label if isinstance(label, str) and label else None


def _as_ptb(text: str, position: int) -> Optional[Tree]:
    """The tree of a text that is a bracketed tree, else None."""
    stripped = text.strip()
    if not (stripped.startswith("(") and stripped.endswith(")")):
        return None
    try:
        return from_ptb(stripped, f"<text {position}>")
    except TreernnError:
        return None  # "(Not) bad at all." is a sentence, not a tree


def load(directory: Union[str, Path, None] = None, device: str = "cpu", parser: Any = None,
         batch_size: int = 256, max_tokens: Optional[int] = DEFAULT_MAX_TOKENS,
         max_chars: Optional[int] = DEFAULT_MAX_CHARS, threads: Optional[int] = 1,
         spacy_pipeline: Optional[str] = None) -> Union[Predictor, PairPredictor]:
    """A :class:`Predictor` for a trained model directory; None: the bundled sentiment model
    (:func:`treernn.resources.bundled_model_dir`, a fine-grained SST Tree-LSTM). A model
    trained on a text corpus reads each text as one tree, as in training (:func:`text_settings`);
    ``spacy_pipeline`` replaces the pipeline it was trained with. A pair model (SICK, pairs:PATH)
    gives a :class:`PairPredictor`.

    Raises:
        CheckpointError: a missing or unreadable directory or file, a pickle in it, weights that
            do not fit ``config.json``, a directory from another format version.
    """
    model, saved = load_model_dir(bundled_model_dir() if directory is None else directory, pick_device(device))
    text_rule, pipeline = text_settings(saved)
    if model.kind == "pair":  # a pair model: predictor.relate([(a, b), ...])
        return PairPredictor(model, model.vocab, text_rule=text_rule or "parsed", parser=parser,
                             batch_size=batch_size, max_tokens=max_tokens, max_chars=max_chars, threads=threads,
                             spacy_pipeline=spacy_pipeline or pipeline)
    return Predictor(model, model.vocab, parser=parser, batch_size=batch_size, max_tokens=max_tokens,
                     max_chars=max_chars, threads=threads, text_rule=text_rule,
                     spacy_pipeline=spacy_pipeline or pipeline)


@dataclass
class PairPrediction:
    """A pair model's reading of one pair of texts.

    Attributes:
        index: the pair's place in the input (0-based).
        score: relatedness models: the predicted score on the training data's scale
            (r^T p, Tai et al. 2015, eq. 16); None for label models.
        label: label models: the class name; relatedness models: the likeliest score's name.
        distribution: class name (a score "1".."5" for relatedness) -> probability.
    """

    index: int
    score: Optional[float]
    label: str
    distribution: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pair": self.index}
        if self.score is not None:
            out["score"] = round(self.score, 4)
            out["distribution"] = {k: round(v, 4) for k, v in self.distribution.items()}
        else:
            out["label"] = self.label
            out["labelDistribution"] = {k: round(v, 4) for k, v in self.distribution.items()}
        return out


class PairPredictor:
    """A trained pair model (``treernn train --corpus sick`` or ``pairs:PATH``) with a parser:
    ``predictor.relate([(a, b), ...])``. Each text becomes a tree as in training (its sentences
    joined under one root, :func:`treernn.corpora.texts.text_tree`); the limits and the bad-input
    handling are :class:`Predictor`'s, a pair with a bad side is refused as a whole.

    Args: as :class:`Predictor` (``model`` a :class:`~treernn.models.pair.PairModel`).
    """

    kind = "pair"

    def __init__(self, model: Any, vocab: Any, text_rule: str = "parsed", **options: Any) -> None:
        self.texts = Predictor(model, vocab, text_rule=text_rule, **options)
        self.model, self.vocab = self.texts.model, vocab
        self.label_names = self.texts.label_names
        self.score_low = int(self.label_names[0]) if model.task == "relatedness" else None

    def relate(self, pairs: Iterable[Sequence[str]],
               refuse: Optional[Callable[[int, str], None]] = None) -> list[PairPrediction]:
        """One :class:`PairPrediction` per pair (in order); a pair whose text is empty, over
        ``max_chars`` or holds a sentence over ``max_tokens`` goes to ``refuse(index, message)``
        (without ``refuse``: raised as :class:`ParserError`) and is left out."""
        pairs = [tuple(p) for p in pairs]
        for i, pair in enumerate(pairs):
            if len(pair) != 2 or not all(isinstance(t, str) for t in pair):
                raise ParserError(f"pair {i}: must be two texts, got {pair!r}")
        refused: dict[int, str] = {}

        def note(k: int, message: str) -> None:
            refused.setdefault(k // 2, f"{'first' if k % 2 == 0 else 'second'} text: {message}")

        flat = [text for pair in pairs for text in pair]
        for k, text in enumerate(flat):
            if not text.strip():
                note(k, "empty text")
        shaped = self.texts._sentences([t if t.strip() else "." for t in flat], note)
        items, indices = [], []
        for i in range(len(pairs)):
            left, right = shaped[2 * i], shaped[2 * i + 1]
            if i in refused or not left or not right:
                if i not in refused:
                    refused[i] = "a text without tokens"
                continue
            items.append(Pair(left[0][1].map(token=self.texts._lookup_form, label=lambda _: None),
                              right[0][1].map(token=self.texts._lookup_form, label=lambda _: None)))
            indices.append(i)
        for i, message in sorted(refused.items()):
            (refuse or _raise)(i, message)
        return self._predict(items, indices)

    @torch.no_grad()
    def _predict(self, items: list, indices: list[int]) -> list[PairPrediction]:
        out_list: list[PairPrediction] = []
        size = self.texts.batch_size
        for b0 in range(0, len(items), size):
            chunk = items[b0:b0 + size]
            batch, _ = self.model.make_batch(chunk, self.vocab, self.texts.device)
            out = self.model(batch)
            probs = torch.softmax(out.logits, -1).tolist()  # (B, K)
            scores = out.scores.tolist() if out.scores is not None else [None] * len(chunk)
            for k, (p, score) in enumerate(zip(probs, scores)):
                best = max(range(len(p)), key=p.__getitem__)
                out_list.append(PairPrediction(
                    indices[b0 + k], None if score is None else score + self.score_low - 1,
                    self.label_names[best], dict(zip(self.label_names, p))))
        return out_list

    __call__ = relate


def text_settings(saved: dict) -> tuple[Optional[str], Optional[str]]:
    """(text rule, spaCy pipeline) of a model directory's ``config.json``: a model trained on a
    text corpus reads a text as it was read in training (``data.trees``, ``data.spacy_pipeline``);
    others (None, None): one prediction per sentence, the default English parser."""
    data = (saved.get("resolved_config") or {}).get("data") or {}
    corpus = data.get("corpus")
    if not (isinstance(corpus, str) and (corpus.startswith(("text:", "pairs:")) or corpus == "sick")):
        return None, None
    return data.get("trees") or "parsed", data.get("spacy_pipeline")


def stream(predictor: Predictor, items: Iterable[tuple[int, str, Union[bytes, str]]], chunk: int = 64,
           errors: Optional[list] = None,
           report: Optional[Callable[[str], None]] = None) -> Iterator[SentencePrediction]:
    """Predictions for a stream of inputs, ``chunk`` texts at a time: memory does not grow
    with the input.

    Args:
        items: ``(number, where, text)``: the input's number (``text_index`` of its
            predictions is ``number - 1``), where it comes from (``<stdin>:12``) for messages,
            and the text as bytes (decoded as UTF-8) or str.
        errors: where bad inputs are reported as ``"where: reason"`` (not UTF-8, a NUL byte,
            empty, the parser refused it, over the predictor's ``max_chars``); they are skipped
            and the stream goes on. A sentence over ``max_tokens`` is reported the same way and
            the text's other sentences are labeled.
        report: called with each such message as it happens (instead of, or beside, ``errors``).
    """
    def note(message: str) -> None:
        if errors is not None:
            errors.append(message)
        if report is not None:
            report(message)

    yield from chunked(decode_inputs(items, note), lambda pending: _predict_items(predictor, pending, note),
                       note, chunk)


def _predict_items(predictor: Predictor, pending: list[Item],
                   note: Callable[[str], None]) -> list[SentencePrediction]:
    refused: list[str] = []
    out = predictor.predict([text for _, _, text in pending],
                            refuse=lambda i, message: refused.append(f"{pending[i][1]}: {message}"))
    for message in refused:  # reported once the chunk went through (a failed chunk is re-run)
        note(message)
    for p in out:
        p.text_index = pending[p.text_index][0] - 1
    return out


@dataclass
class DocumentPrediction:
    """One label for a whole text (``classify --document``): the root distributions of its
    sentences averaged, each weighted by its number of tokens (a long sentence says more about
    the text than a two-word one; CoreNLP has no document score). A model trained on texts
    (one prediction per text) gives its text's root distribution itself.

    Attributes:
        text_index: the input text; sentences: how many sentences were labeled; tokens: their
            tokens; probabilities: the class distribution; label, label_name: its argmax.
    """

    text_index: int
    sentences: int
    tokens: int
    probabilities: list[float]
    label: int
    label_name: str
    label_names: list[str] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """``{"document": true, "text": i, "sentences": k, "tokens": n, ...}`` with the class
        fields of a sentence (CoreNLP's sentiment fields for sentiment models, else ``label`` and
        ``labelDistribution``)."""
        values = corenlp_values(self.label_names)
        out: dict[str, Any] = {"document": True, "text": self.text_index, "sentences": self.sentences,
                               "tokens": self.tokens}
        if values is None:
            out["label"] = self.label_name
            out["labelDistribution"] = {n: round(p, 4) for n, p in zip(self.label_names, self.probabilities)}
        else:
            five = [0.0] * len(CORENLP_CLASSES)
            for p, v in zip(self.probabilities, values):
                five[v] = round(p, 4)
            out.update(sentimentValue=str(values[self.label]),
                       sentiment=CORENLP_CLASSES[values[self.label]].replace(" ", ""),
                       sentimentDistribution=five)
        return out


def document_prediction(sentences: Sequence[SentencePrediction]) -> DocumentPrediction:
    """The :class:`DocumentPrediction` of one text's sentence predictions (see there)."""
    if not sentences:
        raise TreernnError("a document needs at least one labeled sentence")
    names = sentences[0].label_names
    weights = [max(len(p.tokens), 1) for p in sentences]
    total = sum(weights)
    dist = [sum(w * p.probabilities[-1][c] for w, p in zip(weights, sentences)) / total for c in range(len(names))]
    label = max(range(len(dist)), key=dist.__getitem__)
    return DocumentPrediction(sentences[0].text_index, len(sentences), sum(len(p.tokens) for p in sentences),
                              dist, label, names[label], names)


def with_documents(predictions: Iterable[SentencePrediction]) -> Iterator[Union[SentencePrediction, DocumentPrediction]]:
    """The sentence predictions of a stream, each text's :class:`DocumentPrediction` after its
    last sentence (a text whose every sentence was refused gets none)."""
    group: list[SentencePrediction] = []
    for p in predictions:
        if group and p.text_index != group[0].text_index:
            yield document_prediction(group)
            group = []
        group.append(p)
        yield p
    if group:
        yield document_prediction(group)


def documents(predictions: Sequence[SentencePrediction]) -> list[DocumentPrediction]:
    """One :class:`DocumentPrediction` per text of ``predictions`` (in text order)."""
    return [p for p in with_documents(predictions) if isinstance(p, DocumentPrediction)]


def format_document(d: DocumentPrediction) -> str:
    """One line for the terminal: ``# text 1, document (2 sentences, 17 tokens): Positive (p=0.71)``."""
    return (f"# text {d.text_index + 1}, document ({d.sentences} sentence{'s' if d.sentences != 1 else ''}, "
            f"{d.tokens} tokens): {_display(d.label_name)} ({d.label}, p={d.probabilities[d.label]:.2f})")


def to_json_line(prediction: SentencePrediction) -> str:
    return json.dumps(prediction.to_json(), ensure_ascii=False)


# ---------------------------------------------------------------------------------- output
_COLORS = {"very negative": "#ca0020", "negative": "#f4a582", "neutral": "#e0e0e0",
           "positive": "#92c5de", "very positive": "#0571b0"}
_PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf")


def _color(names: list[str], cls: Optional[int]) -> str:
    if cls is None:
        return "#ffffff"
    return _COLORS.get(names[cls].lower(), _PALETTE[cls % len(_PALETTE)])


def _title(p: SentencePrediction) -> str:
    binary = f"; binary: {p.binary}" if p.binary is not None else ""
    return (f"text {p.text_index + 1}, sentence {p.sentence_index + 1}: {_display(p.label_name)} "
            f"({p.label}, p={p.probabilities[-1][p.label]:.2f}{binary})")


def format_pretty(p: SentencePrediction) -> str:
    """The tree drawn for a terminal, each node with its class id; a header line names the
    sentence's class and its probability."""
    return f"# {_title(p)}\n{draw(p.tree)}"


def format_ptb(p: SentencePrediction) -> str:
    """The labeled tree in bracketed form, class ids as labels (CoreNLP's ``-output pennTrees``)."""
    return to_ptb(p.tree)


def format_svg(predictions: Sequence[SentencePrediction]) -> str:
    """One SVG picture of every sentence's tree, nodes coloured by their class."""
    if not predictions:
        return to_svg([])
    names = predictions[0].label_names
    return to_svg([p.tree for p in predictions], titles=[_title(p) for p in predictions],
                  color=lambda node: _color(names, node.label))
