"""Tests of treernn.corpora: treebank files, labeled-tree TSV files, SST (load, download, stats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treernn.corpora import (
    SSTSplits,
    download_sst,
    find_sst,
    load_sst,
    parse_tree_line,
    read_labeled_trees,
    read_treebank,
    sst_cache_dir,
    sst_stats,
    write_labeled_trees,
)
from treernn.errors import CorpusError, TreeSyntaxError
from treernn.trees import Tree, from_ptb

SHARED = Path(__file__).resolve().parents[3] / "shared"
SST_DIR = SHARED / "corpora" / "sst"

TINY = {
    "train": "(3 (2 A) (4 good))\n(1 (2 A) (0 bad))\n(2 (2 It) (2 is))\n",
    "dev": "(4 (2 very) (4 good))\n(2 (2 so) (2 so))\n",
    "test": "(0 (2 very) (0 bad))\n",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_sst_dir(folder: Path, splits: dict[str, str] = TINY) -> Path:
    for split, text in splits.items():
        write(folder / f"{split}.txt", text)
    return folder


def make_sst_zip(path: Path, prefix: str = "trees/", splits: dict[str, str] = TINY) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for split, text in splits.items():
            zf.writestr(f"{prefix}{split}.txt", text)
    return path


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """No test sees the user's $TREERNN_DATA or cache."""
    monkeypatch.delenv("TREERNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# ---------------------------------------------------------------------------- treebank files
def test_read_treebank_reads_one_tree_per_line(tmp_path):
    path = write(tmp_path / "t.txt", "(3 (2 a) (4 b))\n(1 (2 -LRB-) (1 c))\n\n\n")
    result = read_treebank(path)
    assert len(result) == 2 and result.lines == [1, 2] and result.skipped == 0
    assert result.items[0] == from_ptb("(3 (2 a) (4 b))", label_type=int)
    assert result.items[1].tokens() == ["-LRB-", "c"]
    assert read_treebank(path, unescape=True).items[1].tokens() == ["(", "c"]
    assert read_treebank(path, label_type=None).items[0].label == "3"


def test_read_treebank_handles_crlf_and_bom(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeff(3 (2 a) (4 b))\r\n(1 (2 c) (1 d))\r\n".encode("utf-8"))
    result = read_treebank(path)
    assert [t.tokens() for t in result.items] == [["a", "b"], ["c", "d"]]


def test_unbalanced_bracket_names_file_line_and_column(tmp_path):
    path = write(tmp_path / "t.txt", "(3 (2 a) (4 b))\n(1 (2 c) (1 d))\n(2 (2 e) (2 f)))\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_treebank(path)
    err = info.value
    assert (err.source, err.line, err.column) == (str(path), 3, 16)
    assert str(err).startswith(f"{path}:3:16: ")
    assert "\n" not in str(err)


def test_unclosed_bracket_is_reported_at_its_line(tmp_path):
    path = write(tmp_path / "t.txt", "(3 (2 a) (4 b))\n(1 (2 c) (1 d)\n(2 (2 e) (2 f))\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_treebank(path)
    assert (info.value.line, info.value.column) == (2, 1)
    assert "unclosed" in str(info.value)


def test_non_integer_label_is_reported_at_the_label(tmp_path):
    path = write(tmp_path / "t.txt", "(3 (2 a) (4 b))\n(1 (2 c) (pos d))\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_treebank(path)
    assert (info.value.line, info.value.column) == (2, 11)
    assert "'pos'" in str(info.value)


def test_two_trees_on_one_line_is_an_error(tmp_path):
    path = write(tmp_path / "t.txt", "(3 (2 a) (4 b)) (1 (2 c) (1 d))\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_treebank(path)
    assert (info.value.line, info.value.column) == (1, 17)


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_empty_line_in_the_middle_is_a_bad_line(tmp_path, blank):
    path = write(tmp_path / "t.txt", f"(3 (2 a) (4 b))\n{blank}\n(1 (2 c) (1 d))\n")
    with pytest.raises(TreeSyntaxError, match="empty line") as info:
        read_treebank(path)
    assert (info.value.source, info.value.line) == (str(path), 2)


def test_empty_first_line_is_a_bad_line(tmp_path):
    path = write(tmp_path / "t.txt", "\n(3 (2 a) (4 b))\n")
    with pytest.raises(TreeSyntaxError, match="empty line"):
        read_treebank(path)


def test_skip_bad_skips_and_counts_every_bad_line(tmp_path):
    lines = [
        "(3 (2 a) (4 b))",
        "(1 (2 c) (1 d)",       # unclosed
        "",                     # empty line
        "(x (2 e) (2 f))",      # bad label
        "(2 (2 g) (2 h))",
        "(2 (2 i)) extra",      # text after the tree
    ]
    path = write(tmp_path / "t.txt", "\n".join(lines) + "\n")
    result = read_treebank(path, skip_bad=True)
    assert result.skipped == 4
    assert [t.tokens() for t in result.items] == [["a", "b"], ["g", "h"]]
    assert result.lines == [1, 5]
    assert [e.split(":")[1] for e in result.errors] == ["2", "3", "4", "6"]
    assert all(e.startswith(str(path)) for e in result.errors)


def test_missing_file_is_one_line_naming_the_path(tmp_path):
    path = tmp_path / "nope" / "train.txt"
    with pytest.raises(CorpusError) as info:
        read_treebank(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(CorpusError, match="directory"):
        read_treebank(tmp_path)


def test_non_utf8_file_names_byte_offset_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("(3 (2 a) (4 b))\n(2 (2 caf\u00e9) (2 x))\n".encode("latin-1"))
    with pytest.raises(CorpusError) as info:
        read_treebank(path)
    message = str(info.value)
    assert str(path) in message and "UTF-8" in message
    assert "byte offset 25" in message and "line 2" in message


def test_no_break_space_stays_inside_its_token():
    # SST has tokens such as "8\xa01\/2"; only ASCII whitespace separates tokens.
    tree = parse_tree_line("(2 (2 Contempt) (2 8\u00a01\\/2))", label_type=int)
    assert tree.tokens() == ["Contempt", "8\u00a01\\/2"]
    assert all(node.label == 2 for node in tree.postorder())
    with pytest.raises(TreeSyntaxError) as info:
        parse_tree_line("(2 (2 8\u00a01\\/2) (x y))", "f.txt", 7, label_type=int)
    assert (info.value.line, info.value.column) == (7, 16)


# ---------------------------------------------------------------------------- SST
@pytest.fixture(scope="module")
def sst5() -> SSTSplits:
    if not SST_DIR.is_dir():
        pytest.skip(f"shared SST not found at {SST_DIR}")
    return load_sst(SST_DIR)


@pytest.fixture(scope="module")
def sst2() -> SSTSplits:
    if not SST_DIR.is_dir():
        pytest.skip(f"shared SST not found at {SST_DIR}")
    return load_sst(SST_DIR, classes=2)


def test_sst_fine_grained_counts(sst5):
    assert (len(sst5.train), len(sst5.dev), len(sst5.test)) == (8544, 1101, 2210)
    assert sst5.classes == 5 and sst5.skipped == {"train": 0, "dev": 0, "test": 0}
    assert sst5.source == SST_DIR
    for trees in sst5.splits().values():
        for tree in trees:
            assert tree.is_binary()
            assert all(type(n.label) is int and 0 <= n.label <= 4 for n in tree.postorder())


def test_sst_binary_counts_and_labels(sst2):
    assert (len(sst2.train), len(sst2.dev), len(sst2.test)) == (6920, 872, 1821)
    assert sst2.dropped_neutral == {"train": 1624, "dev": 229, "test": 389}
    for trees in sst2.splits().values():
        for tree in trees:
            assert tree.label in (0, 1)
            assert all(n.label in (0, 1, None) for n in tree.postorder())


def test_sst_binary_maps_fine_labels(sst5, sst2):
    # The first training tree has a positive root: same tree, labels mapped.
    fine, binary = sst5.train[0], sst2.train[0]
    assert fine.tokens() == binary.tokens()
    expected = {0: 0, 1: 0, 2: None, 3: 1, 4: 1}
    assert [expected[label] for label in fine.labels()] == binary.labels()


def test_sst_stats_are_json_and_sane(sst5, sst2):
    for splits, classes in ((sst5, 5), (sst2, 2)):
        stats = sst_stats(splits)
        assert json.loads(json.dumps(stats)) == stats
        assert stats["classes"] == classes
        for name, entry in stats["splits"].items():
            trees = splits[name]
            assert entry["trees"] == len(trees)
            assert sum(entry["root_labels"].values()) == len(trees)
            assert sum(entry["phrase_labels"].values()) == entry["phrases"]
            assert entry["phrases"] + entry["unlabeled"] == entry["nodes"]
            # SST trees are binary: 2 * tokens - 1 nodes per tree.
            assert entry["nodes"] == 2 * entry["tokens"] - entry["trees"]
            assert list(entry["root_labels"]) == [str(c) for c in range(classes)]
    fine = sst_stats(sst5)["splits"]
    assert fine["train"]["phrases"] == 318582
    assert fine["train"]["root_labels"] == {"0": 1092, "1": 2218, "2": 1624, "3": 2322, "4": 1288}
    for entry in fine.values():  # neutral is by far the most frequent phrase label
        assert max(entry["phrase_labels"], key=entry["phrase_labels"].get) == "2"
        assert entry["unlabeled"] == 0
    assert sst_stats(sst2)["dropped_neutral"] == {"train": 1624, "dev": 229, "test": 389}
    assert sst_stats(sst5)["skipped"] == {"train": 0, "dev": 0, "test": 0}
    assert "dropped_neutral" not in sst_stats(sst5)
    binary = sst_stats(sst2)["splits"]
    assert binary["train"]["root_labels"] == {"0": 3310, "1": 3610}
    assert binary["train"]["dropped_neutral"] == 1624
    # Neutral nodes become unlabeled: fewer than the neutral nodes of all trees.
    assert 0 < binary["train"]["unlabeled"] < fine["train"]["phrase_labels"]["2"]


def test_sst_stats_accept_a_plain_mapping():
    trees = [from_ptb("(3 (2 a) (4 b))", label_type=int)]
    stats = sst_stats({"mine": trees})
    assert stats == {"splits": {"mine": {
        "trees": 1, "nodes": 3, "phrases": 3, "unlabeled": 0, "tokens": 2,
        "root_labels": {"3": 1}, "phrase_labels": {"2": 1, "3": 1, "4": 1},
    }}}


def test_sst_rejects_label_out_of_range(tmp_path):
    folder = make_sst_dir(tmp_path / "sst", {**TINY, "dev": "(4 (2 a) (4 b))\n(7 (2 c) (2 d))\n"})
    with pytest.raises(TreeSyntaxError) as info:
        load_sst(folder)
    err = info.value
    assert (err.source, err.line, err.column) == (str(folder / "dev.txt"), 2, 2)
    assert "0-4" in str(err)


def test_sst_rejects_unlabeled_node_and_skip_bad_counts(tmp_path):
    folder = make_sst_dir(tmp_path / "sst", {**TINY, "test": "(0 (2 a) (0 b))\n((2 c) (2 d))\n"})
    with pytest.raises(TreeSyntaxError, match="without a sentiment label") as info:
        load_sst(folder)
    assert info.value.line == 2
    splits = load_sst(folder, skip_bad=True)
    assert splits.skipped == {"train": 0, "dev": 0, "test": 1} and len(splits.test) == 1


def test_sst_classes_must_be_2_or_5(tmp_path):
    with pytest.raises(CorpusError, match="classes"):
        load_sst(make_sst_dir(tmp_path / "sst"), classes=3)


def test_binary_mode_on_tiny_sst(tmp_path):
    splits = load_sst(make_sst_dir(tmp_path / "sst"), classes=2)
    assert [t.label for t in splits.train] == [1, 0]
    assert splits.dropped_neutral == {"train": 1, "dev": 1, "test": 0}
    assert splits.train[0].labels() == [None, 1, 1]


# ---------------------------------------------------------------------------- SST locations
def test_explicit_path_wins_over_env_and_cache(tmp_path, monkeypatch):
    explicit = make_sst_dir(tmp_path / "explicit")
    monkeypatch.setenv("TREERNN_DATA", str(make_sst_dir(tmp_path / "data" / "sst").parent))
    make_sst_dir(sst_cache_dir())
    assert find_sst(explicit) == explicit
    assert load_sst(explicit).source == explicit


def test_explicit_path_accepts_sst_and_trees_subfolders(tmp_path):
    nested = make_sst_dir(tmp_path / "a" / "trees")
    assert find_sst(tmp_path / "a") == nested
    nested = make_sst_dir(tmp_path / "b" / "sst")
    assert find_sst(tmp_path / "b") == nested


def test_explicit_path_without_files_is_an_error(tmp_path):
    make_sst_dir(sst_cache_dir())  # no fallback to the cache for an explicit path
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="train.txt") as info:
        load_sst(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value)
    with pytest.raises(CorpusError, match="no such directory"):
        load_sst(tmp_path / "missing")


def test_env_var_directory_holding_sst(tmp_path, monkeypatch):
    data = tmp_path / "data"
    folder = make_sst_dir(data / "sst")
    make_sst_dir(sst_cache_dir())
    monkeypatch.setenv("TREERNN_DATA", str(data))
    assert find_sst() == folder


def test_env_var_directory_holding_the_files_directly(tmp_path, monkeypatch):
    data = make_sst_dir(tmp_path / "data")
    monkeypatch.setenv("TREERNN_DATA", str(data))
    assert find_sst() == data


def test_env_var_without_sst_falls_back_to_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TREERNN_DATA", str(tmp_path))
    cache = make_sst_dir(sst_cache_dir())
    assert find_sst() == cache


def test_cache_dir_honours_xdg_cache_home(tmp_path, monkeypatch):
    assert sst_cache_dir() == tmp_path / "xdg-cache" / "treernn" / "sst"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert sst_cache_dir() == Path.home() / ".cache" / "treernn" / "sst"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert sst_cache_dir() == Path.home() / ".cache" / "treernn" / "sst"


# ---------------------------------------------------------------------------- SST download
def test_download_from_file_url_then_load(tmp_path):
    url = make_sst_zip(tmp_path / "sst.zip").as_uri()
    cache = tmp_path / "cache" / "sst"
    assert download_sst(url, cache) == cache
    assert sorted(p.name for p in cache.iterdir()) == ["dev.txt", "test.txt", "train.txt"]
    assert [p.name for p in cache.parent.iterdir()] == ["sst"]  # no temporary folder left
    splits = load_sst(cache_dir=cache, url="http://127.0.0.1:9/unused.zip")
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (3, 2, 1)
    # Already there: nothing is downloaded again.
    assert download_sst("http://127.0.0.1:9/unused.zip", cache) == cache


def test_load_sst_downloads_into_the_user_cache(tmp_path):
    url = make_sst_zip(tmp_path / "sst.zip").as_uri()
    splits = load_sst(url=url)
    assert splits.source == tmp_path / "xdg-cache" / "treernn" / "sst"
    assert len(splits.train) == 3


def test_download_into_an_existing_empty_folder(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    assert download_sst(make_sst_zip(tmp_path / "sst.zip").as_uri(), cache) == cache
    assert (cache / "train.txt").is_file()


def test_offline_error_is_one_line_naming_the_options(tmp_path):
    url = "http://127.0.0.1:9/x.zip"
    cache = tmp_path / "cache" / "sst"
    with pytest.raises(CorpusError) as info:
        load_sst(url=url, cache_dir=cache)
    message = str(info.value)
    assert "\n" not in message
    for part in ("--path", "$TREERNN_DATA", str(cache), url):
        assert part in message
    assert not cache.exists()
    assert list(cache.parent.iterdir()) == []  # the temporary folder was removed


def test_not_found_without_download_names_the_options(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_sst(download=False)
    message = str(info.value)
    assert "\n" not in message and "--path" in message and str(sst_cache_dir()) in message


def test_download_of_a_file_that_is_not_a_zip(tmp_path):
    bad = write(tmp_path / "bad.zip", "this is not a zip")
    with pytest.raises(CorpusError, match="not a valid zip"):
        download_sst(bad.as_uri(), tmp_path / "cache" / "sst")
    assert not (tmp_path / "cache" / "sst").exists()


def test_download_of_a_zip_without_test_split(tmp_path):
    partial = {"train": TINY["train"], "dev": TINY["dev"]}
    archive = make_sst_zip(tmp_path / "partial.zip", splits=partial)
    with pytest.raises(CorpusError, match="test.txt"):
        download_sst(archive.as_uri(), tmp_path / "cache" / "sst")


def test_download_accepts_files_at_the_zip_root(tmp_path):
    archive = make_sst_zip(tmp_path / "flat.zip", prefix="")
    cache = download_sst(archive.as_uri(), tmp_path / "cache" / "sst")
    assert (cache / "test.txt").read_text(encoding="utf-8") == TINY["test"]


def test_download_refuses_a_non_empty_incomplete_cache(tmp_path):
    cache = tmp_path / "cache"
    write(cache / "train.txt", TINY["train"])
    with pytest.raises(CorpusError, match="remove it"):
        download_sst(make_sst_zip(tmp_path / "sst.zip").as_uri(), cache)


# ---------------------------------------------------------------------------- labeled TSV
def test_labeled_trees_round_trip(tmp_path):
    items = [
        ("positive", from_ptb("(S (NP (DT the) (NN film)) (VP (VBZ works)))")),
        ("neg ative", from_ptb("(S (NP (PRP it)) (VP (VBZ drags) (PRN (-LRB- -LRB-) x)))")),
        ("3", from_ptb("(3 (2 a) (4 b))", label_type=int)),
    ]
    path = tmp_path / "items.tsv"
    assert write_labeled_trees(path, items) == 3
    result = read_labeled_trees(path)
    assert result.skipped == 0 and result.lines == [1, 2, 3]
    assert [item.label for item in result.items] == ["positive", "neg ative", "3"]
    assert result.items[0].tree == items[0][1] and result.items[1].tree == items[1][1]
    assert result.items[2].tree == items[2][1].map(label=str)
    write_labeled_trees(tmp_path / "ints.tsv", items[2:])
    assert read_labeled_trees(tmp_path / "ints.tsv", label_type=int).items[0].tree == items[2][1]
    label, tree = result.items[0]  # items are (label, tree) pairs
    assert label == "positive" and tree.tokens() == ["the", "film", "works"]
    # No temporary file left beside the written files.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ints.tsv", "items.tsv"]


_words = st.text(alphabet="abcXYZ\\/-.,'`!é", min_size=1, max_size=5)
_labels = st.text(
    alphabet=st.characters(blacklist_characters="\t\r\n", blacklist_categories=("Cs",)),
    min_size=1, max_size=8,
).filter(lambda s: s.strip() != "")


@st.composite
def _trees(draw, depth: int = 3) -> Tree:
    # Leaves are labeled: "(S (NN x))" with an unlabeled leaf "(S x)" would read back as a
    # labeled leaf, an ambiguity of the bracketed format itself.
    if depth == 0 or draw(st.booleans()):
        return Tree(label=draw(st.sampled_from(["NN", "1"])), token=draw(_words))
    kids = draw(st.lists(_trees(depth=depth - 1), min_size=1, max_size=3))
    return Tree(label=draw(st.sampled_from(["S", "NP", "0"])), children=kids)


@pytest.fixture(scope="module")
def tsv_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tsv")


@settings(max_examples=30, deadline=None)
@given(items=st.lists(st.tuples(_labels, _trees()), min_size=1, max_size=4))
def test_labeled_trees_round_trip_property(tsv_dir, items):
    path = tsv_dir / "items.tsv"  # overwritten by each example
    write_labeled_trees(path, items)
    result = read_labeled_trees(path)
    assert [(i.label, i.tree) for i in result.items] == items


def test_labeled_line_without_tab_names_the_line(tmp_path):
    path = write(tmp_path / "x.tsv", "pos\t(S (N a))\npos (S (N b))\n")
    with pytest.raises(TreeSyntaxError, match="no TAB") as info:
        read_labeled_trees(path)
    assert (info.value.source, info.value.line) == (str(path), 2)


def test_labeled_tree_error_column_counts_the_label(tmp_path):
    line = "negative\t(S (NP a)) (VP b)"
    path = write(tmp_path / "x.tsv", "pos\t(S (N a))\n" + line + "\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_labeled_trees(path)
    assert (info.value.line, info.value.column) == (2, line.index("(VP") + 1)
    line = "neg\t(S (NP a)))"
    path = write(tmp_path / "y.tsv", line + "\n")
    with pytest.raises(TreeSyntaxError) as info:
        read_labeled_trees(path)
    assert (info.value.line, info.value.column) == (1, len(line))


def test_labeled_bad_lines_and_skip_bad(tmp_path):
    lines = ["a\t(S (N x))", "\t(S (N y))", "", "b\t(S (N z)", "c\t(S (N w))"]
    path = write(tmp_path / "x.tsv", "\n".join(lines) + "\n\n")
    with pytest.raises(TreeSyntaxError, match="empty label"):
        read_labeled_trees(path)
    result = read_labeled_trees(path, skip_bad=True)
    assert [i.label for i in result.items] == ["a", "c"] and result.lines == [1, 5]
    assert result.skipped == 3 and len(result.errors) == 3


def test_labeled_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        read_labeled_trees(tmp_path / "missing.tsv")


@pytest.mark.parametrize("label", ["", "  ", "a\tb", "a\nb"])
def test_write_rejects_unwritable_labels(tmp_path, label):
    with pytest.raises(CorpusError, match="cannot be written"):
        write_labeled_trees(tmp_path / "x.tsv", [(label, from_ptb("(S (N a))"))])
    assert not (tmp_path / "x.tsv").exists()


# ---------------------------------------------------------------------------- import cost
def test_import_corpora_does_not_import_torch_dgl_or_spacy():
    code = (
        "import sys, treernn.corpora, treernn.vocab; "
        "heavy = [m for m in ('torch', 'dgl', 'spacy') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("shape", ["balanced", "left", "right"])
def test_sst_structure_controls_keep_tokens_and_the_sentence_label_only(tmp_path, shape):
    from treernn.corpora.tasks import load_task
    from treernn.corpora.texts import TextOptions

    line = "(3 (2 It) (4 (4 (2 is) (3 good)) (2 .)))\n"
    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.txt").write_text(line + "(1 (1 Bad) (2 film))\n")
    gold = load_task("sst", str(tmp_path), 5).splits["train"]
    shaped = load_task("sst", str(tmp_path), 5, text=TextOptions(trees=shape)).splits["train"]
    for g, t in zip(gold, shaped):
        assert t.tokens() == g.tokens() and t.label == g.label
        assert [n.label for n in t.postorder() if n is not t] == [None] * (len(list(t.postorder())) - 1)
        assert all(len(n.children) in (0, 2) for n in t.postorder())
    first = shaped[0]
    if shape == "left":  # (((It is) good) .)
        assert first.children[1].token == "." and first.children[0].children[1].token == "good"
    if shape == "right":  # (It (is (good .)))
        assert first.children[0].token == "It" and first.children[1].children[0].token == "is"
    if shape == "balanced":  # ((It is) (good .))
        assert [c.tokens() for c in first.children] == [["It", "is"], ["good", "."]]
    binary = load_task("sst", str(tmp_path), 2, neutral_phrases=True, text=TextOptions(trees=shape)).splits["train"]
    assert [t.label for t in binary] == [1, 0]
