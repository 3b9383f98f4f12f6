"""Training: overfit, save/reload, resume, CLI end to end, config overrides, bad options."""

from __future__ import annotations

import json

import pytest
import torch

from treernn.cli import main
from treernn.corpora import write_labeled_trees
from treernn.models.build import load_model_dir
from treernn.trees import from_ptb
from treernn.training.run import evaluate, resolve_config, train

SENTENCES = [
    ("pos", "(S (NP (D a) (N film)) (VP (V was) (A good)))"),
    ("neg", "(S (NP (D a) (N film)) (VP (V was) (A bad)))"),
    ("pos", "(S (NP (D the) (N plot)) (VP (V is) (A great)))"),
    ("neg", "(S (NP (D the) (N plot)) (VP (V is) (A awful)))"),
]


@pytest.fixture
def tiny_corpus(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    items = [(label, from_ptb(tree)) for label, tree in SENTENCES]
    for split in ("train", "dev", "test"):
        write_labeled_trees(d / f"{split}.tsv", items)
    return d


def _config(corpus, encoder="tree-lstm", epochs=30, **trainer):
    overrides = [("data.corpus", f"tsv:{corpus}"), ("model.encoder", encoder), ("model.input_dim", "8"),
                 ("model.hidden_dim", "8"), ("model.dropout", "0.0"), ("trainer.epochs", str(epochs)),
                 ("trainer.batch_size", "2"), ("trainer.optimizer", "adam"), ("trainer.lr", "0.05"),
                 ("trainer.patience", "none"), ("trainer.progress", "false"), ("run.device", "cpu")]
    overrides += [(f"trainer.{k}", str(v)) for k, v in trainer.items()]
    return resolve_config(None, overrides)


@pytest.mark.parametrize("encoder", ["tree-lstm", "child-sum-tree-lstm", "rntn", "bilstm"])
def test_overfit_four_sentences_save_reload_same_predictions(tiny_corpus, tmp_path, encoder):
    out = tmp_path / "model"
    results = train(_config(tiny_corpus, encoder), out, log=lambda m: None)
    assert results["train"]["accuracy"] == 1.0
    model, cfg, vocab, _ = load_model_dir(out)
    trees = [from_ptb(t) for _, t in SENTENCES]
    from treernn.training.tasks import load_task
    from treernn.training.run import prepare_data

    data = prepare_data(load_task(f"tsv:{tiny_corpus}"), encoder)["test"]
    again = evaluate(model, data, vocab, "cpu")
    assert again["accuracy"] == results["test"]["accuracy"] == 1.0
    assert len(trees) == again["sentences"]


def test_resume_continues_bit_identically(tiny_corpus, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    cfg = _config(tiny_corpus, epochs=4)
    cfg["model"]["dropout"] = 0.3  # dropout on: the RNG must be restored too
    train(cfg, full, log=lambda m: None)
    short = json.loads(json.dumps(cfg))
    short["trainer"]["epochs"] = 2
    train(short, part, log=lambda m: None)
    # continue the short run to 4 epochs, as a killed run resumed would
    state = json.loads((part / "trainer_state.json").read_text())
    assert state["epoch"] == 2
    saved = json.loads((part / "config.json").read_text())
    saved["resolved_config"]["trainer"]["epochs"] = 4
    (part / "config.json").write_text(json.dumps(saved))
    assert main(["train", "--resume", str(part)]) == 0
    a = json.loads((full / "trainer_state.json").read_text())
    b = json.loads((part / "trainer_state.json").read_text())
    assert [r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]]
    from treernn.training.checkpoint import load_tensors

    la, lb = load_tensors(full / "last-4.safetensors"), load_tensors(part / "last-4.safetensors")
    assert la.keys() == lb.keys() and all(torch.equal(la[k], lb[k]) for k in la)


def test_cli_train_evaluate_end_to_end(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "cli-model"
    code = main(["train", "--model", "tree-lstm", "--corpus", f"tsv:{tiny_corpus}", "--out", str(out),
                 "--epochs", "2", "--device", "cpu", "--model.input_dim", "8", "--model.hidden_dim=4",
                 "--trainer.progress", "false"])
    assert code == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"]["hidden_dim"] == 4 and saved["resolved_config"]["trainer"]["epochs"] == 2
    assert len((out / "log.jsonl").read_text().splitlines()) == 2
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["sentences"] == 4


@pytest.mark.parametrize("args, msg", [
    (["train", "--model", "tree-lstm", "--corpus", "sst", "--out", "X", "--trainer.nope", "1"], "unknown setting --trainer.nope"),
    (["train", "--model", "tree-lstm", "--corpus", "sst", "--out", "X", "--trainer.lr", "fast"], "must be a float"),
    (["train", "--model", "tree-lstm", "--corpus", "nope", "--out", "X"], "unknown corpus 'nope'"),
    (["train", "--corpus", "sst"], "--out DIR is required"),
    (["train", "--config", "missing.toml", "--out", "X"], "config file not found"),
    (["evaluate", "no/such/dir"], "model directory not found"),
])
def test_bad_options_one_line(args, msg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_pickles_and_corrupt_files_refused(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "m"
    train(_config(tiny_corpus, epochs=1), out, log=lambda m: None)
    (out / "model.safetensors").write_bytes(b"garbage")
    assert main(["evaluate", str(out)]) == 2
    assert "not a valid safetensors file" in capsys.readouterr().err
    (out / "model.safetensors").unlink()
    (out / "model.pt").write_bytes(b"x")
    assert main(["evaluate", str(out)]) == 2
    assert "pickle" in capsys.readouterr().err


def test_compare_writes_table_json_and_plot(tmp_path, capsys):
    """`treernn compare ambiguity` on a tiny copy of the corpus (a few lines of each file)."""
    from conftest import ROOT

    src = ROOT / "corpora" / "ambiguity"
    tiny = tmp_path / "amb"
    for sub in ("arith", "attach"):
        (tiny / sub).mkdir(parents=True)
        for f in (src / sub).glob("*.tsv"):
            (tiny / sub / f.name).write_text("".join(f.read_text().splitlines(True)[:24]))
    out = tmp_path / "cmp"
    code = main(["compare", "ambiguity", "--models", "tree-lstm,lstm", "--seeds", "2", "--epochs", "1",
                 "--data-path", str(tiny), "--out", str(out), "--device", "cpu"])
    assert code == 0
    table = (out / "ambiguity.md").read_text()
    assert "| Tree-LSTM (N-ary) |" in table and "| LSTM |" in table
    data = json.loads((out / "ambiguity.json").read_text())
    assert set(data["runs"]) == {f"{t}/{m}/{s}" for t in ("arith", "attach") for m in ("tree-lstm", "lstm") for s in (0, 1)}
    assert (out / "ambiguity-curves.png").read_bytes()[:4] == b"\x89PNG"
    # finished runs are reused: a second call trains nothing
    capsys.readouterr()
    assert main(["compare", "ambiguity", "--models", "tree-lstm,lstm", "--seeds", "2", "--epochs", "1",
                 "--data-path", str(tiny), "--out", str(out), "--device", "cpu"]) == 0
    assert "== ambiguity" not in capsys.readouterr().err
