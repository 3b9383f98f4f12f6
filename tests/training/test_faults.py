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
from treernn.storage import load_tensors
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
    return base + ["--model", "tree-lstm", "--corpus", f"trees:{corpus}", "--out", str(out),
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


def _kill_inside_a_write(cmd, out, env) -> bool:
    """Start ``cmd`` and SIGKILL it the moment a temporary file of an atomic write appears in
    ``out`` (between its creation and its rename). True when it was caught there."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while proc.poll() is None:
            try:
                names = os.listdir(out)
            except FileNotFoundError:
                continue
            if any(n.startswith(".") and n.endswith(".tmp") for n in names):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return any(n.startswith(".") and n.endswith(".tmp") for n in os.listdir(out))
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_sigkill_inside_a_checkpoint_write_then_resume(corpus, reference, tmp_path):
    """The kill lands while a checkpoint file is half written (its temporary file exists)."""
    ref_dir, _ = reference
    final = load_tensors(ref_dir / f"last-{EPOCHS}.safetensors")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for attempt in range(5):  # each write lasts milliseconds; polling catches one almost always
        out = tmp_path / f"run{attempt}"
        if _kill_inside_a_write(_command(corpus, out), out, env):
            break
    else:
        pytest.fail("no kill landed inside a checkpoint write in 5 runs")
    if (out / "trainer_state.json").exists():
        done = _run(_command(corpus, out, resume=True))
    else:
        done = _run(_command(corpus, out))
    assert done.returncode == 0, done.stderr
    got = load_tensors(out / f"last-{EPOCHS}.safetensors")
    assert all(torch.equal(got[k], final[k]) for k in final)
    assert not list(out.glob(".*.tmp"))


class _Linear(torch.nn.Module):
    """A minimal model for the generic trainer: forward(x, y) -> object with .loss."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, x, y):
        from treernn.models.classifier import ClassifierOutput

        logits = self.lin(x)
        return ClassifierOutput(logits, torch.nn.functional.cross_entropy(logits, y))


@pytest.mark.parametrize("skip", [False, True])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, skip):
    from treernn.training.trainer import Trainer, TrainConfig, TrainingError

    model = _Linear()
    epoch = {"n": 0}
    items = list(range(8))

    def make_batch(batch_items):
        x = torch.ones(len(batch_items), 3)
        if epoch["n"] >= 2 and 0 in batch_items:
            x[0, 0] = float("nan")  # one bad batch from the second epoch on
        return x, torch.zeros(len(batch_items), dtype=torch.long)

    def evaluate(m):
        epoch["n"] += 1
        return {"accuracy": 0.5}

    cfg = TrainConfig(epochs=3, batch_size=4, optimizer="sgd", patience=None, progress=False,
                      skip_nonfinite=skip)
    epoch["n"] = 1
    trainer = Trainer(model, cfg, tmp_path / "m", log=lambda m: None)
    if not skip:
        with pytest.raises(TrainingError, match="non-finite loss .* in epoch 2; the last good checkpoint is kept"):
            trainer.fit(items, make_batch, evaluate)
        state = json.loads((tmp_path / "m" / "trainer_state.json").read_text())
        assert state["epoch"] == 1 and load_tensors(tmp_path / "m" / "last-1.safetensors")
    else:
        state = trainer.fit(items, make_batch, evaluate)
        assert state.epoch == 3 and [r["skipped_batches"] for r in state.history] == [0, 1, 1]
        assert all(torch.isfinite(p).all() for p in model.parameters())


def test_disk_full_at_a_write_keeps_the_previous_file(tmp_path, monkeypatch):
    import errno

    from treernn.errors import CheckpointError
    from treernn.storage import atomic_write_bytes

    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous checkpoint")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(CheckpointError, match="cannot write .*model.safetensors: No space left on device"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"previous checkpoint" and not list(tmp_path.glob(".*.tmp"))


def test_unwritable_output_directory_fails_before_training(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from treernn.cli import main

    real = Path.write_bytes

    def refuse(self, data):
        if self.name == ".write-test":
            raise PermissionError(13, "Permission denied")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", refuse)
    corpus = tmp_path / "c"
    corpus.mkdir()
    write_labeled_trees(corpus / "train.tsv", [(label, from_ptb(t)) for label, t in SENTENCES[:2]])
    for split in ("dev", "test"):
        (corpus / f"{split}.tsv").write_text((corpus / "train.tsv").read_text())
    assert main(["train", "--model", "bilstm", "--corpus", f"trees:{corpus}", "--out", str(tmp_path / "ro"),
                 "--device", "cpu", "--trainer.progress", "false"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"treernn: error: cannot write in {tmp_path / 'ro'}: Permission denied"
