"""The demos behind ``treernn demo``: binary addition with an Elman RNN, vanishing gradients."""

from __future__ import annotations

import math

import pytest
import torch

from treernn.demos import addition_data, hidden_state_gradients, repeated_product, run_addition, run_gradients


def test_addition_data_is_the_full_nine_bit_sum_lsb_first():
    x, y = addition_data(torch.tensor([255, 5]), torch.tensor([255, 3]))
    assert x.shape == (2, 9, 2) and y.shape == (2, 9)
    assert x[:, 8].eq(0).all()  # step 8 reads zeros and outputs the carry
    weights = 2 ** torch.arange(9)
    assert (y * weights).sum(1).long().tolist() == [510, 8]
    assert (x[..., 0] * weights).sum(1).long().tolist() == [255, 5]


def test_run_addition_generalizes_to_unseen_pairs():
    lines = []
    rng_before = torch.random.get_rng_state()
    result = run_addition(seed=0, log=lines.append)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # caller's RNG untouched
    assert result["exact_match"] >= 0.99
    assert result["bit_accuracy"] >= result["exact_match"]
    assert result["train_pairs"] + result["test_pairs"] == 65536
    assert result["test_pairs"] > 10 * result["train_pairs"]
    assert lines and "exact match" in lines[-1]


def test_run_addition_rejects_a_bad_split():
    with pytest.raises(ValueError, match="train_pairs"):
        run_addition(train_pairs=0, log=lambda _: None)


def test_repeated_product():
    assert repeated_product(1.0) == 1.0
    assert repeated_product(1.01) == pytest.approx(20959.16, rel=1e-6)
    assert repeated_product(0.99) == pytest.approx(0.99 ** 1000)


def test_run_gradients_rnn_vanishes_lstm_holds(tmp_path):
    png = tmp_path / "plots" / "gradients.png"
    result = run_gradients(out_png=png, seeds=3, log=lambda _: None)
    assert result["linear"]["1.0"] == 1.0
    assert result["linear"]["1.01"] == pytest.approx(20959.16, rel=1e-6)
    assert result["linear"]["0.99"] < 1e-4
    assert len(result["rnn_grad_norms"]) == 100
    assert all(math.isfinite(v) and v > 0 for v in result["rnn_grad_norms"])
    assert result["rnn_ratio"] < 1e-20  # vanished
    assert result["lstm_ratio"] > 1e-3  # held (forget-gate bias 3)
    assert result["lstm_ratios"]["1.0"] > 1e6 * result["rnn_ratio"]
    assert result["png"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hidden_state_gradients_rejects_unknown_cells():
    with pytest.raises(ValueError, match="'rnn' or 'lstm'"):
        hidden_state_gradients("gru")
    assert hidden_state_gradients("lstm", length=5).shape == (5,)


def test_the_founding_example_demo_reads_each_parse(tmp_path, capsys):
    from treernn.cli import main

    for model in ("tree-lstm", "lstm"):
        assert main(["train", "--model", model, "--corpus", "ambiguity-zh", "--epochs", "2", "--device", "cpu",
                     "--out", str(tmp_path / model), "--trainer.progress", "false", "--trainer.optimizer", "adam", "--trainer.lr", "0.01", "--model.hidden_dim", "50",
                     "--model.input_dim", "50"]) == 0
    capsys.readouterr()
    assert main(["demo", "founding", "--tree-model", str(tmp_path / "tree-lstm"),
                 "--sequence-model", str(tmp_path / "lstm")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("两个外语学院的学生: 2 parse(s) under grammar zh")
    assert "parse 1 of 2: the numeral counts 外语学院\n" in out and "parse 2 of 2: the numeral counts 外语学院的学生\n" in out
    readings = [line.split(": ")[1].split(" (")[0] for line in out.splitlines() if line.startswith("  tree model")]
    assert readings == ["institutions", "people"]
    assert "which reads the words only" in out and "the same for both parses" in out
    assert "├── Num 两" in out  # drawn
