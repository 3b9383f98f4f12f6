"""The document score (``classify --document``, ``/v1/classify`` with ``"document": true``): the
sentences' root distributions weighted by their number of tokens, the same in both places."""

from __future__ import annotations

import pytest

from treernn.pipeline import DocumentPrediction, SentencePrediction, document_prediction, documents, with_documents
from treernn.serve.app import document_scores
from treernn.trees import Tree

NAMES = ["ham", "spam"]


def sentence(text: int, index: int, n_tokens: int, p_spam: float) -> SentencePrediction:
    tree = Tree(None, [Tree(token=f"w{k}") for k in range(n_tokens)]) if n_tokens > 1 else Tree(token="w")
    label = int(p_spam > 0.5)
    return SentencePrediction(text, index, tree, [[1 - p_spam, p_spam]], label, NAMES[label], NAMES)


def test_sentences_are_weighted_by_their_tokens():
    doc = document_prediction([sentence(0, 0, 2, 0.9), sentence(0, 1, 6, 0.2)])
    assert doc.probabilities[1] == pytest.approx((2 * 0.9 + 6 * 0.2) / 8)
    assert (doc.label_name, doc.sentences, doc.tokens) == ("ham", 2, 8)  # the long sentence outweighs
    assert doc.to_json()["labelDistribution"]["spam"] == pytest.approx(0.375, abs=1e-4)


def test_each_text_gets_its_document_after_its_last_sentence():
    stream = [sentence(0, 0, 3, 0.9), sentence(0, 1, 3, 0.8), sentence(2, 0, 4, 0.1)]
    out = list(with_documents(stream))
    kinds = ["doc" if isinstance(x, DocumentPrediction) else "s" for x in out]
    assert kinds == ["s", "s", "doc", "s", "doc"]
    assert [d.text_index for d in documents(stream)] == [0, 2]


def test_the_server_computes_the_same_score_from_its_json():
    stream = [sentence(0, 0, 2, 0.9), sentence(0, 1, 6, 0.2), sentence(1, 0, 5, 0.7)]
    wire = [{**s.to_json(nodes=False), "text": s.text_index} for s in stream]
    assert document_scores(wire) == [d.to_json() for d in documents(stream)]
