"""Vocabulary: tokens <-> integer ids, with distinct PAD and UNK ids, and pretrained vectors.

A :class:`Vocab` is saved as JSON (:meth:`Vocab.save` / :meth:`Vocab.load`), never pickled.
:func:`load_vectors` builds an embedding matrix from a GloVe or word2vec text file.

Imports neither torch nor (until :func:`load_vectors` is called) numpy.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence, Union

from treernn.errors import VocabError
from treernn.trees.ptb import PTB_ESCAPES, unescape_token

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

PAD = "<pad>"
UNK = "<unk>"
_FORMAT = "treernn.vocab"
_VERSION = 1


class Vocab:
    """A token <-> id mapping. Id 0 is PAD, id 1 is UNK; unknown tokens map to UNK.

    Args:
        tokens: the known tokens, in id order (PAD and UNK are added in front).
        lowercase: lowercase every token before lookup (and when building).
    """

    pad_id = 0
    unk_id = 1

    def __init__(self, tokens: Iterable[str] = (), lowercase: bool = False) -> None:
        self.lowercase = lowercase
        self.itos: list[str] = [PAD, UNK]
        self.stoi: dict[str, int] = {PAD: 0, UNK: 1}
        for tok in tokens:
            self.add(tok)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        lowercase: bool = False,
        max_size: Optional[int] = None,
    ) -> "Vocab":
        """A vocabulary of the tokens seen at least ``min_freq`` times, most frequent first
        (ties in order of first appearance)."""
        if min_freq < 1:
            raise VocabError(f"min_freq must be >= 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for sent in sentences:
            counts.update(t.lower() if lowercase else t for t in sent)
        kept = [t for t, c in counts.most_common() if c >= min_freq and t not in (PAD, UNK)]
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, lowercase=lowercase)

    def normalize(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def add(self, token: str) -> int:
        """Add ``token`` (if new) and return its id."""
        token = self.normalize(token)
        idx = self.stoi.get(token)
        if idx is None:
            idx = len(self.itos)
            self.itos.append(token)
            self.stoi[token] = idx
        return idx

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return self.normalize(token) in self.stoi

    def lookup(self, token: str) -> int:
        """The id of ``token``, UNK's id when unknown."""
        return self.stoi.get(self.normalize(token), self.unk_id)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens`` (UNK for unknown ones)."""
        get, unk = self.stoi.get, self.unk_id
        if self.lowercase:
            return [get(t.lower(), unk) for t in tokens]
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.lowercase == other.lowercase and self.itos == other.itos

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, lowercase={self.lowercase})"

    # ------------------------------------------------------------------ JSON form (no pickle)
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: format tag, version, ``lowercase`` and all tokens in id order."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "lowercase": self.lowercase,
            "tokens": list(self.itos),
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "Vocab":
        """Inverse of :meth:`to_dict`; ids are kept exactly.

        Raises:
            VocabError: not a vocabulary of this format, naming ``source`` and the problem.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise VocabError(f"{source}: not a treernn vocabulary (expected "
                             f'{{"format": "{_FORMAT}", ...}})')
        if data.get("version") != _VERSION:
            raise VocabError(f"{source}: vocabulary version {data.get('version')!r} is not "
                             f"supported (expected {_VERSION})")
        lowercase = data.get("lowercase")
        tokens = data.get("tokens")
        if not isinstance(lowercase, bool):
            raise VocabError(f"{source}: 'lowercase' must be true or false")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise VocabError(f"{source}: 'tokens' must be a list of strings")
        if tokens[:2] != [PAD, UNK]:
            raise VocabError(f"{source}: the first two tokens must be {PAD!r} and {UNK!r}")
        vocab = cls(lowercase=lowercase)
        for i, tok in enumerate(tokens[2:], start=2):
            if vocab.add(tok) != i:
                raise VocabError(f"{source}: token {tok!r} at id {i} is a duplicate"
                                 + (" (after lowercasing)" if lowercase else ""))
        return vocab

    def to_json(self) -> str:
        """The vocabulary as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, source: str = "<json>") -> "Vocab":
        """Inverse of :meth:`to_json`.

        Raises:
            VocabError: invalid JSON or not a vocabulary, naming ``source``.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise VocabError(
                f"{source}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}"
            ) from None
        return cls.from_dict(data, source)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the vocabulary to a JSON file (UTF-8).

        Raises:
            VocabError: the file cannot be written.
        """
        try:
            Path(path).write_text(self.to_json() + "\n", encoding="utf-8")
        except OSError as err:
            raise VocabError(
                f"{path}: cannot write the vocabulary: {err.strerror or err}"
            ) from None

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Vocab":
        """Read a vocabulary written by :meth:`save`.

        Raises:
            VocabError: missing or unreadable file, invalid JSON, not a vocabulary.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VocabError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise VocabError(f"{path}: cannot read the vocabulary: {err}") from None
        return cls.from_json(text, str(path))


# ---------------------------------------------------------------------------- pretrained vectors
# Forms tried for a vocabulary token, best first (see load_vectors).
_FORMS = ("exact", "unescaped", "lowercased", "lowercased+unescaped", "case-insensitive")
# PTB escapes written in lowercase, as found in a lowercased vocabulary ("-lrb-").
_LOWER_ESCAPES = {k.lower(): v for k, v in PTB_ESCAPES.items()}
_LOWER_ESCAPE_RE = re.compile("|".join(re.escape(k) for k in _LOWER_ESCAPES))
_HEADER_RE = re.compile(r"[0-9]+ [0-9]+")  # word2vec text header: "count dim"


def _unescaped(token: str) -> str:
    """``token`` with PTB escapes undone, also when they were lowercased (``-lrb-``)."""
    out = unescape_token(token)
    return _LOWER_ESCAPE_RE.sub(lambda m: _LOWER_ESCAPES[m.group(0)], out)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class VectorCoverage:
    """How many vocabulary tokens got a pretrained vector (PAD and UNK not counted).

    Attributes:
        found: tokens that got a vector from the file.
        total: tokens in the vocabulary, PAD and UNK excluded.
        missing: a few tokens without a vector, most frequent first when the vocabulary was
            built by :meth:`Vocab.build`.
        path: the vector file.
        dim: the vector size.
        file_words: vectors (lines) in the file.
        matched_by: how many tokens matched through each form (``exact``, ``unescaped``,
            ``lowercased``, ``lowercased+unescaped``, ``case-insensitive``).
        undecodable_lines: lines of the file that are not UTF-8, skipped (their word cannot
            equal any vocabulary token).
        found_ids: the vocabulary ids that got a vector from the file.
    """

    found: int
    total: int
    missing: tuple[str, ...]
    path: str
    dim: int
    file_words: int
    matched_by: dict[str, int] = field(default_factory=dict)
    undecodable_lines: int = 0
    found_ids: frozenset = field(default_factory=frozenset, repr=False)

    @property
    def fraction(self) -> float:
        """``found / total`` (0.0 for an empty vocabulary)."""
        return self.found / self.total if self.total else 0.0

    def __str__(self) -> str:
        text = f"vectors cover {self.found:,} of {self.total:,} tokens ({100 * self.fraction:.1f}%)"
        if self.undecodable_lines:
            text += (f"; {self.undecodable_lines:,} lines of {self.path} were not UTF-8 "
                     "and were skipped")
        return text


@dataclass(frozen=True)
class VectorFileInfo:
    """What a vector file says about itself (:func:`vector_file_info`).

    Attributes:
        dim: the vector size (from a word2vec header or the first vector).
        lowercase_only: no word of the file has an uppercase letter (GloVe 6B): a vocabulary
            for it should be lowercased, or every capitalised word misses its vector.
    """

    dim: int
    lowercase_only: bool


def vector_file_info(path: Union[str, "os.PathLike[str]"]) -> VectorFileInfo:
    """The size of a GloVe or word2vec text file's vectors and whether its words are all
    lowercase. Streams the file until a word with an uppercase letter shows (at once for a
    cased file); numbers are not parsed.

    Raises:
        VocabError: as :func:`load_vectors` (missing file, bad lines, no vectors).
    """
    state = _VectorFile(str(path), None)
    lowercase_only = True
    for _, word, _ in _vector_lines(Path(path), state):
        if word != word.lower():
            lowercase_only = False
            break
    if state.dim is None:
        raise VocabError(f"{path}: no vectors")
    return VectorFileInfo(state.dim, lowercase_only)


def load_vectors(
    path: Union[str, "os.PathLike[str]"],
    vocab: Vocab,
    dim: Optional[int] = None,
    *,
    seed: int = 0,
    init_scale: float = 0.05,
    max_missing: int = 10,
) -> tuple["np.ndarray", VectorCoverage]:
    """An embedding matrix for ``vocab`` from a GloVe or word2vec text file.

    The file has one word and its numbers per line, separated by single spaces; a word2vec
    header line ``count dim`` is detected and checked. ``.gz`` files are read through gzip.
    The file is streamed line by line (full GloVe files are gigabytes); only the vectors the
    vocabulary needs are kept. For each vocabulary token the forms tried are, best first:
    the token itself; its PTB-unescaped form (``-LRB-`` -> ``(``, also ``-lrb-`` in a
    lowercased vocabulary; see :func:`treernn.trees.ptb.unescape_token`); the lowercased
    token; the lowercased unescaped token; and, for a lowercasing vocabulary, any file word
    that lowercases to the token (``London`` for ``london``). Among equally good matches the
    first in the file wins.

    A line whose word holds spaces (GloVe 840B has a few, e.g. ``. . .``) is accepted: the
    last ``dim`` fields are the numbers. Numbers are parsed only on lines whose word is
    needed, which keeps large files fast; the field count is checked on every line.

    Args:
        path: the vector file.
        vocab: the vocabulary; row ``i`` of the result is the vector of id ``i``.
        dim: the expected vector size; None takes it from the header or the first line.
        seed: seed of the random vectors of tokens not in the file.
        init_scale: those vectors are uniform in ``[-init_scale, init_scale]``
            (as Tai et al. 2015 did for unknown words with 0.05).
        max_missing: how many missing tokens the report lists.

    Returns:
        ``(matrix, coverage)``: a float32 array ``(len(vocab), dim)`` where PAD's row is
        zeros, rows of tokens found are their vectors and all others (UNK included) small
        seeded random values; and a :class:`VectorCoverage` report.

    Raises:
        VocabError: missing file; a line with the wrong number of fields or non-numeric
            values, naming ``file:line``; a size differing from ``dim`` or from the header;
            a header count that differs from the number of vectors; no vectors at all.
    """
    import numpy as np

    source = str(path)
    wanted = _wanted_forms(vocab)
    # A lowercasing vocabulary also takes cased file words ("London" for "london").
    by_lower = {vocab.itos[i]: i for i in range(2, len(vocab))} if vocab.lowercase else {}
    lowest = len(_FORMS)
    best = [lowest] * len(vocab)  # priority of the form each token matched (lowest: none)
    rows: dict[int, "np.ndarray"] = {}
    state = _VectorFile(source, dim)
    for lineno, word, numbers in _vector_lines(Path(path), state):
        matches = wanted.get(word, [])
        if by_lower:
            low = by_lower.get(word.lower())
            if low is not None:
                matches = matches + [(low, lowest - 1)]
        if not any(prio < best[idx] for idx, prio in matches):
            continue  # numbers are parsed only for needed words
        fields = numbers.split(" ")
        try:
            vec = np.array(fields, dtype=np.float32)
        except ValueError:
            bad = next(x for x in fields if not _is_number(x))
            raise VocabError(f"{source}:{lineno}: non-numeric value {bad[:20]!r} in the "
                             f"vector of {word[:40]!r}") from None
        if not np.isfinite(vec).all():
            raise VocabError(f"{source}:{lineno}: the vector of {word[:40]!r} has "
                             "non-finite values")
        for idx, prio in matches:
            if prio < best[idx]:
                best[idx] = prio
                rows[idx] = vec
    assert state.dim is not None  # _vector_lines raises on a file without vectors

    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-init_scale, init_scale, size=(len(vocab), state.dim))
    matrix = matrix.astype(np.float32)  # (V, dim)
    matrix[Vocab.pad_id] = 0.0
    for idx, vec in rows.items():
        matrix[idx] = vec
    matched = Counter(_FORMS[best[i]] for i in rows)
    missing = [vocab.itos[i] for i in range(2, len(vocab)) if i not in rows]
    coverage = VectorCoverage(
        found=len(rows),
        total=len(vocab) - 2,
        missing=tuple(missing[:max_missing]),
        path=source,
        dim=state.dim,
        file_words=state.words,
        matched_by={form: matched[form] for form in _FORMS if matched[form]},
        undecodable_lines=state.undecodable,
        found_ids=frozenset(rows),
    )
    return matrix, coverage


def _wanted_forms(vocab: Vocab) -> dict[str, list[tuple[int, int]]]:
    """form -> [(vocab id, priority)] for the forms of every token but PAD and UNK.

    Priorities index :data:`_FORMS`: exact, unescaped, lowercased, lowercased+unescaped.
    """
    wanted: dict[str, list[tuple[int, int]]] = {}
    for idx in range(2, len(vocab)):
        token = vocab.itos[idx]
        unescaped = _unescaped(token)
        forms = (token, unescaped, token.lower(), unescaped.lower())
        for prio, form in enumerate(forms):
            if form not in forms[:prio]:
                wanted.setdefault(form, []).append((idx, prio))
    return wanted


@dataclass
class _VectorFile:
    """What :func:`_vector_lines` learns about a vector file while reading it."""

    source: str
    dim: Optional[int]
    header: Optional[tuple[int, int]] = None
    words: int = 0
    undecodable: int = 0


def _vector_lines(path: Path, state: _VectorFile) -> Iterator[tuple[int, str, str]]:
    """``(line number, word, numbers text)`` for every vector of the file, streamed.

    The numbers text holds exactly ``dim`` space-separated fields, not yet parsed.

    Detects a word2vec header, sets ``state.dim`` (from the header or the first vector
    when not given) and checks the field count of every line; counts vectors and
    non-UTF-8 lines in ``state``.

    Raises:
        VocabError: missing or unreadable file, wrong field count, a size differing from
            the header, a header count differing from the vectors, no vectors.
    """
    source = state.source
    try:
        stream = path.open("rb") if path.suffix != ".gz" else gzip.open(path, "rb")
    except FileNotFoundError:
        raise VocabError(f"{source}: no such file") from None
    except OSError as err:
        raise VocabError(f"{source}: cannot read: {err.strerror or err}") from None
    with stream:
        try:
            for lineno, raw in enumerate(stream, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    state.undecodable += 1
                    continue
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                line = line.rstrip("\r\n ")
                if not line:
                    continue
                if lineno == 1 and _HEADER_RE.fullmatch(line):
                    count, size = (int(x) for x in line.split(" "))
                    if state.dim is not None and state.dim != size:
                        raise VocabError(f"{source}:1: header says {size}-d vectors, "
                                         f"expected {state.dim}")
                    state.header, state.dim = (count, size), size
                    continue
                if state.dim is None:
                    state.dim = line.count(" ")
                    if state.dim < 1:
                        raise VocabError(f"{source}:{lineno}: expected a word and its numbers, "
                                         f"got {line[:40]!r}")
                dim = state.dim
                if line.count(" ") == dim:  # the usual case: a word without spaces
                    cut = line.index(" ")
                else:
                    parts = line.rsplit(" ", dim)
                    if len(parts) != dim + 1:
                        raise VocabError(f"{source}:{lineno}: {len(parts) - 1} numbers after "
                                         f"the word, expected {dim} (wrong number of fields)")
                    # A word with spaces is fine ('. . .'), extra numbers are not.
                    if all(_is_number(x) for x in parts[0].split(" ")[1:]):
                        raise VocabError(f"{source}:{lineno}: {line.count(' ')} numbers after "
                                         f"the word, expected {dim} (vector sizes differ)")
                    cut = len(parts[0])
                if cut == 0:
                    raise VocabError(f"{source}:{lineno}: the line starts with a space "
                                     "(no word before the numbers)")
                state.words += 1
                yield lineno, line[:cut], line[cut + 1:]
        except (OSError, EOFError) as err:  # e.g. a truncated .gz file
            raise VocabError(f"{source}: cannot read: {err}") from None
    if state.dim is None or state.words == 0:
        raise VocabError(f"{source}: no vectors in the file")
    if state.header is not None and state.header[0] != state.words:
        raise VocabError(f"{source}: the header says {state.header[0]:,} vectors, the file "
                         f"has {state.words:,}")
