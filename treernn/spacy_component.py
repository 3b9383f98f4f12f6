"""treernn as a spaCy pipeline component: ``nlp.add_pipe("treernn")`` (the bundled SST sentiment
model) or ``nlp.add_pipe("treernn", config={"model": DIR})`` (a trained model directory).

spaCy finds the factory through the ``spacy_factories`` entry point of this package, so no
import is needed. The component goes after the parser: it reads each sentence's dependency
parse, runs the model over all sentences of a batch of documents at once, and sets

- ``doc._.treernn``: one :class:`~treernn.pipeline.SentencePrediction` per sentence;
- ``span._.treernn``: the prediction of a sentence span (``doc.sents``), None for others.

The predictions are the same as ``treernn.load(DIR)(texts)`` gives for the same texts.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from treernn.errors import ParserError
from treernn.pipeline import load
from treernn.trees import from_spacy


def _span_prediction(span: Span):
    for p in span.doc._.treernn or ():
        if p.span == (span.start, span.end):
            return p
    return None


class TreernnComponent:
    """Labels every phrase of every sentence with a trained treernn model.

    Args:
        nlp: the pipeline (it must parse before this component).
        name: the component's name.
        model: a treernn model directory; None: the bundled SST sentiment model.
        batch_size: sentences per model call.
        device: ``cpu``, ``cuda`` or ``auto``.
    """

    def __init__(self, nlp: Language, name: str, model: Optional[str], batch_size: int = 256,
                 device: str = "cpu") -> None:
        if "parser" not in nlp.pipe_names:
            raise ParserError("the treernn component needs a pipeline with a dependency parser")
        self.name = name
        self.predictor = load(model or None, device=device, batch_size=batch_size, max_tokens=None, max_chars=None)
        if not Doc.has_extension("treernn"):
            Doc.set_extension("treernn", default=None)
        if not Span.has_extension("treernn"):
            Span.set_extension("treernn", getter=_span_prediction)

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterator[Doc]:
        """Label ``batch_size`` documents at a time: all their sentences go through the model
        together."""
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._label(batch)
                batch = []
        if batch:
            yield from self._label(batch)

    def _label(self, docs: list[Doc]) -> list[Doc]:
        trees, ids, spans = [], [], []
        for i, doc in enumerate(docs):
            sents = list(doc.sents) if doc.has_annotation("DEP") else []
            j = 0
            for sent, tree in zip(sents, from_spacy(doc) if sents else []):
                for shaped in self.predictor.shape([tree]):  # none for a whitespace-only sentence
                    trees.append(shaped)
                    ids.append((i, j))
                    spans.append((sent.start, sent.end))
                    j += 1
        predictions = self.predictor.predict_trees(trees, ids) if trees else []
        per_doc: list[list] = [[] for _ in docs]
        for p, span in zip(predictions, spans):
            p.span = span  # the sentence's token span in its Doc
            per_doc[p.text_index].append(p)
        for doc, preds in zip(docs, per_doc):
            doc._.treernn = preds
        return docs


@Language.factory("treernn", default_config={"model": None, "batch_size": 256, "device": "cpu"})
def make_treernn(nlp: Language, name: str, model: Optional[str], batch_size: int, device: str) -> TreernnComponent:
    """The spaCy factory of :class:`TreernnComponent`."""
    return TreernnComponent(nlp, name, model, batch_size, device)
