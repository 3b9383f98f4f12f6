"""Tests of treernn.corpora.table: labeled-text files (CSV, TSV, JSON lines) read and checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from treernn.corpora.table import (
    FORMATS,
    PhraseLabel,
    Record,
    Table,
    TextItem,
    TextItems,
    detect_format,
    looks_like_tree_file,
    read_table,
    read_text_items,
)
from treernn.errors import ConfigError, CorpusError

TREE_HINT = ("this looks like a labeled-tree file (label<TAB>(tree) per line): "
             "read it with --corpus trees:DIR")


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> str:
    """Write a file (text is written as is: no newline translation) and return its path."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return str(path)


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def fails(exc_type: type, fn, *args, **kwargs) -> str:
    """The message of the error ``fn`` raises; it must be one line."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert message == message.strip()
    return message


# ---------------------------------------------------------------------------- formats read right
def test_csv_read_right(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label\n"A gorgeous, witty film",positive\n'
                                    "It drags.,negative\n")
    table = read_table(path)
    assert isinstance(table, Table)
    assert (table.source, table.format, table.columns) == (path, "csv", ["text", "label"])
    assert table.records == [
        Record(2, 1, {"text": "A gorgeous, witty film", "label": "positive"}),
        Record(3, 2, {"text": "It drags.", "label": "negative"}),
    ]
    assert (table.skipped, table.errors) == (0, [])

    items = read_text_items(path)
    assert isinstance(items, TextItems)
    assert (items.source, items.format, items.text_columns, items.label_column) == \
        (path, "csv", ("text",), "label")
    assert items.items == [
        TextItem("1", ("A gorgeous, witty film",), "positive", 2),
        TextItem("2", ("It drags.",), "negative", 3),
    ]


def test_tsv_read_right_with_quoting_and_header_spaces(tmp_path):
    path = write(tmp_path, "a.TSV", ' text \tlabel\nIt works, really\t1\n'
                                    '"a\tquoted ""tab"""\t0\n')
    table = read_table(path)
    assert table.format == "tsv"
    assert table.columns == ["text", "label"]
    items = read_text_items(path)
    assert [(i.texts, i.label, i.line) for i in items.items] == [
        (("It works, really",), "1", 2),
        (('a\tquoted "tab"',), "0", 3),
    ]


def test_jsonl_read_right(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl(
        {"text": "good", "label": 1},
        {"label": "neg", "text": "bad", "extra": [1, 2]},
    ) + "\n   \n" + jsonl({"text": "fine", "label": 0}))
    table = read_table(path)
    assert table.format == "jsonl"
    assert table.columns == ["text", "label", "extra"]
    assert [(r.line, r.number) for r in table.records] == [(1, 1), (2, 2), (5, 3)]
    assert table.records[1].fields["extra"] == [1, 2]
    items = read_text_items(path)
    assert [(i.id, i.texts, i.label, i.line) for i in items.items] == [
        ("1", ("good",), "1", 1), ("2", ("bad",), "neg", 2), ("3", ("fine",), "0", 5)]


def test_sentence_column_is_the_fallback(tmp_path):
    path = write(tmp_path, "a.csv", "sentence,label\nIt works.,pos\n")
    items = read_text_items(path)
    assert items.text_columns == ("sentence",)
    assert items.items[0].texts == ("It works.",)

    path = write(tmp_path, "b.jsonl", jsonl({"sentence": "ok", "label": "pos"}))
    assert read_text_items(path).items[0].texts == ("ok",)

    both = write(tmp_path, "c.csv", "sentence,text,label\nS,T,pos\n")
    assert read_text_items(both).items[0].texts == ("T",)


def test_named_columns_and_two_text_columns(tmp_path):
    path = write(tmp_path, "pairs.tsv", "premise\thypothesis\tgold\nA man.\tA person.\tyes\n")
    items = read_text_items(path, text_columns=("premise", "hypothesis"), label_column="gold")
    assert items.text_columns == ("premise", "hypothesis")
    assert items.label_column == "gold"
    assert items.items == [TextItem("1", ("A man.", "A person."), "yes", 2)]


def test_id_column_gives_the_ids(tmp_path):
    path = write(tmp_path, "a.csv", "id,text,label\nr-7,good,pos\n 12 ,bad,neg\n")
    assert [i.id for i in read_text_items(path).items] == ["r-7", "12"]
    path = write(tmp_path, "a.jsonl", jsonl({"id": 5, "text": "t", "label": "x"},
                                            {"id": "b", "text": "u", "label": "y"}))
    assert [i.id for i in read_text_items(path).items] == ["5", "b"]


def test_labels_are_strings_and_json_integers_become_strings(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl({"text": "t", "label": 1}, {"text": "u", "label": -2},
                                            {"text": "v", "label": " pos "}))
    assert [i.label for i in read_text_items(path).items] == ["1", "-2", "pos"]


@pytest.mark.parametrize("name", ["a.csv", "a.jsonl"])
def test_byte_order_mark_is_removed(tmp_path, name):
    content = ("text,label\nhé,pos\n" if name.endswith(".csv")
               else jsonl({"text": "hé", "label": "pos"}))
    path = write(tmp_path, name, b"\xef\xbb\xbf" + content.encode("utf-8"))
    table = read_table(path)
    assert table.columns == ["text", "label"]
    assert read_text_items(path).items[0].texts == ("hé",)


def test_latin1_file_with_and_without_the_encoding(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\nthe caf\xe9,pos\n", encoding="latin-1")
    assert read_text_items(path, encoding="latin-1").items[0].texts == ("the café",)
    message = fails(CorpusError, read_text_items, path)
    offset = len("text,label\nthe caf")
    assert message == (f"{path}: not UTF-8: byte 0xe9 at byte offset {offset} (line 2); "
                       "if the file is Latin-1, add --data.encoding latin-1")
    # The same for read_table, and for another encoding named explicitly.
    assert fails(CorpusError, read_table, path) == message
    other = fails(CorpusError, read_table, path, encoding="ascii")
    assert other.startswith(f"{path}: not ascii: byte 0xe9 at byte offset {offset} (line 2); ")
    assert "--data.encoding" in other


def test_utf16_file(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\ncafé,pos\n", encoding="utf-16")
    assert read_text_items(path, encoding="utf-16").items[0].texts == ("café",)
    message = fails(CorpusError, read_text_items, path)
    assert message.startswith(f"{path}: a UTF-16 file")
    assert "--data.encoding utf-16" in message


def test_quoted_newline_spans_lines_and_later_lines_stay_right(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label\n"first line\nsecond line\nthird",pos\n'
                                    "next,neg\n\nlast,pos\n")
    table = read_table(path)
    assert [(r.line, r.number) for r in table.records] == [(2, 1), (5, 2), (7, 3)]
    assert table.records[0].fields["text"] == "first line\nsecond line\nthird"
    items = read_text_items(path)
    assert [(i.id, i.line) for i in items.items] == [("1", 2), ("2", 5), ("3", 7)]
    # A bad row after the multi-line record is reported at its own line.
    bad = write(tmp_path, "b.csv", 'text,label\n"one\ntwo",pos\nx,y,z\n')
    assert fails(CorpusError, read_table, bad).startswith(f"{bad}:4: row has 3 fields")


@pytest.mark.parametrize("name", ["a.csv", "a.tsv", "a.jsonl"])
def test_crlf_line_ends(tmp_path, name):
    if name.endswith(".jsonl"):
        content = jsonl({"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"})
    else:
        sep = "," if name.endswith(".csv") else "\t"
        content = f'text{sep}label\ngood{sep}pos\n"multi\nline"{sep}neg\n'
    path = write(tmp_path, name, content.replace("\n", "\r\n"))
    items = read_text_items(path)
    assert [i.label for i in items.items] == ["pos", "neg"]
    assert items.items[0].texts == ("good",)
    assert [i.line for i in items.items] == ([1, 2] if name.endswith(".jsonl") else [2, 3])
    assert all("\r" not in i.label for i in items.items)


def test_whitespace_only_lines_are_blank(tmp_path):
    path = write(tmp_path, "a.csv", "\n\ntext,label\n  \ngood,pos\n\n")
    table = read_table(path)
    assert [(r.line, r.number) for r in table.records] == [(5, 1)]


# ---------------------------------------------------------------------------- detect_format
@pytest.mark.parametrize("name, expected", [
    ("a.csv", "csv"), ("a.CSV", "csv"), ("dir.x/a.tsv", "tsv"), ("a.tab", "tsv"),
    ("a.Tab", "tsv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.JSONL", "jsonl"),
])
def test_detect_format_from_the_extension(name, expected):
    assert detect_format(name) == expected
    assert detect_format(Path(name)) == expected


def test_detect_format_given_wins():
    assert detect_format("data.txt", "tsv") == "tsv"
    assert detect_format("data.csv", "jsonl") == "jsonl"
    assert FORMATS == ("csv", "tsv", "jsonl")


@pytest.mark.parametrize("bad", ["x", "json", "CSV", ""])
def test_detect_format_bad_format_is_a_config_error(bad):
    message = fails(ConfigError, detect_format, "a.csv", bad)
    assert message.startswith(f"data.format must be csv, tsv or jsonl, got {bad!r}; ")


def test_detect_format_unknown_extension():
    assert fails(CorpusError, detect_format, "data/train.txt") == (
        "data/train.txt: cannot tell the format from the extension '.txt'; "
        "name it with --data.format csv|tsv|jsonl")
    message = fails(CorpusError, detect_format, "data/train")
    assert message.startswith("data/train: cannot tell the format from the file name")
    assert "--data.format csv|tsv|jsonl" in message
    # read_table and read_text_items check it before reading (the file does not exist).
    assert "cannot tell the format" in fails(CorpusError, read_table, "missing.json")


# ---------------------------------------------------------------------------- file-level errors
def test_missing_file_and_directory(tmp_path):
    missing = str(tmp_path / "nope.csv")
    assert fails(CorpusError, read_table, missing) == f"{missing}: no such file"
    assert fails(CorpusError, read_text_items, missing) == f"{missing}: no such file"
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert fails(CorpusError, read_table, str(folder)) == \
        f"{folder}: is a directory, expected a file"


@pytest.mark.parametrize("where", [5, 20000])
def test_binary_file(tmp_path, where):
    data = b"text,label\n" + b"a" * (where - 11) + b"\x00rest,pos\n" if where > 11 else \
        b"text,\x00label\n"
    path = write(tmp_path, "a.csv", data)
    offset = data.index(b"\x00")
    assert fails(CorpusError, read_table, path) == (
        f"{path}: a binary file (NUL byte at byte offset {offset}), "
        "not a CSV/TSV/JSON-lines text file")


def test_unknown_encoding_is_a_config_error(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\nx,y\n")
    assert fails(ConfigError, read_table, path, encoding="foo") == (
        "data.encoding is not a known encoding, got 'foo'; e.g. utf-8 or latin-1")
    assert "got 'hex'" in fails(ConfigError, read_text_items, path, encoding="hex")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "text,label\n", "text,label\n\n\n"])
def test_no_rows(tmp_path, content):
    path = write(tmp_path, "a.csv", content)
    expected = f"{path}: no rows (expected a header line and one item per line)"
    assert fails(CorpusError, read_table, path) == expected
    assert fails(CorpusError, read_table, path, skip_bad=True) == expected


@pytest.mark.parametrize("content", ["", "\n \n"])
def test_no_items_jsonl(tmp_path, content):
    path = write(tmp_path, "a.jsonl", content)
    expected = f"{path}: no items (expected one JSON object per line)"
    assert fails(CorpusError, read_table, path) == expected
    assert fails(CorpusError, read_text_items, path) == expected


def test_header_with_an_empty_name(tmp_path):
    path = write(tmp_path, "a.csv", "text,label,\nx,y,z\n")
    message = fails(CorpusError, read_table, path)
    assert message.startswith(f"{path}:1: column 3 of the header has no name ")
    path = write(tmp_path, "b.tsv", "\ntext\t \tlabel\nx\ty\tz\n")
    assert fails(CorpusError, read_text_items, path).startswith(
        f"{path}:2: column 2 of the header has no name ")


def test_header_with_a_repeated_name(tmp_path):
    path = write(tmp_path, "a.csv", "text,label, text\nx,y,z\n")
    assert fails(CorpusError, read_table, path) == (
        f"{path}:1: the header names 'text' twice (columns 1 and 3); column names must differ")


def test_missing_label_column(tmp_path):
    path = write(tmp_path, "a.csv", "text,sentiment\ngood,pos\n")
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}: no column 'label' (columns: text, sentiment); "
        "name it with --data.label_column")
    # skip_bad does not skip a problem of the whole file.
    assert "no column 'label'" in fails(CorpusError, read_text_items, path, skip_bad=True)
    assert read_text_items(path, label_column="sentiment").items[0].label == "pos"


def test_missing_text_column(tmp_path):
    path = write(tmp_path, "a.tsv", "review\tlabel\ngood\tpos\n")
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}: no column 'text' (columns: review, label); name it with --data.text_column")
    message = fails(CorpusError, read_text_items, path, text_columns=("review", "other"))
    assert message.startswith(f"{path}: no column 'other' (columns: review, label)")


def test_missing_column_in_a_header_only_file_is_about_the_column(tmp_path):
    path = write(tmp_path, "a.csv", "text,sentiment\n")
    assert "no column 'label'" in fails(CorpusError, read_text_items, path)


def test_long_column_names_are_cut(tmp_path):
    long = "a_very_long_column_name_" * 4
    path = write(tmp_path, "a.csv", f"{long},label\nx,y\n")
    message = fails(CorpusError, read_text_items, path)
    assert long not in message
    assert f"(columns: {long[:27]}..., label)" in message


def test_many_columns_are_listed_in_part(tmp_path):
    names = [f"c{i}" for i in range(15)]
    path = write(tmp_path, "a.csv", ",".join(names) + "\n" + ",".join("x" * 15) + "\n")
    assert fails(CorpusError, read_text_items, path, text_columns=("c0",)) == (
        f"{path}: no column 'label' (columns: {', '.join(names[:12])}, ... (15 in all)); "
        "name it with --data.label_column")


def test_wrong_delimiter_is_pointed_out(tmp_path):
    path = write(tmp_path, "a.csv", "text\tlabel\ngood\tpos\n")
    message = fails(CorpusError, read_text_items, path)
    assert message.startswith(f"{path}: no column 'text' (columns: text\\tlabel)")
    assert "add --data.format tsv" in message


def test_jsonl_key_missing_everywhere(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl({"text": "a", "sentiment": 1}))
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}: no 'label' key in any line (keys: text, sentiment); "
        "name it with --data.label_column")


# ---------------------------------------------------------------------------- tree files
def test_tree_file_read_as_tsv_says_so(tmp_path):
    path = write(tmp_path, "trees.tsv", "3\t(3 (2 It) (3 (2 works) (2 well)))\n"
                                        "1\t(1 (2 It) (1 fails))\n")
    assert looks_like_tree_file(path)
    message = fails(CorpusError, read_text_items, path)
    assert message == (f"{path}: no column 'text' (columns: 3, (3 (2 It) (3 (2 works) (2 w...); "
                       f"name it with --data.text_column; {TREE_HINT}")
    one_line = write(tmp_path, "one.tsv", "pos\t(S (NP it) (VP works))\n")
    assert fails(CorpusError, read_table, one_line) == (
        f"{one_line}: no rows (expected a header line and one item per line); {TREE_HINT}")


def test_tree_file_read_as_csv_with_a_bad_header_says_so(tmp_path):
    path = write(tmp_path, "trees.csv", "2\t(2 (2 ,) (2 ,) (2 ,))\n1\t(1 (1 bad))\n")
    message = fails(CorpusError, read_table, path)
    assert "the header names" in message and message.endswith(TREE_HINT)


def test_an_ordinary_missing_column_has_no_tree_hint(tmp_path):
    path = write(tmp_path, "a.tsv", "review\tlabel\ngood\tpos\n")
    assert "labeled-tree" not in fails(CorpusError, read_text_items, path)


@pytest.mark.parametrize("first_line, expected", [
    ("3\t(3 (2 It) (3 works))\n", True),
    ("\ufeffpositive\t (S (NP it)) \r\n", True),
    ("text\tlabel\n", False),
    ("(3 (2 It) (3 works))\n", False),          # a treebank line: no TAB
    ("3\t(3 (2 It) (3\nworks))\n", False),      # only the first line counts
    ("", False),
])
def test_looks_like_tree_file(tmp_path, first_line, expected):
    path = write(tmp_path, "f.tsv", first_line)
    assert looks_like_tree_file(path) is expected
    assert looks_like_tree_file(Path(path)) is expected


def test_looks_like_tree_file_never_raises(tmp_path):
    assert looks_like_tree_file(tmp_path / "missing.tsv") is False
    assert looks_like_tree_file(tmp_path) is False
    assert looks_like_tree_file(write(tmp_path, "b.tsv", b"\xff\xfe\x00\t(")) is False


# ---------------------------------------------------------------------------- bad records
def test_ragged_rows(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\ngood,pos\na,b,c\nalone\nfine,neg\n")
    assert fails(CorpusError, read_table, path) == \
        f"{path}:3: row has 3 fields, the header has 2 (text, label)"
    table = read_table(path, skip_bad=True)
    assert [(r.line, r.number) for r in table.records] == [(2, 1), (5, 4)]
    assert table.skipped == 2
    assert table.errors == [f"{path}:3: row has 3 fields, the header has 2 (text, label)",
                            f"{path}:4: row has 1 field, the header has 2 (text, label)"]
    items = read_text_items(path, skip_bad=True)
    # Ids are record numbers, so they do not change when bad rows are skipped.
    assert [(i.id, i.line) for i in items.items] == [("1", 2), ("4", 5)]
    assert (items.skipped, items.errors) == (2, table.errors)


def test_unterminated_quote_is_a_bad_record(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label\ngood,pos\n"never closed,neg\nmore,pos\n')
    message = fails(CorpusError, read_table, path)
    assert message.startswith(f"{path}:3: a quoted field is never closed")
    table = read_table(path, skip_bad=True)
    assert len(table.records) == 1 and table.skipped == 1
    assert table.errors == [message]


def test_text_after_a_closing_quote_is_a_bad_record_and_reading_goes_on(tmp_path):
    path = write(tmp_path, "a.tsv", 'text\tlabel\n"Great" movie\tpos\nfine\tneg\n')
    message = fails(CorpusError, read_text_items, path)
    assert message.startswith(f"{path}:2: '\\t' expected after '\"': a field that starts with")
    items = read_text_items(path, skip_bad=True)
    assert [(i.texts, i.line) for i in items.items] == [(("fine",), 3)]
    assert items.errors == [message]


def test_jsonl_line_that_is_not_json(tmp_path):
    path = write(tmp_path, "a.jsonl",
                 jsonl({"text": "a", "label": 1}) + '{"text": "b" "label": 2}\n')
    col = len('{"text": "b" ') + 1
    assert fails(CorpusError, read_table, path) == \
        f"{path}:2:{col}: not JSON: Expecting ',' delimiter"
    table = read_table(path, skip_bad=True)
    assert (len(table.records), table.skipped) == (1, 1)
    assert table.errors[0].startswith(f"{path}:2:{col}: not JSON: ")


@pytest.mark.parametrize("value, kind", [([1, 2], "a list"), ("text", "a string"),
                                         (3, "a number"), (None, "null"), (True, "a boolean")])
def test_jsonl_value_that_is_not_an_object(tmp_path, value, kind):
    path = write(tmp_path, "a.jsonl", jsonl({"text": "a", "label": 1}, value))
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}:2: a JSON line must be an object with the columns as keys, got {kind}")


def test_jsonl_key_missing_in_one_object(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl({"text": "a", "label": 1}, {"text": "b"},
                                            {"label": 0}))
    assert fails(CorpusError, read_text_items, path) == f"{path}:2: no 'label' key (keys: text)"
    items = read_text_items(path, skip_bad=True)
    assert items.skipped == 2
    assert items.errors == [f"{path}:2: no 'label' key (keys: text)",
                            f"{path}:3: no 'text' key (keys: label)"]


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_text(tmp_path, text):
    path = write(tmp_path, "a.tsv", f"text\tlabel\ngood\tpos\n\"{text}\"\tneg\n")
    assert fails(CorpusError, read_text_items, path) == f"{path}:3: empty text in column 'text'"


def test_empty_label(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\ngood,pos\nbad, \n")
    assert fails(CorpusError, read_text_items, path) == \
        f"{path}:3: empty label in column 'label'"
    path = write(tmp_path, "a.jsonl", jsonl({"text": "a", "label": ""}))
    assert fails(CorpusError, read_text_items, path) == f"{path}:1: empty label in key 'label'"


@pytest.mark.parametrize("label, shown", [(1.5, "1.5"), (True, "true"), (None, "null"),
                                          ([1], "[1]"), ({"a": 1}, '{"a": 1}')])
def test_jsonl_label_of_a_bad_type(tmp_path, label, shown):
    path = write(tmp_path, "a.jsonl",
                 jsonl({"text": "a", "label": 1}, {"text": "b", "label": label}))
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}:2: label must be a string or an integer, got {shown} in key 'label'")


def test_jsonl_text_of_a_bad_type(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl({"text": 42, "label": 1}))
    assert fails(CorpusError, read_text_items, path) == \
        f"{path}:1: text must be a string, got 42 (key 'text')"


def test_max_chars(tmp_path):
    path = write(tmp_path, "a.csv", f"text,label\n{'x' * 10},pos\n{'y' * 11},neg\n")
    assert len(read_text_items(path, max_chars=11).items) == 2
    assert fails(CorpusError, read_text_items, path, max_chars=10) == (
        f"{path}:3: text of 11 characters in column 'text', over the limit of 10 (--max-chars)")
    items = read_text_items(path, max_chars=10, skip_bad=True)
    assert [i.texts for i in items.items] == [("x" * 10,)] and items.skipped == 1


def test_duplicate_id_names_both_lines(tmp_path):
    path = write(tmp_path, "a.csv", "id,text,label\na,one,pos\nb,two,neg\na,three,pos\n")
    assert fails(CorpusError, read_text_items, path) == (
        f"{path}:4: id 'a' again (first on line 2); ids must be unique")
    items = read_text_items(path, skip_bad=True)
    assert [i.id for i in items.items] == ["a", "b"]
    assert items.skipped == 1


def test_empty_id(tmp_path):
    path = write(tmp_path, "a.csv", "id,text,label\n,one,pos\n")
    message = fails(CorpusError, read_text_items, path)
    assert message.startswith(f"{path}:2: empty id in column 'id'")
    path = write(tmp_path, "a.jsonl", jsonl({"id": 1, "text": "a", "label": 1},
                                            {"text": "b", "label": 1}))
    assert fails(CorpusError, read_text_items, path) == \
        f"{path}:2: no 'id' key (keys: text, label)"


def test_skip_bad_keeps_a_message_per_skipped_record(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\ngood,pos\n,neg\nx,y,z\nbad,\nfine,neg\n")
    items = read_text_items(path, skip_bad=True)
    assert [i.texts for i in items.items] == [("good",), ("fine",)]
    assert items.skipped == 3
    assert items.errors == [
        f"{path}:3: empty text in column 'text'",
        f"{path}:4: row has 3 fields, the header has 2 (text, label)",
        f"{path}:5: empty label in column 'label'",
    ]
    # Without skip_bad the first bad record in file order is the error.
    assert fails(CorpusError, read_text_items, path) == items.errors[0]


def test_all_records_bad_is_an_error_even_when_skipping(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\n,pos\n \t,neg\n")
    assert fails(CorpusError, read_text_items, path, skip_bad=True) == (
        f"{path}: no usable rows: all 2 were bad; the first: "
        f"{path}:2: empty text in column 'text'")


# ---------------------------------------------------------------------------- phrases
def test_phrases_in_both_forms(tmp_path):
    path = write(tmp_path, "a.jsonl", jsonl(
        {"text": "not bad at all", "label": "positive", "phrases": [
            {"text": "not bad", "label": "positive"},
            {"start": 4, "end": 7, "label": 0},
            {"text": "at all", "start": 8, "end": 14, "label": "neutral"},
        ]},
        {"text": "plain", "label": "neutral"},
        {"text": "empty list", "label": "neutral", "phrases": []},
    ))
    items = read_text_items(path).items
    assert items[0].phrases == (
        PhraseLabel("positive", text="not bad"),
        PhraseLabel("0", span=(4, 7)),
        PhraseLabel("neutral", text="at all", span=(8, 14)),
    )
    assert items[1].phrases == () and items[2].phrases == ()


def test_phrases_column_in_csv_is_an_ordinary_column(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label,phrases\ngood,pos,"[{""bad"": 1}]"\n')
    assert read_text_items(path).items[0].phrases == ()


@pytest.mark.parametrize("phrases, problem", [
    ("not a list", "'phrases' must be a list of objects, got \"not a list\""),
    (["not bad"], "phrases[0]: must be an object"),
    ([{"text": "not bad"}], "phrases[0]: no 'label' key"),
    ([{"text": "not bad", "label": 1}, {"label": 1}], "phrases[1]: needs a non-empty 'text'"),
    ([{"text": "", "label": 1}], "phrases[0]: needs a non-empty 'text'"),
    ([{"text": 3, "label": 1}], "phrases[0]: needs a non-empty 'text'"),
    ([{"text": "so good", "label": 1}], "phrases[0]: text \"so good\" does not occur"),
    ([{"start": 0, "end": 99, "label": 1}], "phrases[0]: span [0, 99) is not inside the text"),
    ([{"start": 3, "end": 3, "label": 1}], "phrases[0]: span [3, 3) is not inside the text"),
    ([{"start": -1, "end": 3, "label": 1}], "phrases[0]: span [-1, 3) is not inside"),
    ([{"start": 0, "label": 1}],
     "phrases[0]: start and end must both be integers, got 0 and null"),
    ([{"start": False, "end": 3, "label": 1}], "phrases[0]: start and end must both be integers"),
    ([{"start": 0.0, "end": 3, "label": 1}], "phrases[0]: start and end must both be integers"),
    ([{"text": "bad", "start": 0, "end": 3, "label": 1}],
     'phrases[0]: text "bad" is not the span [0, 3) of the text, which is "not"'),
    ([{"text": "bad", "label": 1.5}],
     "phrases[0]: label must be a string or an integer, got 1.5"),
    ([{"text": "bad", "label": " "}], "phrases[0]: empty label"),
    ([{"text": "bad", "lable": 1}], "phrases[0]: unknown key 'lable'"),
])
def test_bad_phrase_entries(tmp_path, phrases, problem):
    path = write(tmp_path, "a.jsonl", jsonl({"text": "ok", "label": 1},
                                            {"text": "not bad", "label": 1, "phrases": phrases}))
    message = fails(CorpusError, read_text_items, path)
    assert message.startswith(f"{path}:2: {problem}"), message
    items = read_text_items(path, skip_bad=True)
    assert (len(items.items), items.skipped, items.errors) == (1, 1, [message])


# ---------------------------------------------------------------------------- option values
@pytest.mark.parametrize("kwargs, fragment", [
    ({"max_chars": 0}, "--max-chars must be a positive integer, got 0"),
    ({"max_chars": 2.5}, "--max-chars must be a positive integer, got 2.5"),
    ({"text_columns": ()}, "data.text_column must name one or more columns, got ()"),
    ({"text_columns": ("a", "a")}, "data.text_column names a column twice"),
    ({"label_column": ""}, "data.label_column must name a column, got ''"),
    ({"text_columns": ("label",)}, "data.label_column must not be a text column too"),
    ({"label_column": "text"}, "data.label_column must not be a text column too, got 'text'"),
    ({"format": "xml"}, "data.format must be csv, tsv or jsonl, got 'xml'"),
])
def test_bad_option_values_are_config_errors(tmp_path, kwargs, fragment):
    path = write(tmp_path, "a.csv", "text,label\nx,y\n")
    assert fails(ConfigError, read_text_items, path, **kwargs).startswith(fragment)


def test_text_columns_may_be_one_name(tmp_path):
    path = write(tmp_path, "a.csv", "review,label\nx,y\n")
    assert read_text_items(path, text_columns="review").text_columns == ("review",)
