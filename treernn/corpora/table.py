"""Users' labeled-text files: CSV, TSV and JSON lines, validated once, at the edge.

Formats (the format comes from ``--data.format`` or the extension)::

    text,label                          text<TAB>label
    "A gorgeous, witty film",positive   A gorgeous, witty film<TAB>positive
    It drags.,negative                  It drags.<TAB>negative

    {"text": "A gorgeous, witty film", "label": "positive"}
    {"text": "not bad at all", "label": 1, "phrases": [{"text": "not bad", "label": 1}]}

- CSV and TSV (``.csv``; ``.tsv``, ``.tab``): read by :mod:`csv` with its default quoting
  (a field with a delimiter, a quote or a line break inside is quoted whole, ``""`` for a
  quote), strictly: a quote left open or stray text after a closing quote is an error, never
  a silently mangled field. The first row is the header; blank lines are skipped.
- JSON lines (``.jsonl``, ``.ndjson``): one JSON object per line, its keys are the columns;
  blank lines are skipped. An item may carry phrase labels (see :class:`PhraseLabel`).
- UTF-8 with or without a byte-order mark, unless another ``encoding`` is named;
  ``\\n`` or ``\\r\\n`` line ends.

Every problem is a :class:`~treernn.errors.CorpusError` with a one-line message naming the
file, the line where there is one, and what is wrong; a bad option value is a
:class:`~treernn.errors.ConfigError`. Problems of one record (a ragged row, a line that is not
JSON, an empty text or label) can be skipped with ``skip_bad=True``: they are then counted and
their messages kept, never dropped silently. Problems of the whole file (missing, binary, not
in its encoding, no rows, a bad header, a missing column) always raise.

Pure Python: no torch, DGL or spaCy.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, NoReturn, Optional, Union

from treernn.corpora.files import PathArg, read_bytes
from treernn.errors import ConfigError, CorpusError, RecordError

__all__ = [
    "FORMATS",
    "detect_format",
    "looks_like_tree_file",
    "Record",
    "Table",
    "read_table",
    "PhraseLabel",
    "TextItem",
    "TextItems",
    "read_text_items",
]

FORMATS = ("csv", "tsv", "jsonl")

EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

TREE_FILE_HINT = ("this looks like a labeled-tree file (label<TAB>(tree) per line): "
                  "read it with --corpus trees:DIR")

_DELIMITERS = {"csv": ",", "tsv": "\t"}
_NAME_WIDTH = 30        # column names and values longer than this are cut in messages
_MAX_LISTED = 12        # columns listed in a message, at most
_PHRASE_KEYS = {"label", "text", "start", "end"}


def detect_format(path: PathArg, format: Optional[str] = None) -> str:
    """The format of a labeled-text file: ``format`` when given, else from the extension.

    Extensions (case-insensitive): ``.csv`` -> csv; ``.tsv``, ``.tab`` -> tsv;
    ``.jsonl``, ``.ndjson`` -> jsonl.

    Raises:
        ConfigError: ``format`` is given but not one of :data:`FORMATS`.
        CorpusError: no ``format`` and an extension that names none of them.
    """
    if format is not None:
        if format not in FORMATS:
            raise ConfigError(
                f"data.format must be csv, tsv or jsonl, got {format!r}; or leave it out to "
                "tell the format from the extension (.csv, .tsv, .jsonl)"
            )
        return format
    source = _source(path)
    ext = os.path.splitext(source)[1]
    found = EXTENSIONS.get(ext.lower())
    if found is None:
        what = f"the extension {ext!r}" if ext else "the file name (it has no extension)"
        raise CorpusError(f"{source}: cannot tell the format from {what}; "
                          "name it with --data.format csv|tsv|jsonl")
    return found


def looks_like_tree_file(path: PathArg) -> bool:
    """Whether a file's first line looks like ``label<TAB>(tree)`` (a labeled-tree file).

    Reads at most the first line; an unreadable file is not one (False), never an error.
    """
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except (OSError, ValueError):
        return False
    return _looks_like_tree_line(first.decode("utf-8", errors="replace"))


# ---------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Record:
    """One record of a table file.

    Attributes:
        line: 1-based line of the file where the record starts (a CSV record with a quoted
            line break inside spans several lines).
        number: 1-based number of the record among the data rows (the header is not one;
            bad rows count, so numbers do not depend on ``skip_bad``).
        fields: column name -> value: a ``str`` for csv/tsv, the JSON value for jsonl.
    """

    line: int
    number: int
    fields: dict


@dataclass
class Table:
    """What :func:`read_table` returns: the records of a file and what was skipped.

    Attributes:
        source: the path as given, for messages.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``.
        columns: csv/tsv: the header; jsonl: the keys of all objects, in order of first
            appearance.
        records: the good records, in file order.
        skipped: number of bad records skipped (always 0 unless ``skip_bad=True``).
        errors: one message (``file:line: reason``) per skipped record.
    """

    source: str
    format: str
    columns: list[str]
    records: list[Record]
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


def read_table(
    path: PathArg,
    format: Optional[str] = None,
    encoding: Optional[str] = None,
    skip_bad: bool = False,
) -> Table:
    """The records of a CSV, TSV or JSON-lines file, checked row by row.

    Args:
        path: the file.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; None tells it from the extension.
        encoding: a Python codec name; None reads UTF-8 with or without a byte-order mark.
        skip_bad: skip bad records (a ragged row, a CSV quoting error, a line that is not a
            JSON object) and count them in ``table.skipped`` instead of raising.

    Returns:
        A :class:`Table` with the header (or the JSON keys), the records and what was skipped.

    Raises:
        ConfigError: an unknown ``format`` or ``encoding``.
        CorpusError: the file is missing, unreadable, binary or not in its encoding; a bad
            header; no rows; or (unless ``skip_bad``) a bad record, naming ``file:line``.
    """
    src = _open(path, format, encoding)
    table = Table(src.source, src.format, src.columns, [])
    for row in src.rows:
        if isinstance(row, RecordError):
            _reject(table, src, row, skip_bad)
        else:
            table.records.append(row)
    _check_some_rows(src, len(table.records), table.errors)
    return table


# ---------------------------------------------------------------------------- text items
@dataclass(frozen=True)
class PhraseLabel:
    """A label of one phrase of an item's text (JSON lines only).

    Given in the file as ``{"text": "not bad", "label": "positive"}`` (the phrase by its text,
    which must occur in the item's text) or ``{"start": 0, "end": 3, "label": "negative"}``
    (character offsets ``[start, end)`` into the item's first text); both forms together must
    agree.

    Attributes:
        label: the label as a string.
        text: the phrase, when given by its text (or by both).
        span: ``(start, end)``, when given by offsets.
    """

    label: str
    text: Optional[str] = None
    span: Optional[tuple[int, int]] = None


@dataclass(frozen=True)
class TextItem:
    """One labeled item of a labeled-text file.

    Attributes:
        id: the value of the ``id`` column or key when the file has one (unique, non-empty),
            else the record number as a string.
        texts: one text per text column, as in the file (not stripped).
        label: the label as a string (a JSON integer ``1`` reads ``"1"``); never empty.
        line: 1-based line where the item starts.
        phrases: the item's :class:`PhraseLabel` entries (JSON lines only).
    """

    id: str
    texts: tuple[str, ...]
    label: str
    line: int
    phrases: tuple = ()


@dataclass
class TextItems:
    """What :func:`read_text_items` returns.

    Attributes:
        source: the path as given, for messages.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``.
        text_columns: the columns the texts were read from.
        label_column: the column the labels were read from.
        items: the good items, in file order.
        skipped: number of bad records skipped (always 0 unless ``skip_bad=True``).
        errors: one message (``file:line: reason``) per skipped record.
    """

    source: str
    format: str
    text_columns: tuple[str, ...]
    label_column: str
    items: list[TextItem]
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def read_text_items(
    path: PathArg,
    format: Optional[str] = None,
    text_columns: Optional[tuple[str, ...]] = None,
    label_column: str = "label",
    encoding: Optional[str] = None,
    skip_bad: bool = False,
    max_chars: Optional[int] = None,
) -> TextItems:
    """The labeled texts of a CSV, TSV or JSON-lines file.

    Args:
        path: the file.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; None tells it from the extension.
        text_columns: the columns holding the texts (one for labeled texts, two for sentence
            pairs); None: ``("text",)`` when the file has a ``text`` column, else
            ``("sentence",)`` when it has ``sentence``.
        label_column: the column holding the labels (strings; in JSON also integers).
        encoding: a Python codec name; None reads UTF-8 with or without a byte-order mark.
        skip_bad: skip bad records (the record problems under Raises) and count them
            in ``items.skipped`` instead of raising.
        max_chars: a text longer than this many characters is a bad record.

    Returns:
        :class:`TextItems`. An ``id`` column, when there is one, gives the items' ids.

    Raises:
        ConfigError: a bad option value (format, encoding, columns, ``max_chars``).
        CorpusError: a problem of the file (missing, unreadable, binary, not in its encoding,
            a bad header, no rows, a missing column); or, unless ``skip_bad``, of one record
            (ragged row, not a JSON object, a missing key, an empty or over-long text, an
            empty or non-string label, an empty or repeated id, a bad phrase entry), naming
            ``file:line``.
    """
    texts_given = _check_text_columns(text_columns)
    label_column = _check_label_column(label_column)
    if max_chars is not None and (type(max_chars) is not int or max_chars < 1):
        raise ConfigError(f"--max-chars must be a positive integer, got {max_chars!r}; "
                          "or leave it out for no limit")
    src = _open(path, format, encoding)
    jsonl = src.format == "jsonl"
    # JSON keys are known only once every line is read; a CSV header is known already.
    rows: Union[list, Iterator] = list(src.rows) if jsonl else src.rows
    if jsonl and not rows:
        _no_rows(src)
    if texts_given is None:
        has_sentence = "text" not in src.columns and "sentence" in src.columns
        texts_given = ("sentence",) if has_sentence else ("text",)
    if label_column in texts_given:
        raise ConfigError(f"data.label_column must not be a text column too, got "
                          f"{label_column!r}; name the column that holds the labels")
    for name in texts_given:
        if name not in src.columns:
            _missing_column(src, name, "--data.text_column")
    if label_column not in src.columns:
        _missing_column(src, label_column, "--data.label_column")
    result = TextItems(src.source, src.format, texts_given, label_column, [])
    make = _ItemMaker(src, texts_given, label_column, "id" in src.columns, max_chars)
    for row in rows:
        try:
            if isinstance(row, RecordError):
                raise row
            result.items.append(make(row))
        except RecordError as bad:
            _reject(result, src, bad, skip_bad)
    _check_some_rows(src, len(result.items), result.errors)
    return result


class _ItemMaker:
    """Turns the records of one file into :class:`TextItem` s, checking each."""

    def __init__(self, src: _Source, text_columns: tuple[str, ...], label_column: str,
                 has_id: bool, max_chars: Optional[int]) -> None:
        self.jsonl = src.format == "jsonl"
        self.where = "key" if self.jsonl else "column"
        self.text_columns = text_columns
        self.label_column = label_column
        self.has_id = has_id
        self.max_chars = max_chars
        self.id_lines: dict[str, int] = {}

    def __call__(self, record: Record) -> TextItem:
        line = record.line
        texts = tuple(self._text(record, name) for name in self.text_columns)
        label = self._label(record)
        phrases = self._phrases(record, texts[0]) if self.jsonl else ()
        if self.has_id:
            item_id = self._id(record)
            first = self.id_lines.get(item_id)
            if first is not None:
                raise RecordError(line, f"id {_q(item_id)} again (first on line {first}); "
                                       "ids must be unique")
            self.id_lines[item_id] = line
        else:
            item_id = str(record.number)
        return TextItem(item_id, texts, label, line, phrases)

    def _value(self, record: Record, name: str) -> Any:
        try:
            return record.fields[name]
        except KeyError:  # only JSON objects can lack a key: a CSV row has every column
            raise RecordError(record.line, f"no {_q(name)} key "
                                          f"(keys: {_list(list(record.fields))})") from None

    def _text(self, record: Record, name: str) -> str:
        text = self._value(record, name)
        if not isinstance(text, str):
            raise RecordError(record.line, f"text must be a string, got {_show(text)} "
                                          f"({self.where} {_q(name)})")
        if not text.strip():
            raise RecordError(record.line, f"empty text in {self.where} {_q(name)}")
        if self.max_chars is not None and len(text) > self.max_chars:
            raise RecordError(record.line, f"text of {len(text)} characters in {self.where} "
                                          f"{_q(name)}, over the limit of "
                                          f"{self.max_chars} (--max-chars)")
        return text

    def _label(self, record: Record) -> str:
        name = self.label_column
        return _label_value(self._value(record, name), record.line, "",
                            f"{self.where} {_q(name)}")

    def _id(self, record: Record) -> str:
        value = self._value(record, "id")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RecordError(record.line, f"id must be a string or an integer, got "
                                          f"{_show(value)} ({self.where} 'id')")
        value = str(value).strip()
        if not value:
            raise RecordError(record.line, f"empty id in {self.where} 'id'; every item needs "
                                          "one when the file has an id column")
        return value

    def _phrases(self, record: Record, text: str) -> tuple:
        entries = record.fields.get("phrases")
        if entries is None:
            return ()
        line = record.line
        if not isinstance(entries, list):
            raise RecordError(line, f"'phrases' must be a list of objects, got {_show(entries)}")
        return tuple(_phrase(entry, i, text, line) for i, entry in enumerate(entries))


def _phrase(entry: Any, index: int, text: str, line: int) -> PhraseLabel:
    """One entry of an item's ``phrases`` list, checked against the item's text."""
    where = f"phrases[{index}]"

    def bad(reason: str) -> RecordError:
        return RecordError(line, f"{where}: {reason}")

    if not isinstance(entry, dict):
        raise bad(f"must be an object like {{\"text\": \"not bad\", \"label\": 1}} or "
                  f"{{\"start\": 0, \"end\": 7, \"label\": 1}}, got {_show(entry)}")
    unknown = [k for k in entry if k not in _PHRASE_KEYS]
    if unknown:
        raise bad(f"unknown key {_q(unknown[0])}; "
                  "expected label and text, or label, start and end")
    if "label" not in entry:
        raise bad("no 'label' key")
    label = _label_value(entry["label"], line, f"{where}: ", "")
    phrase = entry.get("text")
    span = None
    if "start" in entry or "end" in entry:
        start, end = entry.get("start"), entry.get("end")
        if not (_is_int(start) and _is_int(end)):
            raise bad(f"start and end must both be integers, got {_show(start)} and "
                      f"{_show(end)}")
        if not 0 <= start < end <= len(text):
            raise bad(f"span [{start}, {end}) is not inside the text of {len(text)} "
                      "characters (need 0 <= start < end <= length)")
        span = (start, end)
    if phrase is not None or span is None:
        if not isinstance(phrase, str) or not phrase.strip():
            raise bad("needs a non-empty 'text' (the phrase) or integer 'start' and 'end', "
                      f"got text {_show(phrase)}")
        if span is not None and text[span[0]:span[1]] != phrase:
            raise bad(f"text {_show(phrase)} is not the span [{span[0]}, {span[1]}) of the "
                      f"text, which is {_show(text[span[0]:span[1]])}")
        if span is None and phrase not in text:
            raise bad(f"text {_show(phrase)} does not occur in the item's text")
    return PhraseLabel(label, phrase, span)


def _label_value(value: Any, line: int, prefix: str, place: str) -> str:
    """A label as a string: a string (stripped) or a JSON integer; anything else is bad.

    ``prefix`` starts the message (``"phrases[2]: "`` or ``""``); ``place`` names where the
    label is (``"column 'label'"``), or is empty.
    """
    where = f" in {place}" if place else ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(line, f"{prefix}label must be a string or an integer, got "
                               f"{_show(value)}{where}")
    label = str(value).strip()
    if not label:
        raise RecordError(line, f"{prefix}empty label{where}")
    return label


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- options
def _check_text_columns(text_columns: Any) -> Optional[tuple[str, ...]]:
    if text_columns is None:
        return None
    if isinstance(text_columns, str):
        text_columns = (text_columns,)
    if not isinstance(text_columns, (tuple, list)) or not text_columns or not all(
            isinstance(c, str) and c.strip() for c in text_columns):
        raise ConfigError(f"data.text_column must name one or more columns, got "
                          f"{text_columns!r}; e.g. text")
    names = tuple(c.strip() for c in text_columns)
    if len(set(names)) != len(names):
        raise ConfigError(f"data.text_column names a column twice, got {list(names)!r}; "
                          "name each text column once")
    return names


def _check_label_column(label_column: Any) -> str:
    if not isinstance(label_column, str) or not label_column.strip():
        raise ConfigError(f"data.label_column must name a column, got {label_column!r}; "
                          "e.g. label")
    return label_column.strip()


def _check_encoding(encoding: Optional[str]) -> str:
    """The codec to decode with ('utf-8' when None); a name Python does not know is an error."""
    if encoding is None:
        return "utf-8"
    bad = ConfigError(f"data.encoding is not a known encoding, got {encoding!r}; "
                      "e.g. utf-8 or latin-1")
    if not isinstance(encoding, str):
        raise bad
    try:
        codecs.lookup(encoding)
        b"a".decode(encoding)          # refuses bytes-to-bytes codecs such as 'hex' or 'rot13'
    except LookupError:
        raise bad from None
    except (UnicodeError, ValueError):
        pass                           # a real text codec that cannot decode b"a" (utf-16)
    return encoding


# ---------------------------------------------------------------------------- reading
@dataclass
class _Source:
    """An opened file: its records come lazily from ``rows`` (csv: after the header)."""

    source: str
    format: str
    columns: list[str]
    rows: Iterator[Union[Record, RecordError]]
    tree_like: bool          # the first line looks like label<TAB>(tree)


def _open(path: PathArg, format: Optional[str], encoding: Optional[str]) -> _Source:
    fmt = detect_format(path, format)
    codec = _check_encoding(encoding)
    source = _source(path)
    text = _decode(source, read_bytes(source), codec, encoding)
    if fmt == "jsonl":
        columns: list[str] = []
        return _Source(source, fmt, columns, _jsonl_records(source, text, columns), False)
    tree_like = _looks_like_tree_line(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_DELIMITERS[fmt], strict=True)
    src = _Source(source, fmt, [], iter(()), tree_like)
    header, header_line = _read_header(src, reader)
    src.columns.extend(_check_header(src, header, header_line))
    src.rows = _csv_records(src, reader)
    return src


def _source(path: PathArg) -> str:
    return str(os.fspath(path))


def _decode(source: str, data: bytes, codec: str, encoding: Optional[str]) -> str:
    """The text of a file; binary data and bytes that do not decode are file errors."""
    name = codecs.lookup(codec).name
    utf8 = name in ("utf-8", "utf-8-sig")
    wide = name.startswith(("utf-16", "utf-32"))  # NUL bytes are ordinary there
    if utf8 and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CorpusError(f"{source}: a UTF-16 file (it starts with a UTF-16 byte-order mark), "
                          "not UTF-8; add --data.encoding utf-16 or convert it to UTF-8")
    nul = -1 if wide else data.find(b"\x00")
    if nul >= 0:
        raise CorpusError(f"{source}: a binary file (NUL byte at byte offset {nul}), "
                          "not a CSV/TSV/JSON-lines text file")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        line = data[:err.start].decode(codec, errors="replace").count("\n") + 1
        shown = "UTF-8" if utf8 else encoding
        fix = ("if the file is Latin-1, add --data.encoding latin-1" if utf8 else
               "name the file's encoding with --data.encoding")
        raise CorpusError(f"{source}: not {shown}: byte 0x{data[err.start]:02x} at byte "
                          f"offset {err.start} (line {line}); {fix}") from None
    except UnicodeError as err:
        raise CorpusError(f"{source}: not {encoding}: {err}; "
                          "name the file's encoding with --data.encoding") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if wide and "\x00" in text:
        raise CorpusError(f"{source}: a binary file (NUL character at character offset "
                          f"{text.index(chr(0))}), not a CSV/TSV/JSON-lines text file")
    return text


def _read_header(src: _Source, reader: Any) -> tuple[list[str], int]:
    """The first non-blank row and its line; no row at all is the no-rows error."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            _no_rows(src)
        except csv.Error as err:
            _file_error(src, f"{src.source}:{line}: the header: {_csv_reason(err)}")
        if not _is_blank(row):
            return [name.strip() for name in row], line


def _check_header(src: _Source, header: list[str], line: int) -> list[str]:
    first: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        if not name:
            _file_error(src, f"{src.source}:{line}: column {number} of the header has no name "
                             f"(header: {_list(header)}); name every column, and remove a "
                             "delimiter at the end of the line")
        if name in first:
            _file_error(src, f"{src.source}:{line}: the header names {_q(name)} twice "
                             f"(columns {first[name]} and {number}); column names must differ")
        first[name] = number
    return header


def _csv_records(src: _Source, reader: Any) -> Iterator[Union[Record, RecordError]]:
    columns = src.columns
    number = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            number += 1
            yield RecordError(line, _csv_reason(err))
            if reader.line_num < line:  # nothing consumed: stop rather than loop forever
                return
            continue
        if _is_blank(row):
            continue
        number += 1
        if len(row) != len(columns):
            yield RecordError(line, f"row has {_count(len(row), 'field')}, the header has "
                                   f"{len(columns)} ({_list(columns)})")
            continue
        yield Record(line, number, dict(zip(columns, row)))


def _jsonl_records(source: str, text: str, columns: list[str]
                   ) -> Iterator[Union[Record, RecordError]]:
    """Records of a JSON-lines text; ``columns`` collects the keys as they first appear."""
    known = set(columns)
    number = 0
    for index, raw in enumerate(text.split("\n")):
        line = index + 1
        if not raw.strip():
            continue
        number += 1
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            yield RecordError(line, f"not JSON: {err.msg}", err.colno)
            continue
        except RecursionError:
            yield RecordError(line, "not JSON: nested too deeply")
            continue
        if not isinstance(value, dict):
            yield RecordError(line, "a JSON line must be an object with the columns as keys, "
                                   f"got {_json_kind(value)}")
            continue
        for key in value:
            if key not in known:
                known.add(key)
                columns.append(key)
        yield Record(line, number, value)


def _csv_reason(err: csv.Error) -> str:
    reason = str(err).replace("\t", "\\t")
    if "unexpected end of data" in reason:
        return ('a quoted field is never closed: a field that starts with " runs to the end '
                'of the file (write "" for a quote inside a quoted field)')
    if "expected after" in reason:
        return (f'{reason}: a field that starts with " must be quoted whole, '
                'with "" for a quote inside')
    return reason


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


# ---------------------------------------------------------------------------- errors
def _reject(result: Union[Table, TextItems], src: _Source, bad: RecordError,
            skip_bad: bool) -> None:
    """Raise a bad record's error, or count it and keep its message when skipping."""
    message = f"{src.source}:{bad.where}: {bad.reason}"
    if not skip_bad:
        raise CorpusError(message)
    result.skipped += 1
    result.errors.append(message)


def _check_some_rows(src: _Source, good: int, errors: list[str]) -> None:
    """No records at all, or none usable, is an error of the file."""
    if good:
        return
    if errors:
        what = "items" if src.format == "jsonl" else "rows"
        raise CorpusError(f"{src.source}: no usable {what}: all {len(errors)} were bad; "
                          f"the first: {errors[0]}")
    _no_rows(src)


def _no_rows(src: _Source) -> NoReturn:
    if src.format == "jsonl":
        raise CorpusError(f"{src.source}: no items (expected one JSON object per line)")
    _file_error(src, f"{src.source}: no rows (expected a header line and one item per line)")


def _missing_column(src: _Source, name: str, option: str) -> NoReturn:
    if src.format == "jsonl":
        raise CorpusError(f"{src.source}: no {_q(name)} key in any line "
                          f"(keys: {_list(src.columns)}); name it with {option}")
    message = (f"{src.source}: no column {_q(name)} (columns: {_list(src.columns)}); "
               f"name it with {option}")
    if len(src.columns) == 1 and not src.tree_like:
        other = "tsv" if src.format == "csv" else "csv"
        if _DELIMITERS[other] in src.columns[0]:
            message += (f"; the header holds {'TABs' if other == 'tsv' else 'commas'}: "
                        f"if this is a {other.upper()} file, add --data.format {other}")
    _file_error(src, message)


def _file_error(src: _Source, message: str) -> NoReturn:
    """Raise a file-level error, saying so when the file looks like a labeled-tree file."""
    if src.tree_like:
        message = f"{message}; {TREE_FILE_HINT}"
    raise CorpusError(message)


def _looks_like_tree_line(line: str) -> bool:
    tab = line.find("\t")
    if tab < 0:
        return False
    tree = line[tab + 1:].strip()
    return tree.startswith("(") and tree.endswith(")")


def _short(name: str) -> str:
    """A name for a one-line message: line breaks and TABs escaped, cut to 30 characters."""
    return _cut(name.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"))


def _q(name: str) -> str:
    """A name in quotes, for a message."""
    return f"'{_short(name)}'"


def _cut(text: str) -> str:
    return text if len(text) <= _NAME_WIDTH else text[:_NAME_WIDTH - 3] + "..."


def _list(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(_short(n) for n in names[:_MAX_LISTED])
    return shown if len(names) <= _MAX_LISTED else f"{shown}, ... ({len(names)} in all)"


def _show(value: Any) -> str:
    """A JSON value as JSON, cut to 30 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _cut(text)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
