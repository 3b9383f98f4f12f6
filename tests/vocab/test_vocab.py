"""Tests of treernn.vocab: ids, JSON round trip, pretrained vectors and their coverage."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from treernn.corpora import read_treebank
from treernn.errors import VocabError
from treernn.vocab import PAD, UNK, VectorCoverage, Vocab, load_vectors

SHARED = Path(__file__).resolve().parents[3] / "shared"
SST_TRAIN = SHARED / "corpora" / "sst" / "train.txt"
GLOVE = SHARED / "vectors" / "glove.6B.50d.sst.txt"
SPACY = SHARED / "vectors" / "spacy-md.300d.sst.txt"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- ids
def test_pad_and_unk_are_distinct():
    vocab = Vocab(["a", "b"])
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.itos[:2] == [PAD, UNK]
    assert vocab.lookup("zzz") == 1 and vocab.lookup(PAD) == 0
    assert vocab.encode(["a", "zzz", "b"]) == [2, 1, 3]
    assert vocab.decode([2, 3, 1]) == ["a", "b", UNK]


def test_build_min_freq_lowercase_and_max_size():
    sentences = [["The", "cat"], ["the", "dog"], ["the", "cat", "sat"]]
    cased = Vocab.build(sentences, min_freq=2)
    assert cased.itos[2:] == ["cat", "the"]  # tie: order of first appearance
    lower = Vocab.build(sentences, min_freq=2, lowercase=True)
    assert lower.itos[2:] == ["the", "cat"] and lower.lookup("THE") == 2
    assert Vocab.build(sentences, lowercase=True, max_size=1).itos[2:] == ["the"]
    with pytest.raises(VocabError, match="min_freq"):
        Vocab.build(sentences, min_freq=0)


# ---------------------------------------------------------------------------- JSON
def test_json_round_trip_keeps_ids_and_case_setting(tmp_path):
    vocab = Vocab.build([["Été", "-LRB-", "a"], ["a", "\u00a0x"]], lowercase=True)
    again = Vocab.from_json(vocab.to_json())
    assert again == vocab and again.itos == vocab.itos and again.lowercase
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.lookup("ÉTÉ") == vocab.lookup("été")
    data = json.loads(path.read_text(encoding="utf-8"))  # plain JSON, never a pickle
    assert data["format"] == "treernn.vocab" and data["tokens"][:2] == [PAD, UNK]
    assert Vocab(["x"]) != Vocab(["x"], lowercase=True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not a treernn vocabulary"),
        ('{"format": "treernn.vocab", "version": 9, "lowercase": false, "tokens": []}', "version"),
        ('{"format": "treernn.vocab", "version": 1, "lowercase": "no", "tokens": []}', "lowercase"),
        ('{"format": "treernn.vocab", "version": 1, "lowercase": false, "tokens": ["a"]}',
         "first two tokens"),
        ('{"format": "treernn.vocab", "version": 1, "lowercase": false, '
         '"tokens": ["<pad>", "<unk>", "a", "a"]}', "duplicate"),
        ('{"format": "treernn.vocab", "version": 1, "lowercase": true, '
         '"tokens": ["<pad>", "<unk>", "a", "A"]}', "duplicate"),
        ('{"format": "treernn.vocab", "version": 1, "lowercase": false, '
         '"tokens": ["<pad>", "<unk>", 3]}', "list of strings"),
    ],
)
def test_from_json_rejects_bad_input(text, message):
    with pytest.raises(VocabError, match=message) as info:
        Vocab.from_json(text, source="v.json")
    assert str(info.value).startswith("v.json")


def test_load_missing_vocab_file(tmp_path):
    with pytest.raises(VocabError, match="no such file"):
        Vocab.load(tmp_path / "missing.json")


# ---------------------------------------------------------------------------- vectors: small files
GLOVE_TEXT = (
    "the 0.1 0.2 0.3\n"
    "The 1.0 1.0 1.0\n"
    "( 0.5 0.5 0.5\n"
    "cat -1 -2 -3\n"
    ". . . 9 9 9\n"        # a word with spaces, as in GloVe 840B
    "london 7 7 7\n"
)


def test_vectors_match_exact_unescaped_and_lowercased_forms(tmp_path):
    path = write(tmp_path / "v.txt", GLOVE_TEXT)
    vocab = Vocab(["The", "-LRB-", "CAT", "dog", "London"])
    matrix, coverage = load_vectors(path, vocab)
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)                  # PAD
    np.testing.assert_allclose(matrix[vocab.lookup("The")], 1.0)   # exact beats lowercased
    np.testing.assert_allclose(matrix[vocab.lookup("-LRB-")], 0.5)  # PTB unescaped
    np.testing.assert_allclose(matrix[vocab.lookup("CAT")], [-1, -2, -3])  # lowercased
    np.testing.assert_allclose(matrix[vocab.lookup("London")], 7)
    for row in (vocab.unk_id, vocab.lookup("dog")):                # small random
        assert np.abs(matrix[row]).max() <= 0.05 and np.abs(matrix[row]).max() > 0
    assert (coverage.found, coverage.total, coverage.dim) == (4, 5, 3)
    assert coverage.missing == ("dog",) and coverage.file_words == 6
    assert coverage.matched_by == {"exact": 1, "unescaped": 1, "lowercased": 2}
    assert str(coverage) == "vectors cover 4 of 5 tokens (80.0%)"


def test_lowercased_vocab_matches_lowercased_escapes_and_cased_words(tmp_path):
    path = write(tmp_path / "v.txt", "( 0.5 0.5 0.5\nLondon 7 7 7\n")
    vocab = Vocab(["-LRB-", "London"], lowercase=True)   # stored as "-lrb-", "london"
    matrix, coverage = load_vectors(path, vocab)
    assert coverage.found == 2
    assert coverage.matched_by == {"unescaped": 1, "case-insensitive": 1}
    np.testing.assert_allclose(matrix[vocab.lookup("london")], 7)


def test_random_rows_are_seeded(tmp_path):
    path = write(tmp_path / "v.txt", GLOVE_TEXT)
    vocab = Vocab(["dog", "cat"])
    a, _ = load_vectors(path, vocab, seed=3)
    b, _ = load_vectors(path, vocab, seed=3)
    c, _ = load_vectors(path, vocab, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[vocab.lookup("dog")], c[vocab.lookup("dog")])
    np.testing.assert_array_equal(a[vocab.lookup("cat")], c[vocab.lookup("cat")])


def test_word2vec_header_is_detected_and_gzip_read(tmp_path):
    path = tmp_path / "w2v.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("2 3\ncat 1 2 3\ndog 4 5 6\n")
    matrix, coverage = load_vectors(path, Vocab(["dog"]))
    assert coverage.found == 1 and coverage.file_words == 2
    np.testing.assert_allclose(matrix[2], [4, 5, 6])


@pytest.mark.parametrize(
    "text, dim, message, line",
    [
        ("a 1 2 3\nb 1 2\n", None, "wrong number of fields", 2),
        ("a 1 2 3\nb 1 2 3 4\n", None, "vector sizes differ", 2),
        ("a 1 2 3\nb 1 x 3\n", None, "non-numeric value 'x'", 2),
        ("a 1 2 3\nb 1 2 nan\n", None, "non-finite", 2),
        ("a 1 2 3\n", 4, "wrong number of fields", 1),
        ("2 3\na 1 2 3\n", 4, "header says 3-d", 1),
        ("3 3\na 1 2 3\nb 1 2 3\n", None, "header says 3 vectors", None),
        ("", None, "no vectors", None),
        ("a\n", None, "expected a word and its numbers", 1),
    ],
)
def test_bad_vector_files(tmp_path, text, dim, message, line):
    path = write(tmp_path / "v.txt", text)
    with pytest.raises(VocabError, match=message) as info:
        load_vectors(path, Vocab(["a", "b"]), dim=dim)
    prefix = f"{path}:{line}:" if line is not None else f"{path}:"
    assert str(info.value).startswith(prefix) and "\n" not in str(info.value)


def test_missing_vector_file(tmp_path):
    with pytest.raises(VocabError, match="no such file"):
        load_vectors(tmp_path / "missing.txt", Vocab(["a"]))


def test_non_utf8_lines_are_counted_not_silent(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"a 1 2\n\xff\xfe 3 4\nb 5 6\n")
    matrix, coverage = load_vectors(path, Vocab(["a", "b"]))
    assert coverage.found == 2 and coverage.undecodable_lines == 1
    assert "1 lines" in str(coverage) and "not UTF-8" in str(coverage)


def test_coverage_text_uses_thousands_separators():
    coverage = VectorCoverage(found=17771, total=19536, missing=(), path="v", dim=50,
                              file_words=17773)
    assert str(coverage) == "vectors cover 17,771 of 19,536 tokens (91.0%)"
    assert VectorCoverage(0, 0, (), "v", 1, 1).fraction == 0.0


# ---------------------------------------------------------------------------- vectors: shared files
@pytest.fixture(scope="module")
def sst_train_sentences() -> list[list[str]]:
    if not SST_TRAIN.is_file():
        pytest.skip(f"shared SST not found at {SST_TRAIN}")
    return [tree.tokens() for tree in read_treebank(SST_TRAIN).items]


# (vector file, lowercase vocab) -> (found, total); SST train vocabulary, tokens as in the
# treebank (PTB-escaped), min_freq 1.
EXPECTED_COVERAGE = {
    (GLOVE, False): (16993, 18280),
    (GLOVE, True): (15303, 16581),
    (SPACY, False): (16966, 18280),
    (SPACY, True): (15277, 16581),
}


@pytest.mark.parametrize("vectors, lowercase", list(EXPECTED_COVERAGE))
def test_coverage_of_sst_train_vocab(sst_train_sentences, vectors, lowercase):
    if not vectors.is_file():
        pytest.skip(f"shared vectors not found at {vectors}")
    vocab = Vocab.build(sst_train_sentences, lowercase=lowercase)
    matrix, coverage = load_vectors(vectors, vocab)
    assert (coverage.found, coverage.total) == EXPECTED_COVERAGE[(vectors, lowercase)]
    assert coverage.fraction > 0.9
    assert matrix.shape == (len(vocab), coverage.dim)
    np.testing.assert_array_equal(matrix[0], 0.0)
    # PTB escapes in the treebank find the unescaped vectors of the files.
    paren = vocab.lookup("-LRB-")
    assert paren != vocab.unk_id and coverage.matched_by["unescaped"] > 0
    rows = {line.split(" ", 1)[0]: line for line in vectors.read_text(encoding="utf-8").splitlines()
            if line.startswith(("( ", "the "))}
    np.testing.assert_allclose(matrix[paren], np.array(rows["("].split(" ")[1:], dtype=np.float32))
    np.testing.assert_allclose(matrix[vocab.lookup("the")],
                               np.array(rows["the"].split(" ")[1:], dtype=np.float32))
