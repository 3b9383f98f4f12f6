"""The part of Stanford CoreNLP's server protocol that its sentiment annotator uses.

CoreNLP's server (``StanfordCoreNLPServer``) takes the text as the body of ``POST /`` and the
request's settings as URL parameters: ``properties`` (or ``props``) holds a map, every other
parameter is one setting. What this module reads as CoreNLP does:

- the map is JSON, or what Python's ``str(dict)`` writes (pycorenlp and stanza send that:
  single quotes), or CoreNLP's own loose ``{key: value, ...}``;
- the body is decoded with the ``charset`` of its ``Content-Type`` (UTF-8 without one) and,
  when the type is ``application/x-www-form-urlencoded`` or missing (curl ``--data``, wget
  ``--post-data``, pycorenlp), URL-decoded as well (``+`` becomes a space), unless it is not
  valid URL encoding;
- ``outputFormat``: ``json`` (the default, CoreNLP's document shape) or ``text`` (CoreNLP's
  plain-text form); anything else is refused, naming the formats spoken.

Nothing here imports torch or spaCy.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import unquote_plus

from treernn.errors import ServerError

#: The output formats this server writes (CoreNLP's names).
OUTPUT_FORMATS = ("json", "text")
#: The annotators whose output this server gives; any other requested annotator is listed in
#: the ``X-Treernn-Ignored-Annotators`` response header and otherwise ignored. (The text is
#: always tokenized, split into sentences, parsed and labeled: a sentiment server.)
COMPUTED_ANNOTATORS = ("tokenize", "ssplit", "sentiment")
URL_ENCODED = "application/x-www-form-urlencoded"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass
class Request:
    """A CoreNLP request's settings, read from its URL parameters."""

    output_format: str = "json"
    annotators: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def ignored_annotators(self) -> list[str]:
        return [a for a in self.annotators if a not in COMPUTED_ANNOTATORS]


def read_properties(params: dict[str, str]) -> Request:
    """The settings of a request from its URL parameters (already URL-decoded once).

    Raises:
        ServerError: a ``properties`` value that is no map, an ``outputFormat`` or
            ``inputFormat`` this server does not speak.
    """
    props = {k: v for k, v in params.items() if k.lower() not in ("properties", "props")}
    raw = next((params[k] for k in params if k.lower() == "properties"), None)
    if raw is None:
        raw = next((params[k] for k in params if k.lower() == "props"), None)
    if raw is not None and raw.strip():
        props.update(parse_map(raw))
    output_format = str(props.get("outputFormat", "json")).strip().lower() or "json"
    if output_format not in OUTPUT_FORMATS:
        raise ServerError(f"outputFormat {output_format!r} is not spoken here; this server writes "
                          f"{' or '.join(OUTPUT_FORMATS)}")
    input_format = str(props.get("inputFormat", "text")).strip().lower()
    if input_format != "text":
        raise ServerError(f"inputFormat {input_format!r} is not read here; send the text itself (inputFormat text)")
    annotators = props.get("annotators", "")
    if isinstance(annotators, (list, tuple)):
        names = [str(a).strip() for a in annotators]
    else:
        names = re.split(r"[,\s]+", str(annotators))
    return Request(output_format, [n for n in names if n], props)


def parse_map(raw: str) -> dict[str, Any]:
    """A ``properties`` value as a dict: JSON, a Python dict literal (``str(dict)``), or
    CoreNLP's loose ``{key: value, ...}`` (quotes optional).

    Raises:
        ServerError: none of these, or not a map.
    """
    text = raw.strip()
    for reader in (json.loads, ast.literal_eval):
        try:
            value = reader(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        break
    loose = _loose_map(text)
    if loose is None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ServerError(f"properties {shown!r} is not a map: send JSON such as "
                          f"{{\"annotators\": \"sentiment\", \"outputFormat\": \"json\"}}")
    return loose


def _loose_map(text: str) -> Optional[dict[str, str]]:
    """CoreNLP's ``StringUtils.decodeMap`` reading: ``{k: v, k2: "v 2"}``, quotes optional."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body = text[1:-1].strip()
    if not body:
        return {}
    parts = _split_outside_quotes(body, ",")
    if parts is None:
        return None
    out: dict[str, str] = {}
    for part in parts:
        pieces = _split_outside_quotes(part, ":", maxsplit=1)
        if pieces is None or len(pieces) != 2:
            return None
        key, value = (_unquote(p.strip()) for p in pieces)
        if not key:
            return None
        out[key] = value
    return out


def _split_outside_quotes(text: str, sep: str, maxsplit: int = -1) -> Optional[list]:
    parts, current, quote = [], [], None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        return None  # an unclosed quote
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def decode_body(body: bytes, content_type: Optional[str]) -> str:
    """The request's text as CoreNLP's server reads it (see the module's docstring).

    Raises:
        ServerError: bytes that are not valid in the charset, an unknown charset.
    """
    media, charset = URL_ENCODED, "utf-8"
    if content_type:
        parts = [p.strip() for p in content_type.split(";")]
        media = parts[0].lower() or URL_ENCODED
        for p in parts[1:]:
            key, _, value = p.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip("\"'")
    try:
        text = body.decode(charset)
    except LookupError:
        raise ServerError(f"unknown charset {charset!r} in Content-Type") from None
    except UnicodeDecodeError as exc:
        raise ServerError(f"the body is not valid {charset}: byte 0x{body[exc.start]:02x} at "
                          f"position {exc.start}") from None
    if media == URL_ENCODED and not _BAD_PERCENT.search(text):
        # as Java's URLDecoder: %-escapes that are not valid in the charset become U+FFFD
        text = unquote_plus(text, encoding=charset, errors="replace") if "%" in text or "+" in text else text
    return text


# ---------------------------------------------------------------------------------- output
@dataclass
class Token:
    """A token as CoreNLP's JSON writes it (``index`` from 1 within its sentence)."""

    index: int
    word: str
    begin: int
    end: int
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "word": self.word, "originalText": self.word,
                "characterOffsetBegin": self.begin, "characterOffsetEnd": self.end,
                "before": self.before, "after": self.after}


@dataclass
class Sentence:
    """One sentence of a document: its tokens, and the model's labels (``fields``: CoreNLP's
    ``sentimentValue`` ... ``sentimentTree`` for sentiment models) or why it has none."""

    index: int
    text: str
    tokens: list[Token]
    fields: Optional[dict[str, Any]] = None
    sentiment: Optional[str] = None  # CoreNLP's class name with its space ("Very positive")
    error: Optional[str] = None
    prediction: Optional[dict] = field(default=None, repr=False)  # treernn's own JSON (/v1/classify)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "tokens": [t.to_json() for t in self.tokens]}
        if self.error is not None:
            out["error"] = self.error
        else:
            out.update(self.fields or {})
        return out


def document_json(sentences: list[Sentence]) -> dict[str, Any]:
    """CoreNLP's JSON document: ``{"sentences": [...]}``."""
    return {"sentences": [s.to_json() for s in sentences]}


def document_text(sentences: list[Sentence]) -> str:
    """CoreNLP's ``outputFormat=text`` (its ``TextOutputter``): for each sentence
    ``Sentence #N (K tokens, sentiment: Positive):``, the sentence's text, then one
    ``[Text=... CharacterOffsetBegin=... CharacterOffsetEnd=...]`` line per token."""
    lines = []
    for s in sentences:
        extra = (f", sentiment: {s.sentiment}" if s.sentiment else "") if s.error is None else f", error: {s.error}"
        lines.append(f"Sentence #{s.index + 1} ({len(s.tokens)} tokens{extra}):")
        lines.append(s.text)
        for t in s.tokens:
            lines.append(f"[Text={t.word} CharacterOffsetBegin={t.begin} CharacterOffsetEnd={t.end}]")
    return "\n".join(lines) + ("\n" if lines else "")
