"""Tests of treernn.corpora.sick: reading SICK.txt, finding it, downloading it."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED

from treernn.corpora.sick import (
    ENTAILMENT_LABELS,
    SICK_URL,
    SPLITS,
    SickPair,
    download_sick,
    find_sick,
    load_sick,
    read_sick,
    sick_cache_dir,
)
from treernn.errors import CorpusError

SICK_TXT = SHARED / "corpora" / "sick" / "SICK.txt"

HEADER = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\t"
          "entailment_AB\tentailment_BA\tsentence_A_original\tsentence_B_original\t"
          "sentence_A_dataset\tsentence_B_dataset\tSemEval_set")


def row(pair_id="1", a="A man is walking", b="A person walks", label="ENTAILMENT",
        score="4.5", semeval_set="TRAIN") -> str:
    return "\t".join([pair_id, a, b, label, score, "A_entails_B", "B_neutral_A",
                      a, b, "FLICKR", "FLICKR", semeval_set])


TINY_ROWS = [
    row("1", "A man is walking", "A person walks", "ENTAILMENT", "4.5", "TRAIN"),
    row("2", "A dog runs", "A cat sleeps", "NEUTRAL", "1.2", "TEST"),
    row("3", "A girl sings", "Nobody sings", "CONTRADICTION", "3", "TRIAL"),
    row("4", "Two kids play", "Kids are playing", "ENTAILMENT", "5", "TRAIN"),
]


def write_sick(path: Path, rows=TINY_ROWS, newline: str = "\n", header: str = HEADER,
               end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join([header, *rows]) + end).encode("utf-8"))
    return path


def make_zip(path: Path, member: str = "SICK.txt", text: str | None = None) -> Path:
    if text is None:
        text = "\r\n".join([HEADER, *TINY_ROWS]) + "\r\n"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "SICK")
        zf.writestr(member, text)
    return path


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "\r" not in message
    return message


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """No test sees the user's $TREERNN_DATA or cache."""
    monkeypatch.delenv("TREERNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# ---------------------------------------------------------------------------- the real file
@pytest.fixture(scope="module")
def real():
    if not SICK_TXT.is_file():
        pytest.skip(f"shared SICK corpus not found at {SICK_TXT}")
    return read_sick(SICK_TXT)


def test_real_split_sizes(real):
    assert {name: len(result) for name, result in real.items()} == {
        "train": 4439, "dev": 495, "test": 4906}
    assert all(result.skipped == 0 and result.errors == [] for result in real.values())


def test_real_label_counts_and_scores(real):
    pairs = [pair for result in real.values() for pair in result.items]
    assert Counter(pair.label for pair in pairs) == {
        "ENTAILMENT": 2821, "NEUTRAL": 5595, "CONTRADICTION": 1424}
    assert all(1.0 <= pair.score <= 5.0 for pair in pairs)
    assert min(p.score for p in pairs) == 1.0 and max(p.score for p in pairs) == 5.0
    assert len({pair.id for pair in pairs}) == 9840


def test_real_first_pair(real):
    first = real["train"].items[0]
    assert first == SickPair(
        id="1",
        a="A group of kids is playing in a yard and an old man is standing in the background",
        b="A group of boys in a yard is playing and a man is standing in the background",
        score=4.5, label="NEUTRAL", line=2)
    assert real["train"].lines[0] == 2
    # Lines rise in file order within each split.
    assert all(r.lines == sorted(r.lines) and r.lines == [p.line for p in r.items]
               for r in real.values())


def test_real_file_is_found_through_treernn_data(monkeypatch):
    if not SICK_TXT.is_file():
        pytest.skip(f"shared SICK corpus not found at {SICK_TXT}")
    monkeypatch.setenv("TREERNN_DATA", str(SICK_TXT.parents[1]))
    assert find_sick() == SICK_TXT


# ---------------------------------------------------------------------------- a tiny file
def test_tiny_file_lf_and_crlf_read_the_same(tmp_path):
    lf = read_sick(write_sick(tmp_path / "lf.txt", newline="\n"))
    crlf = read_sick(write_sick(tmp_path / "crlf.txt", newline="\r\n", end="\r\n"))
    assert list(lf) == ["train", "dev", "test"]
    for split in SPLITS.values():
        assert lf[split].items == crlf[split].items
        assert lf[split].lines == crlf[split].lines
    assert [p.id for p in lf["train"].items] == ["1", "4"]
    assert lf["train"].lines == [2, 5]
    assert lf["dev"].items == [SickPair("3", "A girl sings", "Nobody sings", 3.0,
                                        "CONTRADICTION", 4)]
    assert lf["test"].items[0].score == pytest.approx(1.2)
    assert lf["test"].items[0].b == "A cat sleeps"


def test_bom_no_final_newline_trailing_blank_lines_and_column_order(tmp_path):
    path = tmp_path / "SICK.txt"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + TINY_ROWS[0]).encode("utf-8"))
    assert [p.id for p in read_sick(path)["train"].items] == ["1"]
    write_sick(path, end="\n\n \r\n\n")
    assert sum(len(r) for r in read_sick(path).values()) == 4
    # Columns are found by name: a header with only the needed ones, in another order.
    path.write_text("SemEval_set\trelatedness_score\tentailment_label\tsentence_B\t"
                    "sentence_A\tpair_ID\nTEST\t2.5\tNEUTRAL\tb here\ta here\t7\n",
                    encoding="utf-8")
    assert read_sick(path)["test"].items == [SickPair("7", "a here", "b here", 2.5,
                                                      "NEUTRAL", 2)]


# ---------------------------------------------------------------------------- bad lines
BAD_LINES = [
    # (bad row, split where it is counted with skip_bad, words the message holds)
    (row("9", a=""), "train", ["empty sentence_A"]),
    (row("9", b="  ", semeval_set="TEST"), "test", ["empty sentence_B"]),
    (row("9", score="high"), "train", ["relatedness_score", "'high'", "not a number"]),
    (row("9", score="5.5", semeval_set="TRIAL"), "dev", ["'5.5'", "outside [1, 5]"]),
    (row("9", score="0.99"), "train", ["'0.99'", "outside [1, 5]"]),
    (row("9", score="nan"), "train", ["'nan'", "outside [1, 5]"]),
    (row("9", label="entails"), "train",
     ["entailment_label", "'entails'", "ENTAILMENT, NEUTRAL, CONTRADICTION"]),
    (row("9", semeval_set="DEV"), "train", ["SemEval_set", "'DEV'", "TRAIN, TRIAL, TEST"]),
    (row("1", semeval_set="TEST"), "test", ["pair_ID '1' repeated", "first on line 2"]),
    (row("", semeval_set="TRIAL"), "dev", ["empty pair_ID"]),
    ("\t".join(row("9").split("\t")[:11]), "train", ["11 fields, the header has 12"]),
    (row("9") + "\textra", "train", ["13 fields, the header has 12"]),
    ("", "train", ["empty line"]),
]


@pytest.mark.parametrize("bad, split, words", BAD_LINES)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_bad_line_raises_naming_file_line_and_problem(tmp_path, bad, split, words, newline):
    # The bad line is line 4: after the header and two good pairs.
    path = write_sick(tmp_path / "SICK.txt", [*TINY_ROWS[:2], bad, *TINY_ROWS[2:]], newline)
    with pytest.raises(CorpusError) as excinfo:
        read_sick(path)
    message = one_line_error(excinfo)
    assert message.startswith(f"{path}:4: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize("bad, split, words", BAD_LINES)
def test_skip_bad_counts_the_line_in_its_split(tmp_path, bad, split, words):
    path = write_sick(tmp_path / "SICK.txt", [*TINY_ROWS[:2], bad, *TINY_ROWS[2:]])
    result = read_sick(path, skip_bad=True)
    assert {name: r.skipped for name, r in result.items()} == {
        name: int(name == split) for name in SPLITS.values()}
    assert result[split].errors[0].startswith(f"{path}:4: ")
    assert all(word in result[split].errors[0] for word in words)
    # The good pairs are all there.
    assert sorted(p.id for r in result.values() for p in r.items) == ["1", "2", "3", "4"]


def test_skip_bad_counts_several_lines_per_split(tmp_path):
    rows = [*TINY_ROWS, row("5", label="?"), row("6", score="9", semeval_set="TEST"),
            row("7", a="", semeval_set="TEST"), "too\tfew"]
    result = read_sick(write_sick(tmp_path / "SICK.txt", rows), skip_bad=True)
    assert {name: r.skipped for name, r in result.items()} == {"train": 2, "dev": 0, "test": 2}
    assert [e.split(": ")[0].rsplit(":", 1)[1] for e in result["train"].errors] == ["6", "9"]
    assert [len(r) for r in result.values()] == [2, 1, 1]


def test_a_bad_header_names_the_missing_column(tmp_path):
    path = write_sick(tmp_path / "SICK.txt", header=HEADER.replace("SemEval_set", "set"))
    with pytest.raises(CorpusError) as excinfo:
        read_sick(path, skip_bad=True)
    message = one_line_error(excinfo)
    assert message.startswith(f"{path}:1: not SICK's header: no column 'SemEval_set' (columns: ")
    assert "'pair_ID', 'sentence_A'" in message


def test_a_header_with_a_column_twice(tmp_path):
    path = write_sick(tmp_path / "SICK.txt", header=HEADER + "\tpair_ID",
                      rows=[r + "\t1" for r in TINY_ROWS])
    with pytest.raises(CorpusError, match=r":1: not SICK's header: column 'pair_ID' appears 2"):
        read_sick(path)


@pytest.mark.parametrize("content", ["", "\n\n", HEADER + "\n", HEADER + "\r\n\r\n"])
def test_empty_file_or_header_only_has_no_pairs(tmp_path, content):
    path = tmp_path / "SICK.txt"
    path.write_text(content, encoding="utf-8", newline="")
    with pytest.raises(CorpusError) as excinfo:
        read_sick(path, skip_bad=True)
    assert one_line_error(excinfo).startswith(f"{path}: no pairs")


def test_every_line_bad_with_skip_bad_is_no_pairs(tmp_path):
    path = write_sick(tmp_path / "SICK.txt", [row("1", label="X"), row("2", label="Y")])
    with pytest.raises(CorpusError) as excinfo:
        read_sick(path, skip_bad=True)
    message = one_line_error(excinfo)
    assert message.startswith(f"{path}: no pairs: all 2 lines were bad")
    assert f"{path}:2: entailment_label 'X'" in message


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "SICK.txt"
    path.write_bytes(HEADER.encode() + b"\n1\t\xff\n")
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_sick(path)
    with pytest.raises(CorpusError, match="no such file"):
        read_sick(tmp_path / "missing.txt")


# ---------------------------------------------------------------------------- find_sick
def test_find_explicit_file_and_folder(tmp_path):
    path = write_sick(tmp_path / "data" / "renamed.tsv")
    assert find_sick(path) == path
    in_folder = write_sick(tmp_path / "folder" / "SICK.txt")
    assert find_sick(tmp_path / "folder") == in_folder
    in_sick = write_sick(tmp_path / "root" / "sick" / "SICK.txt")
    assert find_sick(str(tmp_path / "root")) == in_sick


def test_find_through_treernn_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    documented = write_sick(data / "sick" / "SICK.txt")
    monkeypatch.setenv("TREERNN_DATA", str(data))
    assert find_sick() == documented
    flat = tmp_path / "flat"
    write_sick(flat / "SICK.txt")
    monkeypatch.setenv("TREERNN_DATA", str(flat))
    assert find_sick() == flat / "SICK.txt"


def test_find_in_the_cache(tmp_path, monkeypatch):
    cached = write_sick(tmp_path / "xdg-cache" / "treernn" / "sick" / "SICK.txt")
    assert sick_cache_dir() == tmp_path / "xdg-cache" / "treernn" / "sick"
    # $TREERNN_DATA without SICK falls through to the cache.
    monkeypatch.setenv("TREERNN_DATA", str(tmp_path / "empty"))
    assert find_sick() == cached
    other = write_sick(tmp_path / "other-cache" / "SICK.txt")
    assert find_sick(cache_dir=tmp_path / "other-cache") == other


def test_cache_dir_without_or_with_relative_xdg(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert sick_cache_dir() == Path.home() / ".cache" / "treernn" / "sick"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert sick_cache_dir() == Path.home() / ".cache" / "treernn" / "sick"


def test_find_none(tmp_path, monkeypatch):
    monkeypatch.setenv("TREERNN_DATA", str(tmp_path / "nothing-here"))
    assert find_sick() is None


def test_explicit_path_without_sick_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError) as excinfo:
        find_sick(tmp_path / "empty")
    assert one_line_error(excinfo) == (
        f"{tmp_path / 'empty'}: SICK.txt not found there (nor in its sick/ folder)")
    with pytest.raises(CorpusError, match=r"missing: no such file or directory"):
        find_sick(tmp_path / "missing")
    # No fallback to the cache when the explicit path lacks the file.
    write_sick(sick_cache_dir() / "SICK.txt")
    with pytest.raises(CorpusError):
        load_sick(tmp_path / "empty")


# ---------------------------------------------------------------------------- download
def test_download_offline_names_the_options(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError) as excinfo:
        download_sick(cache)
    message = one_line_error(excinfo)
    assert message.startswith(f"cannot download SICK from {SICK_URL}: ")
    assert "Temporary failure in name resolution" in message
    for option in ("--data-path", "$TREERNN_DATA", str(cache), SICK_URL):
        assert option in message
    assert not (cache / "SICK.txt").exists()
    assert list(cache.iterdir()) == []  # no temporary folder left behind
    # load_sick goes the same way when SICK is found nowhere.
    with pytest.raises(CorpusError, match=r"cannot download SICK .*--data-path"):
        load_sick()


def test_download_http_error_names_the_status(tmp_path, monkeypatch):
    def not_found(url, *args, **kwargs):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, io.BytesIO(b""))

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(CorpusError) as excinfo:
        download_sick(tmp_path / "cache")
    message = one_line_error(excinfo)
    assert "HTTP 404 Not Found" in message and "$TREERNN_DATA" in message


def test_download_from_a_file_url_then_load(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "SICK.zip")
    cache = tmp_path / "cache"
    got = download_sick(cache, archive.as_uri())
    assert got == cache / "SICK.txt" and got.is_file()
    assert [p.name for p in cache.iterdir()] == ["SICK.txt"]
    assert [len(r) for r in read_sick(got).values()] == [2, 1, 1]

    # Already there: nothing is downloaded again.
    def fail(*args, **kwargs):
        raise AssertionError("downloaded again")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    assert download_sick(cache, "http://127.0.0.1:9/unused.zip") == got


def test_load_sick_downloads_into_the_user_cache(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "SICK.zip", member="SICK/SICK.txt").read_bytes()
    urls = []

    def serve(url, *args, **kwargs):
        urls.append(url)
        return io.BytesIO(archive)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    result = load_sick()
    assert urls == [SICK_URL]
    assert (tmp_path / "xdg-cache" / "treernn" / "sick" / "SICK.txt").is_file()
    assert result["train"].items[0].id == "1"
    assert load_sick()["test"].items[0].id == "2" and urls == [SICK_URL]  # from the cache now


def test_download_of_a_bad_archive(tmp_path):
    not_zip = tmp_path / "bad.zip"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(CorpusError, match="not a valid zip file"):
        download_sick(tmp_path / "cache", not_zip.as_uri())
    without = make_zip(tmp_path / "other.zip", member="other.txt")
    with pytest.raises(CorpusError, match="the zip has no SICK.txt"):
        download_sick(tmp_path / "cache", without.as_uri())
    wrong = make_zip(tmp_path / "wrong.zip", text="a\tb\n1\t2\n")
    with pytest.raises(CorpusError) as excinfo:
        download_sick(tmp_path / "cache", wrong.as_uri())
    assert "not SICK's header: no column 'pair_ID'" in one_line_error(excinfo)
    assert list((tmp_path / "cache").iterdir()) == []


def test_public_constants():
    assert ENTAILMENT_LABELS == ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
    assert SPLITS == {"TRAIN": "train", "TRIAL": "dev", "TEST": "test"}
    assert SICK_URL == "https://zenodo.org/records/2787612/files/SICK.zip?download=1"
    with pytest.raises(AttributeError):
        SickPair("1", "a", "b", 1.0, "NEUTRAL", 2).score = 2.0  # type: ignore[misc]
