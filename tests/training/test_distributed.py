"""Training on two processes (torchrun, gloo, CPU) matches one process with the same global
batch, within float tolerance."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from treernn.corpora import write_labeled_trees
from treernn.storage import load_tensors
from treernn.trees import from_ptb

SENTENCES = [
    ("pos", "(S (NP (D a) (N film)) (VP (V was) (A good)))"),
    ("neg", "(S (NP (D a) (N film)) (VP (V was) (A bad)))"),
    ("pos", "(S (NP (D the) (N plot)) (VP (V is) (A great)))"),
    ("neg", "(S (NP (D the) (N plot)) (VP (V is) (A awful)))"),
    ("pos", "(S (NP (D a) (N story)) (VP (V is) (A good)))"),
]


def _args(corpus, out, encoder):
    return ["train", "--model", encoder, "--corpus", f"trees:{corpus}", "--out", str(out), "--epochs", "3",
            "--device", "cpu", "--seed", "1", "--model.input_dim", "8", "--model.hidden_dim", "8",
            "--model.dropout", "0", "--trainer.batch_size", "4", "--trainer.progress", "false"]


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["tree-lstm", "bilstm"])
def test_two_processes_match_one(tmp_path, encoder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    items = [(label, from_ptb(t)) for label, t in SENTENCES]  # 5 trees: the last batch has 1
    for split in ("train", "dev", "test"):
        write_labeled_trees(corpus / f"{split}.tsv", items)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    one = subprocess.run([sys.executable, "-m", "treernn", *_args(corpus, tmp_path / "one", encoder)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "treernn", *_args(corpus, tmp_path / "two", encoder), "--distributed"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = (load_tensors(tmp_path / d / "last-3.safetensors") for d in ("one", "two"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), k
    la, lb = ([json.loads(x)["train_loss"] for x in (tmp_path / d / "log.jsonl").read_text().splitlines()]
              for d in ("one", "two"))
    assert la == pytest.approx(lb, rel=1e-5)
    assert (tmp_path / "two" / "metrics.json").exists()


def test_distributed_flag_without_launcher_is_one_line(tmp_path, capsys, monkeypatch):
    from treernn.cli import main

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["train", "--corpus", "sst", "--out", str(tmp_path / "x"), "--distributed"]) == 2
    err = capsys.readouterr().err
    assert "launch with torchrun" in err and len(err.strip().splitlines()) == 1
