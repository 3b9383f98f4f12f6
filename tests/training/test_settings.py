"""Every setting of ``[model]``, ``[trainer]``, ``[data]``, ``[run]`` with an invalid value, on
the command line and in a TOML file: one line ``treernn: error: <what>, got <value>; <how to
fix>``, exit code 2, no traceback, nothing trained."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from treernn.cli import main
from treernn.training.config import resolve_config, settings

BASE = ["train", "--model", "tree-lstm", "--corpus", "ambiguity-attach", "--device", "cpu"]

# setting -> (an invalid value, the encoder to try it with). Strings like "maybe" are invalid
# for booleans; a number out of range for numbers; a name that is not a choice for choices.
BAD: dict[str, tuple[object, str]] = {
    "model.encoder": ("nope", "tree-lstm"),
    "model.input_dim": (0, "tree-lstm"),
    "model.hidden_dim": (-1, "tree-lstm"),
    "model.dropout": (2.0, "tree-lstm"),
    "model.loss_on": ("leaves", "tree-lstm"),
    "model.loss_reduction": ("batch", "tree-lstm"),
    "model.backend": ("foo", "tree-lstm"),
    "model.layers": (0, "lstm"),
    "model.bidirectional": ("maybe", "lstm"),
    "model.pooling": ("median", "lstm"),
    "model.context_dim": (0, "rcnn"),
    "model.input_dropout": (1.0, "tree-lstm"),
    "trainer.optimizer": ("rmsprop", "tree-lstm"),
    "trainer.lr": (0.0, "tree-lstm"),
    "trainer.embedding_lr": (-0.1, "tree-lstm"),
    "trainer.embedding_optimizer": ("adam", "tree-lstm"),
    "trainer.weight_decay": (-1.0, "tree-lstm"),
    "trainer.clip_norm": (0.0, "tree-lstm"),
    "trainer.epochs": (0, "tree-lstm"),
    "trainer.batch_size": (0, "tree-lstm"),
    "trainer.batch_tokens": (0, "tree-lstm"),
    "trainer.patience": (0, "tree-lstm"),
    "trainer.lr_decay": (1.5, "tree-lstm"),
    "trainer.adagrad_reset": (0, "tree-lstm"),
    "trainer.seed": (-1, "tree-lstm"),
    "trainer.select_metric": ("f1", "tree-lstm"),
    "trainer.skip_nonfinite": ("maybe", "tree-lstm"),
    "trainer.progress": ("maybe", "tree-lstm"),
    "trainer.sparse_embeddings": ("maybe", "tree-lstm"),
    "data.corpus": ("imdb", "tree-lstm"),
    "data.path": ("/nonexistent/corpus", "tree-lstm"),
    "data.classes": (3, "tree-lstm"),
    "data.vectors": ("/nonexistent/vectors.txt", "tree-lstm"),
    "data.lowercase": ("maybe", "tree-lstm"),
    "data.min_freq": (0, "tree-lstm"),
    "data.random_vectors_range": (0.0, "rntn"),
    "data.skip_bad": ("maybe", "tree-lstm"),
    "data.freeze_embeddings": ("maybe", "tree-lstm"),
    "data.parse": ("stanford", "tree-lstm"),
    "data.vocab_from_vectors": ("maybe", "tree-lstm"),
    "data.neutral_phrases": ("maybe", "tree-lstm"),
    "data.parse_processes": (0, "tree-lstm"),
    "data.phrases": ("maybe", "lstm"),
    "data.format": ("xml", "tree-lstm"),
    "data.text_column": (" ", "tree-lstm"),
    "data.label_column": (" ", "tree-lstm"),
    "data.encoding": ("klingon", "tree-lstm"),
    "data.split": ("1,1,1", "tree-lstm"),
    "data.split_seed": (-1, "tree-lstm"),
    "data.trees": ("random", "tree-lstm"),
    "data.spacy_pipeline": (" ", "tree-lstm"),
    "data.max_chars": (-1, "tree-lstm"),
    "data.max_tokens": (-1, "tree-lstm"),
    "run.init_from": ("/nonexistent/model", "tree-lstm"),
    "data.target": ("similarity", "tree-lstm"),
    "data.text_columns": (" ", "tree-lstm"),
    "data.score_range": ("5,1", "tree-lstm"),
    "model.similarity_dim": (0, "tree-lstm"),
    "run.device": ("gpu", "tree-lstm"),
    "run.distributed": ("maybe", "tree-lstm"),
}

# Options a builder does not take are errors too, not dropped.
NOT_AN_OPTION = [("tree-lstm", "model.layers", 2), ("tree-lstm", "model.pooling", "mean"),
                 ("lstm", "model.backend", "dgl"), ("bilstm-lstm", "model.layers", 2),
                 ("rcnn", "model.bidirectional", True), ("rcnn", "model.input_dropout", 0.2)]


def test_every_setting_has_a_bad_value_here():
    known = {f"{section}.{key}" for section, keys in settings().items() for key in keys}
    assert known == set(BAD), f"missing: {sorted(known - set(BAD))}; stale: {sorted(set(BAD) - known)}"


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


def _assert_one_line_error(code: int, out: str, err: str, setting: str, tmp_path) -> None:
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("treernn: error: "), err
    assert "Traceback" not in err and out == ""
    assert setting in lines[0] and "got" in lines[0] and ";" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()  # nothing was trained or written


@pytest.mark.parametrize("setting", sorted(BAD))
def test_bad_setting_on_the_command_line(setting, tmp_path, capsys):
    value, encoder = BAD[setting]
    args = BASE + ["--out", str(tmp_path / "out"), f"--{setting}", _text(value)]
    args[args.index("--model") + 1] = encoder
    code = main(args)
    out, err = capsys.readouterr()
    _assert_one_line_error(code, out, err, setting, tmp_path)


@pytest.mark.parametrize("setting", sorted(BAD))
def test_bad_setting_in_a_toml_file(setting, tmp_path, capsys):
    value, encoder = BAD[setting]
    section, key = setting.split(".")
    toml = tmp_path / "run.toml"
    toml.write_text(f"[{section}]\n{key} = {_toml(value)}\n")
    args = BASE + ["--out", str(tmp_path / "out"), "--config", str(toml)]
    args[args.index("--model") + 1] = encoder
    flag = {"model.encoder": "--model", "data.corpus": "--corpus", "run.device": "--device"}.get(setting)
    if flag:  # a flag would override the file: leave it out
        del args[args.index(flag):args.index(flag) + 2]
    code = main(args)
    out, err = capsys.readouterr()
    _assert_one_line_error(code, out, err, setting, tmp_path)


@pytest.mark.parametrize("encoder, setting, value", NOT_AN_OPTION)
def test_an_option_the_encoder_does_not_take_is_an_error(encoder, setting, value, tmp_path, capsys):
    args = BASE + ["--out", str(tmp_path / "out"), f"--{setting}", _text(value)]
    args[args.index("--model") + 1] = encoder
    code = main(args)
    out, err = capsys.readouterr()
    _assert_one_line_error(code, out, err, setting, tmp_path)
    assert f"is not an option of encoder {encoder!r}" in err


def test_unknown_setting_lists_the_known_ones(tmp_path, capsys):
    code = main(BASE + ["--out", str(tmp_path / "out"), "--trainer.learning_rate", "0.1"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "unknown setting, got trainer.learning_rate" in err and "trainer.lr" in err and "model.layers" in err


def test_typed_values_are_not_round_tripped_through_strings():
    cfg = resolve_config(None, [("model.hidden_dim", 7), ("trainer.lr", 1), ("model.layers", "2"),
                                ("model.encoder", "lstm"), ("data.path", None)])
    assert cfg.model.hidden_dim == 7 and cfg.trainer.lr == 1.0 and isinstance(cfg.trainer.lr, float)
    assert cfg.model.layers == 2 and cfg.data.path is None


def test_presets_expand_to_options():
    """The old names stay: lstm-2layer is lstm with layers 2 (the same parameters)."""
    from treernn.encoders.registry import build_encoder

    a, b = build_encoder("lstm-2layer", 20, 8, 6), build_encoder("lstm", 20, 8, 6, layers=2)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
    c = build_encoder("bilstm", 20, 8, 6, pooling="mean")
    assert c.pooling == "mean" and c.bidirectional


@pytest.mark.parametrize("flag, value", [("--model.backend", "foo"), ("--model.hidden_dim", "0"),
                                         ("--model.dropout", "2")])
def test_the_reported_cases_end_without_a_traceback(flag, value, tmp_path):
    """The three commands of the issue, as a user runs them (a real process)."""
    proc = subprocess.run([sys.executable, "-m", "treernn", *BASE, "--out", str(tmp_path / "X"), flag, value],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("treernn: error: model.")
