"""Faults: a training run killed with SIGKILL at any moment loses nothing; a non-finite loss
stops the run and keeps the last good checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from treernn.corpora import write_labeled_trees
from treernn.models.build import load_model_dir
from treernn.training.checkpoint import load_tensors
from treernn.trees import from_ptb

EPOCHS = 30
SENTENCES = [
    ("pos", "(S (NP (D a) (N film)) (VP (V was) (A good)))"),
    ("neg", "(S (NP (D a) (N film)) (VP (V was) (A bad)))"),
    ("pos", "(S (NP (D the) (N plot)) (VP (V is) (A great)))"),
    ("neg", "(S (NP (D the) (N plot)) (VP (V is) (A awful)))"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    items = [(label, from_ptb(tree)) for label, tree in SENTENCES]
    for split in ("train", "dev", "test"):
        write_labeled_trees(d / f"{split}.tsv", items)
    return d


def _command(corpus, out, resume=False):
    base = [sys.executable, "-m", "treernn.cli", "train"]
    if resume:
        return base + ["--resume", str(out)]
    return base + ["--model", "tree-lstm", "--corpus", f"tsv:{corpus}", "--out", str(out),
                   "--epochs", str(EPOCHS), "--device", "cpu", "--seed", "3",
                   "--model.input_dim", "8", "--model.hidden_dim", "8", "--model.dropout", "0.2",
                   "--trainer.batch_size", "2", "--trainer.patience", "none",
                   "--trainer.progress", "false"]


def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "m"
    start = time.perf_counter()
    done = _run(_command(corpus, out))
    assert done.returncode == 0, done.stderr
    return out, time.perf_counter() - start


@pytest.mark.slow
def test_sigkill_at_any_moment_then_resume_gives_the_same_weights(corpus, reference, tmp_path):
    ref_dir, seconds = reference
    final = load_tensors(ref_dir / f"last-{EPOCHS}.safetensors")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    kills = torn = 0
    # Kill points spread over the run: start-up, early epochs, the middle, near the end. Each
    # epoch writes five files with fsync, so many kills land inside a checkpoint write.
    for i, fraction in enumerate((0.15, 0.3, 0.45, 0.6, 0.75, 0.9)):
        out = tmp_path / f"run{i}"
        proc = subprocess.Popen(_command(corpus, out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        time.sleep(fraction * seconds)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        torn += bool(list(out.glob(".*.tmp")))  # killed inside an atomic write
        if (out / "trainer_state.json").exists():
            if (out / "model.safetensors").exists():
                load_model_dir(out)  # what a kill leaves loads
            done = _run(_command(corpus, out, resume=True))
        else:  # killed before the first epoch ended: nothing to resume, and it says so
            done = _run(_command(corpus, out, resume=True))
            assert done.returncode == 2 and "nothing to resume" in done.stderr
            done = _run(_command(corpus, out))
        assert done.returncode == 0, done.stderr
        state = json.loads((out / "trainer_state.json").read_text())
        assert state["epoch"] == EPOCHS
        got = load_tensors(out / f"last-{EPOCHS}.safetensors")
        assert got.keys() == final.keys() and all(torch.equal(got[k], final[k]) for k in final)
        assert not list(out.glob(".*.tmp"))  # resume cleared what the kill left half-written
    assert kills >= 3  # the run was really interrupted (the machine may be slow or fast)
    print(f"{kills} kills, {torn} inside a checkpoint write")
