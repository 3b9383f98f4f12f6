"""treernn loads spaCy without the components a dependency tree does not read
(:data:`treernn.parsing.NOT_FOR_TREES`): the trees must be the very ones the full pipeline
gives (heads, relations, sentence boundaries), here on 300 SST sentences."""

from __future__ import annotations

import pytest

from treernn.parsing import NOT_FOR_TREES, SpacyParser, load_spacy
from treernn.trees import to_ptb


@pytest.fixture(scope="module")
def texts(sst_dir):
    from treernn.corpora import load_sst

    test = dict(load_sst(sst_dir, classes=5).splits())["test"]
    # raw text as a user has it: two SST sentences per text, so sentence splitting is checked too
    sentences = [" ".join(t.tokens()) for t in test[:300]]
    return [f"{a} {b}" for a, b in zip(sentences[::2], sentences[1::2])]


def test_trimmed_pipeline_gives_the_full_pipelines_trees(texts, nlp):
    full = load_spacy(full=True)
    assert set(NOT_FOR_TREES) & set(full.pipe_names)  # there is something to leave out
    assert not set(NOT_FOR_TREES) & set(nlp.pipe_names) and "parser" in nlp.pipe_names

    def parses(pipeline):
        return [[(t.text, t.head.i, t.dep_, t.is_sent_start) for t in doc] for doc in pipeline.pipe(texts)]

    assert parses(nlp) == parses(full)
    trimmed = [[to_ptb(t) for t in trees] for trees in SpacyParser(nlp=nlp).parse_each(texts)]
    assert trimmed == [[to_ptb(t) for t in trees] for trees in SpacyParser(nlp=full).parse_each(texts)]
    assert sum(len(trees) for trees in trimmed) >= len(texts) * 2  # sentences were split


def test_a_pipeline_passed_in_runs_as_given():
    full = load_spacy(full=True)
    assert SpacyParser(nlp=full).nlp is full


def test_new_words_do_not_stay_in_the_vocabulary_of_our_pipeline():
    from treernn.parsing import SpacyParser

    parser = SpacyParser()
    parser.parse_each(["A warm-up sentence."])
    before = len(parser.nlp.vocab.strings)
    words = [f"zorblax{i}qu" for i in range(300)]
    trees = parser.parse_each([f"The {w} was great." for w in words])
    assert [t[0].tokens()[1] for t in trees] == words  # the trees keep their words
    assert len(parser.nlp.vocab.strings) == before  # spaCy's vocabulary does not


def test_a_pipeline_passed_in_is_left_alone(nlp):
    from treernn.parsing import SpacyParser

    before = len(nlp.vocab.strings)
    SpacyParser(nlp=nlp).parse_each(["The quuxblorf was great."])
    assert len(nlp.vocab.strings) > before
