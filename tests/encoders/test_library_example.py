"""The manual's library example (docs/encoders.md), run as written; and the encoder registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT


def _first_python_block(page: str) -> str:
    text = (ROOT / page).read_text()
    match = re.search(r"```python\n(.*?)```", text, re.S)
    return match.group(1)


def test_manual_encoder_example_gives_the_shapes_it_states():
    namespace: dict = {}
    exec(compile(_first_python_block("docs/encoders.md"), "docs/encoders.md", "exec"), namespace)
    tree_out, seq_out = namespace["tree_out"], namespace["seq_out"]
    assert tree_out.final.shape == (1, 150)
    assert tree_out.states.shape == (len(namespace["tree"]), 150)
    assert seq_out.final.shape == (1, 2 * 150)


def test_registry_builds_every_encoder_and_lists_known_names():
    from treernn.batching import batch_trees
    from treernn.batching.sequence import batch_sequences
    from treernn.encoders.registry import ENCODERS, UnknownEncoderError, build_encoder
    from treernn.trees import from_ptb
    from treernn.vocab import Vocab

    tree = from_ptb("(3 (2 a) (4 (2 b) (2 c)))", label_type=int)
    vocab = Vocab.build([tree.tokens()])
    for name, spec in ENCODERS.items():
        enc = build_encoder(name, len(vocab), 8, 6)
        batch = batch_trees([tree], vocab) if spec.kind == "tree" else batch_sequences([tree], vocab)
        out = enc(batch)
        assert out.final.shape == (1, enc.get_output_dim()), name
        assert enc.get_input_dim() == 8
    with pytest.raises(UnknownEncoderError, match="unknown encoder, got 'nope'; use one of: tree-lstm"):
        build_encoder("nope", 5, 8, 6)
