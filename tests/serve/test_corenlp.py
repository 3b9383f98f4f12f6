"""CoreNLP's server protocol as treernn reads and writes it: properties in the forms real clients
send (JSON, Python's ``str(dict)``, CoreNLP's loose map), the body as CoreNLP decodes it, the
plain-text output."""

from __future__ import annotations

import pytest

from treernn.errors import ServerError
from treernn.serve.corenlp import (
    Sentence, Token, decode_body, document_json, document_text, parse_map, read_properties,
)


@pytest.mark.parametrize("raw", [
    '{"annotators": "tokenize,ssplit,sentiment", "outputFormat": "json"}',   # JSON (curl, wget)
    "{'annotators': 'tokenize,ssplit,sentiment', 'outputFormat': 'json'}",   # str(dict): pycorenlp, stanza
    "{annotators: 'tokenize,ssplit,sentiment', outputFormat: json}",         # CoreNLP's loose map
])
def test_property_maps_in_every_form_clients_send(raw):
    props = parse_map(raw)
    assert props == {"annotators": "tokenize,ssplit,sentiment", "outputFormat": "json"}


def test_loose_map_with_quoted_commas():
    assert parse_map('{annotators: "tokenize,sentiment", outputFormat: text}') == {
        "annotators": "tokenize,sentiment", "outputFormat": "text"}


@pytest.mark.parametrize("raw", ["not a map", "[1, 2]", "{'a': 'b'", '{"a": "b}', "{a}"])
def test_malformed_properties_are_refused_in_one_line(raw):
    with pytest.raises(ServerError, match="is not a map") as info:
        parse_map(raw)
    assert "\n" not in str(info.value)


def test_url_parameters_are_properties_and_props_is_an_alias():
    req = read_properties({"props": "{'annotators': 'sentiment'}", "outputFormat": "text"})
    assert req.output_format == "text" and req.annotators == ["sentiment"]
    # the map wins over a plain parameter, as in CoreNLP
    assert read_properties({"outputFormat": "text", "properties": '{"outputFormat": "json"}'}).output_format == "json"
    assert read_properties({}).output_format == "json"  # CoreNLP's default


def test_annotators_not_computed_are_listed():
    req = read_properties({"properties": '{"annotators": "tokenize,ssplit,pos,lemma,parse,sentiment"}'})
    assert req.ignored_annotators == ["pos", "lemma", "parse"]


@pytest.mark.parametrize("fmt", ["serialized", "xml", "conllu"])
def test_output_formats_not_spoken_name_the_ones_spoken(fmt):
    with pytest.raises(ServerError, match="writes json or text"):
        read_properties({"properties": '{"outputFormat": "%s"}' % fmt})


def test_serialized_input_is_refused():
    with pytest.raises(ServerError, match="inputFormat 'serialized'"):
        read_properties({"properties": '{"inputFormat": "serialized"}'})


def test_body_decoding_follows_corenlp():
    # no Content-Type (pycorenlp) or form-encoded (curl --data): URL-decoded, as CoreNLP does
    assert decode_body(b"Good+fun%21", None) == "Good fun!"
    assert decode_body(b"Good+fun%21", "application/x-www-form-urlencoded") == "Good fun!"
    # text/plain (stanza): as sent
    assert decode_body(b"Good+fun%21", "text/plain; charset=utf-8") == "Good+fun%21"
    # not valid URL encoding: kept as it is (CoreNLP ignores the decoding error)
    assert decode_body(b"100% good", None) == "100% good"
    assert decode_body("café".encode("latin-1"), "text/plain; charset=ISO-8859-1") == "café"


def test_bad_bytes_and_unknown_charsets_are_refused():
    with pytest.raises(ServerError, match="not valid utf-8: byte 0xff at position 4"):
        decode_body(b"good\xff", "text/plain")
    with pytest.raises(ServerError, match="unknown charset 'klingon'"):
        decode_body(b"good", "text/plain; charset=klingon")


def _sentence(index, words, start, sentiment="Positive", error=None):
    tokens, pos = [], start
    for i, w in enumerate(words):
        tokens.append(Token(i + 1, w, pos, pos + len(w), " " if i else "", " "))
        pos += len(w) + 1
    fields = None if error else {"sentimentValue": "3", "sentiment": sentiment.replace(" ", "")}
    return Sentence(index, " ".join(words), tokens, fields=fields, sentiment=None if error else sentiment, error=error)


def test_text_output_is_corenlps_text_outputter():
    text = document_text([_sentence(0, ["Good", "fun"], 0, "Very positive"),
                          _sentence(1, ["Bad"], 9, error="too long")])
    assert text.splitlines() == [
        "Sentence #1 (2 tokens, sentiment: Very positive):",
        "Good fun",
        "[Text=Good CharacterOffsetBegin=0 CharacterOffsetEnd=4]",
        "[Text=fun CharacterOffsetBegin=5 CharacterOffsetEnd=8]",
        "Sentence #2 (1 tokens, error: too long):",
        "Bad",
        "[Text=Bad CharacterOffsetBegin=9 CharacterOffsetEnd=12]",
    ]
    assert document_text([]) == ""


def test_json_document_shape():
    doc = document_json([_sentence(0, ["Good"], 0), _sentence(1, ["Bad"], 5, error="too long")])
    first, second = doc["sentences"]
    assert first["tokens"][0] == {"index": 1, "word": "Good", "originalText": "Good", "characterOffsetBegin": 0,
                                  "characterOffsetEnd": 4, "before": "", "after": " "}
    assert first["sentiment"] == "Positive" and "error" not in first
    assert second["error"] == "too long" and "sentiment" not in second
