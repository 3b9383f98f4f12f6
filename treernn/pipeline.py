"""Text in, a label for every phrase out: parse, batch, run a trained model once per batch.

::

    import treernn
    predict = treernn.load("runs/sst-tree")          # a model directory written by training
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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import torch

from treernn.device import pick_device
from treernn.errors import ParserError, TreernnError
from treernn.inputs import Item, chunked, decode_inputs
from treernn.models.build import load_model_dir, prepare_tree
from treernn.parsing import SpacyParser
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
    """

    text_index: int
    sentence_index: int
    tree: Tree
    probabilities: list[list[float]]
    label: int
    label_name: str
    label_names: list[str] = field(repr=False)
    span: Optional[tuple[int, int]] = None  # the sentence's token span in its spaCy Doc (component)

    @property
    def tokens(self) -> list[str]:
        return self.tree.tokens()

    def nodes(self) -> list[tuple[Tree, tuple[int, int], Optional[list[float]]]]:
        """(node, token span (end exclusive), probabilities or None) in post-order."""
        order, spans = self.tree.postorder(), self.tree.spans()
        probs: list[Optional[list[float]]] = list(self.probabilities)
        if len(probs) != len(order):  # chain models: the root only
            probs = [None] * (len(order) - 1) + [probs[-1]]
        return list(zip(order, spans, probs))

    def to_json(self) -> dict[str, Any]:
        """CoreNLP's sentiment field names (``sentimentValue``, ``sentiment``,
        ``sentimentDistribution``) for the sentence and for every node; see
        :data:`JSON_FIELDS`."""
        root = self.probabilities[-1]
        nodes = []
        for node, (start, end), probs in self.nodes():
            if probs is None:
                continue
            cls = node.label
            entry = {"span": [start, end], "sentimentValue": str(cls), "sentiment": _display(self.label_names[cls]),
                     "sentimentDistribution": [round(p, 4) for p in probs]}
            if node.token is not None:
                entry["token"] = node.token
            nodes.append(entry)
        return {"index": self.sentence_index, "text": self.text_index,
                "tokens": self.tokens, "sentimentValue": str(self.label),
                "sentiment": _display(self.label_name),
                "sentimentDistribution": [round(p, 4) for p in root], "nodes": nodes}


#: The JSON each sentence becomes (``treernn classify --format json``, one object per line).
JSON_FIELDS = {
    "index": "the sentence's place in its text (0-based)",
    "text": "the input text it came from (0-based; stdin: line number - 1)",
    "tokens": "the sentence's tokens",
    "sentimentValue": "the sentence's class id as a string ('0'-'4' for SST fine-grained models)",
    "sentiment": "its name, capitalized as CoreNLP writes it ('Very negative' ... 'Very positive')",
    "sentimentDistribution": "class probabilities, by class id",
    "nodes": "every labeled node in post-order: span [start, end) over tokens, sentimentValue, "
             "sentiment, sentimentDistribution, and token where the node carries one",
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
    """

    def __init__(self, model: Any, vocab: Any, parser: Any = None, batch_size: int = 256) -> None:
        if batch_size < 1:
            raise TreernnError(f"batch_size must be >= 1, got {batch_size}")
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
            self._parser = SpacyParser()
        return self._parser

    # ---------------------------------------------------------------- parsing
    def trees(self, texts: Sequence[str]) -> list[list[Tree]]:
        """The trees of each text, in the shape the model reads (see :meth:`shape`)."""
        out: list[Optional[list[Tree]]] = [None] * len(texts)
        plain = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ParserError(f"text {i}: must be a string, got {type(text).__name__}")
            bracketed = _as_ptb(text, i)
            if bracketed is not None:
                out[i] = [bracketed]
            else:
                plain.append(i)
        if plain:
            for i, trees in zip(plain, self.parser.parse_each([texts[i] for i in plain])):
                out[i] = trees
        return [self.shape(trees) for trees in out]  # type: ignore[arg-type]

    def shape(self, trees: Iterable[Tree]) -> list[Tree]:
        """Parsed trees in the shape the model reads: whitespace tokens (spaCy keeps runs of
        spaces and newlines as tokens) dropped, a sentence of nothing else dropped, binarized
        for binary cells, labels removed."""
        out = []
        for tree in trees:
            kept = drop_tokens(tree, lambda token: not token.strip())
            if kept is not None:
                out.append(prepare_tree(kept, self.config.encoder).map(label=lambda _: None))
        return out

    def _lookup_form(self, token: str) -> str:
        if token in self.vocab.stoi or self.vocab.normalize(token) in self.vocab.stoi:
            return token
        escaped = "".join(_ESCAPE.get(ch, ch) for ch in token)
        return escaped if escaped in self.vocab.stoi else token

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict_trees(self, trees: Sequence[Tree], ids: Sequence[tuple[int, int]] = ()) -> list[SentencePrediction]:
        """Predictions for already parsed trees (shaped for the model), ``batch_size`` at a time."""
        ids = list(ids) or [(i, 0) for i in range(len(trees))]
        results = []
        for b0 in range(0, len(trees), self.batch_size):
            chunk = list(trees[b0:b0 + self.batch_size])
            lookup = [t.map(token=self._lookup_form) for t in chunk]
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
                                                  self.label_names[sentence[k]], self.label_names))
        return results

    def predict(self, texts: Union[str, Iterable[str]]) -> list[SentencePrediction]:
        """One :class:`SentencePrediction` per sentence of every text, in order.

        All sentences of all texts are parsed together (``nlp.pipe``) and run through the
        model ``batch_size`` at a time.

        Raises:
            ParserError: an empty or whitespace-only text, a text that is not a string.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        trees, ids = [], []
        for i, sentence_trees in enumerate(self.trees(texts)):
            for j, tree in enumerate(sentence_trees):
                trees.append(tree)
                ids.append((i, j))
        return self.predict_trees(trees, ids)

    __call__ = predict


def _as_ptb(text: str, position: int) -> Optional[Tree]:
    """The tree of a text that is a bracketed tree, else None."""
    stripped = text.strip()
    if not (stripped.startswith("(") and stripped.endswith(")")):
        return None
    try:
        return from_ptb(stripped, f"<text {position}>")
    except TreernnError:
        return None  # "(Not) bad at all." is a sentence, not a tree


def load(directory: Union[str, Path], device: str = "cpu", parser: Any = None, batch_size: int = 256) -> Predictor:
    """A :class:`Predictor` for a trained model directory.

    Raises:
        CheckpointError: a missing or unreadable directory or file, a pickle in it, weights that
            do not fit ``config.json``, a directory from another format version.
    """
    model, _ = load_model_dir(directory, pick_device(device))
    return Predictor(model, model.vocab, parser=parser, batch_size=batch_size)


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
            empty, or the parser refused it); they are skipped and the stream goes on.
        report: called with each such message as it happens (instead of, or beside, ``errors``).
    """
    def note(message: str) -> None:
        if errors is not None:
            errors.append(message)
        if report is not None:
            report(message)

    yield from chunked(decode_inputs(items, note), lambda pending: _predict_items(predictor, pending),
                       note, chunk)


def _predict_items(predictor: Predictor, pending: list[Item]) -> list[SentencePrediction]:
    out = predictor.predict([text for _, _, text in pending])
    for p in out:
        p.text_index = pending[p.text_index][0] - 1
    return out


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
    return (f"text {p.text_index + 1}, sentence {p.sentence_index + 1}: {_display(p.label_name)} "
            f"({p.label}, p={p.probabilities[-1][p.label]:.2f})")


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
