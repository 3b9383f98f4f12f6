"""SICK (Marelli et al., 2014): sentence pairs with relatedness scores and entailment labels.

The full release, ``SICK.txt``: tab-separated, a header line, ``\\r\\n`` line ends, one pair per
line with 12 columns (``pair_ID sentence_A sentence_B entailment_label relatedness_score
entailment_AB entailment_BA sentence_A_original sentence_B_original sentence_A_dataset
sentence_B_dataset SemEval_set``); 9,840 pairs. ``relatedness_score`` is the mean of 10 human
ratings, 1 (unrelated) to 5 (very related); ``entailment_label`` is ENTAILMENT, NEUTRAL or
CONTRADICTION. The ``SemEval_set`` column gives the split (SemEval-2014 Task 1): TRAIN 4,439,
TRIAL 495 (the dev set), TEST 4,906.

Where the file is looked for, in this order (the first that holds it wins):

1. the ``path`` argument (the CLI's ``--data-path``): the ``SICK.txt`` file itself, or a
   directory holding it, directly or in its ``sick/`` folder; an explicit path without the
   file is an error, there is no fallback;
2. ``$TREERNN_DATA``: a data directory; SICK is looked for in ``$TREERNN_DATA/sick/SICK.txt``
   (the documented layout), then in ``$TREERNN_DATA/SICK.txt``;
3. the user cache, ``$XDG_CACHE_HOME/treernn/sick`` (``~/.cache/treernn/sick`` when
   ``$XDG_CACHE_HOME`` is unset);
4. otherwise the official zip (:data:`SICK_URL`) is downloaded into the cache
   (:func:`download_sick`).

The file is validated once, here: every problem is a :class:`~treernn.errors.CorpusError` with
a one-line message naming ``file:line`` and what is wrong. Sentences are kept as distributed
(a few have a leading or trailing space).

Pure Python: no torch, DGL or spaCy.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from treernn.corpora.download import cache_dir, fetch, one_line
from treernn.corpora.files import PathArg, ReadResult, iter_lines, read_text
from treernn.errors import CorpusError, RecordError

__all__ = [
    "SICK_URL",
    "ENTAILMENT_LABELS",
    "SPLITS",
    "SickPair",
    "sick_cache_dir",
    "find_sick",
    "download_sick",
    "read_sick",
    "load_sick",
]

SICK_URL = "https://zenodo.org/records/2787612/files/SICK.zip?download=1"
SICK_FILE = "SICK.txt"
ENV_VAR = "TREERNN_DATA"
ENTAILMENT_LABELS = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
# SemEval_set value -> split name.
SPLITS = {"TRAIN": "train", "TRIAL": "dev", "TEST": "test"}
SCORE_RANGE = (1.0, 5.0)

# The columns read, found in the header by name (the other six are not needed).
_ID, _A, _B, _LABEL, _SCORE, _SET = ("pair_ID", "sentence_A", "sentence_B", "entailment_label",
                                     "relatedness_score", "SemEval_set")
REQUIRED_COLUMNS = (_ID, _A, _B, _LABEL, _SCORE, _SET)

EMPTY_LINE = "empty line (one pair per line; remove blank lines between pairs)"
_TIMEOUT = 60.0         # seconds to wait for the download server
_NAME_WIDTH = 30        # column names and values longer than this are cut in messages
_MAX_LISTED = 12        # columns listed in a message, at most


@dataclass(frozen=True)
class SickPair:
    """One SICK sentence pair.

    Attributes:
        id: ``pair_ID``, as written (unique in the file).
        a: ``sentence_A``, as written.
        b: ``sentence_B``, as written.
        score: ``relatedness_score``, 1 (unrelated) to 5 (very related).
        label: ``entailment_label``, one of :data:`ENTAILMENT_LABELS`.
        line: the 1-based line of the pair in the file (the header is line 1).
    """

    id: str
    a: str
    b: str
    score: float
    label: str
    line: int


# ---------------------------------------------------------------------------- locations
def sick_cache_dir() -> Path:
    """The cache directory of SICK: ``$XDG_CACHE_HOME/treernn/sick`` or ``~/.cache/treernn/sick``.

    A relative ``$XDG_CACHE_HOME`` is ignored, as the XDG specification asks.
    """
    return cache_dir("sick")


def _file_in(root: Path) -> Optional[Path]:
    """``root/sick/SICK.txt`` or ``root/SICK.txt``: the first that is a file."""
    for candidate in (root / "sick" / SICK_FILE, root / SICK_FILE):
        if candidate.is_file():
            return candidate
    return None


def find_sick(path: Optional[PathArg] = None,
              cache_dir: Optional[PathArg] = None) -> Optional[Path]:
    """The ``SICK.txt`` file, or None when none is found.

    Looks in ``path`` (when given), then ``$TREERNN_DATA``, then the cache (see the module
    docstring for the layouts accepted). Never downloads.

    Args:
        path: an explicit file, or a directory holding ``SICK.txt`` (or ``sick/SICK.txt``);
            when given, only it is searched.
        cache_dir: the cache directory to use instead of :func:`sick_cache_dir`.

    Raises:
        CorpusError: ``path`` is given but is neither a file nor a directory holding
            ``SICK.txt``.
    """
    if path is not None:
        root = Path(path)
        if root.is_file():
            return root
        if not root.is_dir():
            raise CorpusError(f"{root}: no such file or directory (expected {SICK_FILE} "
                              "or the folder holding it)")
        found = _file_in(root)
        if found is None:
            raise CorpusError(f"{root}: {SICK_FILE} not found there (nor in its sick/ folder)")
        return found
    env = os.environ.get(ENV_VAR)
    if env:
        found = _file_in(Path(env))
        if found is not None:
            return found
    cache = Path(cache_dir) if cache_dir is not None else sick_cache_dir()
    found = cache / SICK_FILE
    return found if found.is_file() else None


def _options(cache: Path, url: str) -> str:
    env = os.environ.get(ENV_VAR)
    env_note = f" (now {env}, no SICK there)" if env else ""
    return (f"pass {SICK_FILE} or its folder (--data-path PATH, or path=PATH), "
            f"or set ${ENV_VAR} to a folder holding sick/{SICK_FILE}{env_note}, "
            f"or put {SICK_FILE} in {cache}, or download {url} and unzip it there")



# ---------------------------------------------------------------------------- download
def _extract_sick(archive: Path, out: Path) -> None:
    """Copy ``SICK.txt`` out of the zip into the file ``out`` (the shortest such member).

    The member is read by name and written under a fixed name, so a hostile archive cannot
    write outside the cache.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            candidates = [n for n in zf.namelist()
                          if not n.endswith("/") and n.rsplit("/", 1)[-1] == SICK_FILE]
            if not candidates:
                raise CorpusError(f"{archive}: the zip has no {SICK_FILE}")
            member = min(candidates, key=lambda n: (len(n), n))
            with zf.open(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as err:
        raise CorpusError(f"{archive}: not a valid zip file ({one_line(err)})") from None


def download_sick(cache_dir: Optional[PathArg] = None, url: str = SICK_URL) -> Path:
    """Download the SICK zip from ``url`` and unpack its ``SICK.txt`` into the cache.

    The zip is fetched with ``urllib`` (so ``file://`` URLs work too) into a temporary folder
    inside the cache directory, ``SICK.txt`` is extracted there and its header checked, and
    the file is renamed into place: an interrupted download never leaves a half-written
    ``SICK.txt``. When the cache already holds the file nothing is downloaded.

    Args:
        cache_dir: the directory to fill (default :func:`sick_cache_dir`).
        url: where the ``SICK.zip`` archive is.

    Returns:
        The path of ``SICK.txt`` in the cache.

    Raises:
        CorpusError: the download failed (offline, bad URL, HTTP error; the message names
            the other ways to provide the file), the archive is not a zip, lacks
            ``SICK.txt`` or holds one without SICK's header, or the cache cannot be written;
            the message is one line.
    """
    dest = Path(cache_dir) if cache_dir is not None else sick_cache_dir()
    target = dest / SICK_FILE
    if target.is_file():
        return target
    try:
        dest.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".sick-download-", dir=dest))
    except OSError as err:
        raise CorpusError(f"{dest}: cannot create the cache folder: "
                          f"{one_line(err.strerror or err)}") from None
    try:
        archive = work / "SICK.zip"
        fetch(url, archive, "SICK", _options(dest, url), _TIMEOUT)
        staged = work / SICK_FILE
        _extract_sick(archive, staged)
        with open(staged, "rb") as f:
            first = f.readline(64 * 1024).decode("utf-8", errors="replace").lstrip("\ufeff")
        problem = _header_problem(first.rstrip("\r\n").split("\t"))
        if problem is not None:
            raise CorpusError(f"{url}: the archive's {SICK_FILE}: {problem}")
        try:
            os.replace(staged, target)
        except OSError as err:
            raise CorpusError(f"{target}: cannot move the downloaded file into place: "
                              f"{one_line(err.strerror or err)}") from None
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------- reading
def _cut(text: str) -> str:
    return text if len(text) <= _NAME_WIDTH else text[:_NAME_WIDTH - 3] + "..."


def _shown(value: str) -> str:
    """A field value for a message: quoted, control characters escaped, long ones cut."""
    return repr(_cut(value))


def _header_problem(header: list[str]) -> Optional[str]:
    """Why ``header`` is not SICK's (one line), or None when it has the columns needed."""
    names = [name.strip() for name in header]
    for name in REQUIRED_COLUMNS:
        if name not in names:
            listed = ", ".join(_shown(n) for n in names[:_MAX_LISTED])
            more = f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else ""
            return f"not SICK's header: no column {name!r} (columns: {listed}{more})"
        if names.count(name) > 1:
            return f"not SICK's header: column {name!r} appears {names.count(name)} times"
    return None


def read_sick(path: PathArg, skip_bad: bool = False) -> dict[str, ReadResult[SickPair]]:
    """The pairs of a ``SICK.txt`` file, split by its ``SemEval_set`` column.

    The file: UTF-8 (a leading byte-order mark is dropped), ``\\r\\n`` or ``\\n`` line ends, a
    header line whose columns are found by name (``pair_ID``, ``sentence_A``, ``sentence_B``,
    ``entailment_label``, ``relatedness_score`` and ``SemEval_set`` are needed), then one
    tab-separated pair per line; blank lines at the end are ignored.

    A bad line is one with another number of fields than the header, an empty ``pair_ID``,
    ``sentence_A`` or ``sentence_B``, a score that is not a number in [1, 5], a label not in
    :data:`ENTAILMENT_LABELS`, a ``SemEval_set`` not in :data:`SPLITS`, a ``pair_ID`` already
    seen, or a blank line before the last pair.

    Args:
        path: the file.
        skip_bad: skip bad lines and count them (``skipped``, ``errors``) in the result of
            their split instead of raising. A bad line whose split cannot be read (a blank
            line, a wrong number of fields, an unknown ``SemEval_set``) is counted in the
            ``"train"`` result.

    Returns:
        ``{"train": ..., "dev": ..., "test": ...}`` (TRAIN, TRIAL, TEST): a
        :class:`~treernn.corpora.files.ReadResult` of :class:`SickPair` each, in file order,
        with the pairs' line numbers and what was skipped.

    Raises:
        CorpusError: a missing or unreadable file, not UTF-8, not SICK's header, no pairs
            (an empty file, a header only, or every line bad), each naming the file; or a bad
            line, naming ``file:line`` and what is wrong, unless ``skip_bad``.
    """
    source = str(path)
    text = read_text(path)
    results = {name: ReadResult[SickPair](source) for name in SPLITS.values()}
    lines = iter_lines(text)
    first = next(lines, None)
    if first is None:
        raise CorpusError(f"{source}: no pairs (an empty file; expected SICK's header line "
                          "and one tab-separated pair per line)")
    header = first[1].split("\t")
    problem = _header_problem(header)
    if problem is not None:
        raise CorpusError(f"{source}:1: {problem}")
    columns = [name.strip() for name in header]
    at = {name: columns.index(name) for name in REQUIRED_COLUMNS}
    seen: dict[str, int] = {}  # pair_ID -> its line
    good = 0
    errors: list[str] = []
    for lineno, line in lines:
        split = "train"
        try:
            if not line.strip():
                raise RecordError(lineno, EMPTY_LINE)
            fields = line.split("\t")
            if len(fields) != len(columns):
                raise RecordError(lineno, f"{len(fields)} fields, the header has {len(columns)}")
            semeval_set = fields[at[_SET]]
            if semeval_set not in SPLITS:
                raise RecordError(lineno, f"{_SET} {_shown(semeval_set)} unknown; known: "
                                  + ", ".join(SPLITS))
            split = SPLITS[semeval_set]
            pair = _pair(fields, at, lineno, seen)
        except RecordError as bad:
            message = f"{source}:{lineno}: {bad}"
            if not skip_bad:
                raise CorpusError(message) from None
            results[split].skipped += 1
            results[split].errors.append(message)
            errors.append(message)
            continue
        seen[pair.id] = lineno
        results[split].items.append(pair)
        results[split].lines.append(lineno)
        good += 1
    if not good:
        if errors:
            raise CorpusError(f"{source}: no pairs: all {len(errors)} lines were bad; "
                              f"the first: {errors[0]}")
        raise CorpusError(f"{source}: no pairs (a header only)")
    return results


def _pair(fields: list[str], at: dict[str, int], lineno: int, seen: dict[str, int]) -> SickPair:
    pair_id = fields[at[_ID]]
    if not pair_id.strip():
        raise RecordError(lineno, f"empty {_ID}")
    if pair_id in seen:
        raise RecordError(lineno, f"{_ID} {_shown(pair_id)} repeated (first on line {seen[pair_id]})")
    a, b = fields[at[_A]], fields[at[_B]]
    for name, sentence in ((_A, a), (_B, b)):
        if not sentence.strip():
            raise RecordError(lineno, f"empty {name}")
    label = fields[at[_LABEL]]
    if label not in ENTAILMENT_LABELS:
        raise RecordError(lineno, f"{_LABEL} {_shown(label)} unknown; known: {', '.join(ENTAILMENT_LABELS)}")
    raw = fields[at[_SCORE]]
    try:
        score = float(raw)
    except ValueError:
        raise RecordError(lineno, f"{_SCORE} {_shown(raw)} is not a number") from None
    low, high = SCORE_RANGE
    if not (math.isfinite(score) and low <= score <= high):
        raise RecordError(lineno, f"{_SCORE} {_shown(raw)} is outside [{low:g}, {high:g}]")
    return SickPair(pair_id, a, b, score, label, lineno)


# ---------------------------------------------------------------------------- loading
def load_sick(path: Optional[PathArg] = None,
              skip_bad: bool = False) -> dict[str, ReadResult[SickPair]]:
    """The SICK train/dev/test pairs: found (:func:`find_sick`), else downloaded, then read.

    Args:
        path: ``SICK.txt`` or its folder; when None, ``$TREERNN_DATA``, then the cache, then a
            download into the cache (see the module docstring).
        skip_bad: skip bad lines and count them per split (see :func:`read_sick`).

    Returns:
        ``{"train": ..., "dev": ..., "test": ...}``, as :func:`read_sick`.

    Raises:
        CorpusError: an explicit ``path`` without the file; SICK found nowhere and not
            downloadable (one line naming the options); a bad file or line (see
            :func:`read_sick`).
    """
    found = find_sick(path)
    if found is None:
        found = download_sick()
    return read_sick(found, skip_bad=skip_bad)
