"""Texts in, CoreNLP-shaped sentences out: what the server's model thread runs for each batch.

The texts of every request in a batch are parsed together (one ``nlp.pipe``) and all their
sentences go through the model together (:meth:`treernn.pipeline.Predictor.predict_trees`,
``batch_size`` sentences a call), the same parse and the same trees as
:meth:`Predictor.predict <treernn.pipeline.Predictor.predict>` gives for each text, so the
labels are those of ``treernn classify``. The server's text is always plain text (a text in
brackets is not read as a tree, as CoreNLP would not).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Optional, Sequence, Union

from treernn import pipeline
from treernn.corpora.texts import token_limit_problem
from treernn.errors import RequestError
from treernn.pipeline import CORENLP_CLASSES, Predictor, SentencePrediction, corenlp_values
from treernn.serve.corenlp import Sentence, Token, document_json, document_text
from treernn.trees import Tree, from_spacy


class Annotator:
    """A :class:`~treernn.pipeline.Predictor` that keeps each token's place in the text.

    Args:
        predictor: the model, its vocabulary and its spaCy parser.
        max_tokens: the longest sentence labeled (None: no limit); a longer one becomes a
            sentence with ``error`` set and no labels, the text's other sentences are labeled.
    """

    def __init__(self, predictor: Predictor, max_tokens: Optional[int]) -> None:
        self.predictor = predictor
        self.max_tokens = max_tokens
        self.values = corenlp_values(predictor.label_names)  # CoreNLP's 0-4 value of each class, or None

    def annotate(self, texts: Sequence[str], nodes: Optional[Sequence[bool]] = None) -> list[list[Sentence]]:
        """The sentences of each text, labeled: CoreNLP's fields in ``fields``; where
        ``nodes[i]`` is true, text ``i``'s sentences also get treernn's own JSON (every node,
        as ``treernn classify --format json`` writes it) in ``prediction``. One call at a time."""
        with pipeline.paused_gc(self.predictor.pause_gc):  # as Predictor.predict: no gc walks mid-batch
            return self._annotate(texts, nodes or [False] * len(texts))

    def _annotate(self, texts: Sequence[str], nodes: Sequence[bool]) -> list[list[Sentence]]:
        nlp = self.predictor.parser.nlp
        # spaCy adds every new word it meets to its vocabulary for good: a server that runs
        # for months would grow with its input. In a memory zone (spaCy >= 3.8) the strings
        # and lexemes a batch adds are dropped after it; nothing of the Docs outlives the zone.
        zone = nlp.memory_zone() if hasattr(nlp, "memory_zone") else contextlib.nullcontext()
        with zone:
            return self._annotate_docs(texts, nodes, nlp.pipe(list(texts), batch_size=256))

    def _annotate_docs(self, texts: Sequence[str], nodes: Sequence[bool], docs: Any) -> list[list[Sentence]]:
        documents: list[list[Sentence]] = []
        trees: list[Any] = []
        waiting: list[tuple[Sentence, int]] = []  # the sentences to label, with their text's index
        for i, (text, doc) in enumerate(zip(texts, docs)):
            kept = [tok for tok in doc if tok.text.strip()]  # whitespace tokens, as the pipeline drops them
            position = {tok.i: k for k, tok in enumerate(kept)}
            sentences: list[Sentence] = []
            if self.predictor.text_rule is not None:  # a model trained on texts: one tree per text
                documents.append(self._whole_text(i, text, doc, kept, trees, waiting))
                continue
            for sent, tree in zip(doc.sents, from_spacy(doc) if len(doc) else []):
                tokens = [_token(text, kept, position[tok.i], n + 1)
                          for n, tok in enumerate(t for t in sent if t.i in position)]
                if not tokens:
                    continue  # a sentence of whitespace only
                sentence = Sentence(len(sentences), _span_text(text, tokens), tokens)
                sentences.append(sentence)
                if self.max_tokens is not None and len(tokens) > self.max_tokens:
                    sentence.error = (f"sentence {sentence.index + 1} of {len(tokens)} tokens, over the "
                                      f"limit of {self.max_tokens} (--max-tokens)")
                    continue
                trees.append(self.predictor.shape([tree])[0])
                waiting.append((sentence, i))
            documents.append(sentences)
        if trees:
            predictions = self.predictor.predict_trees(trees, [(i, s.index) for s, i in waiting])
            for (sentence, i), p in zip(waiting, predictions):
                self._label(sentence, p, nodes[i])
        return documents

    def _whole_text(self, i: int, text: str, doc: Any, kept: list, trees: list, waiting: list) -> list[Sentence]:
        """A model trained on texts (``text_rule``) reads a text as one tree, as in training and
        in ``treernn classify``: one sentence spanning the whole text."""
        if not kept:
            return []
        sentence = Sentence(0, _span_text(text, [_token(text, kept, 0, 1), _token(text, kept, len(kept) - 1, 1)]),
                            [_token(text, kept, k, k + 1) for k in range(len(kept))])
        if self.predictor.text_rule == "parsed":
            parsed = from_spacy(doc)
        else:
            parsed = [Tree(None, [Tree(token=t.text) for t in kept]) if len(kept) > 1 else Tree(token=kept[0].text)]
        problem = token_limit_problem(parsed, self.predictor.text_rule, self.max_tokens)
        shaped = [] if problem else self.predictor._text(i, parsed, lambda _, message: None)
        if problem is not None:
            sentence.error = problem
        elif shaped:
            trees.append(shaped[0][1])
            waiting.append((sentence, i))
        return [sentence]

    def _label(self, sentence: Sentence, p: SentencePrediction, nodes: bool) -> None:
        full = p.to_json(nodes=nodes)
        sentence.fields = {k: v for k, v in full.items() if k not in ("index", "text", "tokens", "nodes")}
        sentence.prediction = full if nodes else None
        if self.values is not None:
            sentence.sentiment = CORENLP_CLASSES[self.values[p.label]]


def _token(text: str, kept: list, k: int, index: int) -> Token:
    """Token ``k`` of the text's non-whitespace tokens, with the text around it as CoreNLP's
    ``before`` / ``after`` (the whitespace between it and its neighbours)."""
    tok = kept[k]
    begin, end = tok.idx, tok.idx + len(tok.text)
    before_start = kept[k - 1].idx + len(kept[k - 1].text) if k else 0
    after_end = kept[k + 1].idx if k + 1 < len(kept) else len(text)
    return Token(index, tok.text, begin, end, text[before_start:begin], text[end:after_end])


def _span_text(text: str, tokens: list[Token]) -> str:
    return text[tokens[0].begin:tokens[-1].end]


#: What a request asks of a text: CoreNLP's JSON or text document (the answer's body, rendered
#: where the model runs, so that the event loop only sends bytes), or the sentences with
class PairAnnotator:
    """A pair model's side of the server (``/v1/relate``): pairs of texts in, a score (or a
    label) per pair out, as ``treernn relate`` writes them.

    Args:
        predictor: a :class:`~treernn.pipeline.PairPredictor`.
    """

    kind = "pair"

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    def relate(self, pairs: Sequence[Sequence[str]]) -> list[dict]:
        """``{"ok": {...}}`` (``treernn relate``'s fields) or ``{"error": reason}`` per pair."""
        errors: dict[int, str] = {}
        results = self.predictor.relate(pairs, refuse=lambda i, message: errors.setdefault(i, message))
        out: list[dict] = [{"error": errors.get(i, "not labeled")} for i in range(len(pairs))]
        for r in results:
            body = r.to_json()
            body.pop("pair")
            out[r.index] = {"ok": body}
        return out

    def annotate(self, texts: Sequence[str], nodes: Optional[Sequence[bool]] = None) -> list:
        raise RequestError("this server's model is a pair model: POST /v1/relate with "
                           '{"pairs": [["a text", "another text"], ...]}')


#: treernn's own per-node JSON (``/v1/classify``); pairs (``/v1/relate``, pair models).
FORMATS = ("json", "text", "classify", "relate")


def respond(annotator: Any, items: Sequence[tuple[Any, str]]) -> list[Any]:
    """Annotate ``(text, format)`` items together (:data:`FORMATS`): a body (bytes) for
    ``json`` and ``text``, the sentences for ``classify``; for ``relate`` the item is a pair of
    texts and its answer :meth:`PairAnnotator.relate`'s."""
    if any(fmt == "relate" for _, fmt in items):
        if not isinstance(annotator, PairAnnotator):
            raise RequestError("this server's model labels single texts; /v1/relate needs a pair model "
                               "(treernn serve --model PAIR_DIR)")
        if not all(fmt == "relate" for _, fmt in items):
            raise RequestError("a batch mixed pairs with single texts")  # the batcher retries each alone
        return annotator.relate([pair for pair, _ in items])
    documents = annotator.annotate([text for text, _ in items], [fmt == "classify" for _, fmt in items])
    out: list[Union[bytes, list[Sentence]]] = []
    for (_, fmt), sentences in zip(items, documents):
        if fmt == "json":
            out.append(json.dumps(document_json(sentences), ensure_ascii=False, separators=(",", ":")).encode())
        elif fmt == "text":
            out.append(document_text(sentences).encode())
        else:
            out.append(sentences)
    return out
