"""The supervision control: sequence models trained on every labeled phrase (``data.phrases``),
batched by a token budget (``trainer.batch_tokens``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from treernn.cli import main
from treernn.corpora.tasks import labeled_phrases, load_task
from treernn.errors import ConfigError
from treernn.training.config import resolve_config
from treernn.training.run import train
from treernn.training.trainer import token_batches

# Every root is neutral: only the phrases say that "great" is very positive, "awful" very negative.
TRAIN = ["(2 (2 a) (2 (4 great) (2 film)))", "(2 (2 a) (2 (0 awful) (2 plot)))",
         "(2 (2 the) (2 (4 great) (2 plot)))"]
TEST = ["(4 great)", "(0 awful)"]


@pytest.fixture
def neutral_roots(tmp_path):
    d = tmp_path / "sst"
    d.mkdir()
    (d / "train.txt").write_text("\n".join(TRAIN) + "\n")
    for split in ("dev", "test"):
        (d / f"{split}.txt").write_text("\n".join(TEST) + "\n")
    return d


def test_labeled_phrases_are_distinct_and_keep_their_labels(neutral_roots):
    trees = load_task("sst", str(neutral_roots), 5).splits["train"]
    phrases = labeled_phrases(trees)
    pairs = [(p.words, p.label) for p in phrases]
    assert len(pairs) == len(set(pairs)) == 12  # 15 labeled nodes, "a" and "great" and "plot" repeat
    assert pairs[:5] == [(("a",), 2), (("great",), 4), (("film",), 2), (("great", "film"), 2),
                         (("a", "great", "film"), 2)]
    assert (("awful",), 0) in pairs and phrases[1].tokens() == ["great"] and len(phrases[3]) == 2


def test_token_batches_cover_every_item_once_within_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=500)
    lengths[7] = 90  # longer than the budget: a batch of its own
    batches = token_batches(lengths, 60, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    for b in batches:
        assert len(b) == 1 or len(b) * lengths[b].max() <= 60
    assert any(len(b) > 1 for b in batches)
    again = token_batches(lengths, 60, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))  # the seed fixes the epoch


def _config(corpus, phrases: bool):
    overrides = [("data.corpus", "sst"), ("data.path", str(corpus)), ("model.encoder", "lstm"),
                 ("model.input_dim", "8"), ("model.hidden_dim", "16"), ("model.dropout", "0.0"),
                 ("trainer.optimizer", "adam"), ("trainer.lr", "0.05"), ("trainer.epochs", "40"),
                 ("trainer.patience", "none"), ("trainer.progress", "false"), ("run.device", "cpu")]
    if phrases:
        overrides += [("data.phrases", "true"), ("trainer.batch_tokens", "8")]
    return resolve_config(None, overrides)


def test_sequence_model_learns_what_only_the_phrases_say(neutral_roots, tmp_path):
    """Trained on sentences, the model never sees classes 0 and 4 (every root is neutral);
    trained on the phrases, it labels "great" and "awful" right."""
    messages: list[str] = []
    with_phrases = train(_config(neutral_roots, True), tmp_path / "phrases", log=messages.append)
    assert "training on 12 distinct labeled phrases of 3 trees" in messages
    assert with_phrases["test"]["accuracy"] == 1.0
    sentences_only = train(_config(neutral_roots, False), tmp_path / "sentences", log=lambda m: None)
    assert sentences_only["test"]["accuracy"] == 0.0
    saved = json.loads((tmp_path / "phrases" / "config.json").read_text())["resolved_config"]
    assert saved["data"]["phrases"] is True and saved["trainer"]["batch_tokens"] == 8


def test_phrases_with_a_tree_encoder_is_a_config_error(neutral_roots, tmp_path, capsys):
    with pytest.raises(ConfigError, match="data.phrases is for sequence encoders"):
        resolve_config(None, [("model.encoder", "tree-lstm"), ("data.phrases", "true")])
    code = main(["train", "--model", "tree-lstm", "--corpus", "sst", "--data-path", str(neutral_roots),
                 "--data.phrases", "true", "--device", "cpu", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "data.phrases is for sequence encoders" in err
    assert not (tmp_path / "m").exists()
