"""Training: overfit, save/reload, resume, CLI end to end, config overrides, bad options."""

from __future__ import annotations

import copy
import json
import statistics

import pytest
import torch

from treernn.cli import main
from treernn.corpora import write_labeled_trees
from treernn.models.build import load_model_dir
from treernn.trees import from_ptb
from treernn.training.config import resolve_config
from treernn.training.run import evaluate, train

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
    overrides = [("data.corpus", f"trees:{corpus}"), ("model.encoder", encoder), ("model.input_dim", "8"),
                 ("model.hidden_dim", "8"), ("model.dropout", "0.0"), ("trainer.epochs", str(epochs)),
                 ("trainer.batch_size", "2"), ("trainer.optimizer", "adam"), ("trainer.lr", "0.05"),
                 ("trainer.patience", "none"), ("trainer.progress", "false"), ("run.device", "cpu")]
    overrides += [(f"trainer.{k}", str(v)) for k, v in trainer.items()]
    return resolve_config(None, overrides)


@pytest.mark.parametrize("encoder", ["tree-lstm", "child-sum-tree-lstm", "rntn", "bilstm"])
def test_overfit_four_sentences_save_reload_same_predictions(tiny_corpus, tmp_path, encoder):
    out = tmp_path / "model"
    cfg = _config(tiny_corpus, encoder)
    if encoder == "rntn":  # leaves through tanh(W x): the identity leaf sums N(0, 1) vectors into saturation
        cfg.model.hidden_dim = 6
    results = train(cfg, out, log=lambda m: None)
    assert results["train"]["accuracy"] == 1.0
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert history[0]["train_accuracy"] <= 0.75 and history[-1]["train_accuracy"] == 1.0  # running accuracy
    model, _ = load_model_dir(out)
    cfg, vocab = model.config, model.vocab
    trees = [from_ptb(t) for _, t in SENTENCES]
    from treernn.corpora.tasks import load_task
    from treernn.training.run import prepare_data

    data = prepare_data(load_task(f"trees:{tiny_corpus}"), encoder)["test"]
    again = evaluate(model, data, vocab, "cpu")
    assert again["accuracy"] == results["test"]["accuracy"] == 1.0
    assert len(trees) == again["sentences"]


@pytest.mark.parametrize("optimizer, embedding_optimizer", [("adam", "same"), ("adagrad", "sgd")])
def test_resume_continues_bit_identically(tiny_corpus, tmp_path, optimizer, embedding_optimizer):
    full, part = tmp_path / "full", tmp_path / "part"
    # lr decay on: the learning rates of both optimizers must be restored too
    cfg = _config(tiny_corpus, epochs=4, optimizer=optimizer, embedding_optimizer=embedding_optimizer,
                  lr_decay=0.5)
    cfg.model.dropout = 0.3  # dropout on: the RNG must be restored too
    train(cfg, full, log=lambda m: None)
    short = copy.deepcopy(cfg)
    short.trainer.epochs = 2
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
    from treernn.storage import load_tensors

    la, lb = load_tensors(full / "last-4.safetensors"), load_tensors(part / "last-4.safetensors")
    assert la.keys() == lb.keys() and all(torch.equal(la[k], lb[k]) for k in la)


def test_cli_train_evaluate_end_to_end(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "cli-model"
    code = main(["train", "--model", "tree-lstm", "--corpus", f"trees:{tiny_corpus}", "--out", str(out),
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
    (["train", "--model", "tree-lstm", "--corpus", "sst", "--out", "X", "--trainer.nope", "1"], "unknown setting, got trainer.nope"),
    (["train", "--model", "tree-lstm", "--corpus", "sst", "--out", "X", "--trainer.lr", "fast"], "--trainer.lr must be a number, got 'fast'"),
    (["train", "--model", "tree-lstm", "--corpus", "nope", "--out", "X"], "data.corpus is not a known corpus, got 'nope'"),
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
    for sub in ("arith", "attach", "zh"):
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
    assert set(data["runs"]) == {f"{t}/{m}/{s}" for t in ("arith", "attach", "zh") for m in ("tree-lstm", "lstm") for s in (0, 1)}
    assert (out / "ambiguity-curves.png").read_bytes()[:4] == b"\x89PNG"
    # paired tests: the tree model against the best (here the only) sequence model, per task
    for task in ("arith", "attach", "zh"):
        entry = data["significance"][task]
        assert entry["reference"] == "lstm" and entry["metric"] == "accuracy"
        (test,) = entry["tests"]
        assert test["model"] == "tree-lstm" and test["against"] == "lstm" and 0 < test["p_value"] <= 1
        assert test["ci95"][0] <= test["difference"] <= test["ci95"][1] and test["seeds"] == 2
        runs = data["runs"]
        gap = 100 * statistics.fmean(runs[f"{task}/tree-lstm/{k}"]["test"]["accuracy"] - runs[f"{task}/lstm/{k}"]["test"]["accuracy"]
                                     for k in (0, 1))
        assert test["difference"] == pytest.approx(gap)  # the table's difference of means
    assert "Paired tests, arith" in table and "| Tree-LSTM (N-ary) | LSTM |" in table
    rows = [json.loads(line) for line in (out / "runs" / "ambiguity" / "attach" / "lstm-seed0" /
                                           "predictions-test.jsonl").read_text().splitlines()]
    assert len(rows) == data["runs"]["attach/lstm/0"]["test"]["sentences"]
    assert sum(r["correct"] for r in rows) / len(rows) == pytest.approx(data["runs"]["attach/lstm/0"]["test"]["accuracy"])
    # finished runs are reused: a second call trains nothing; --against adds a pair
    capsys.readouterr()
    assert main(["compare", "ambiguity", "--models", "tree-lstm,lstm", "--seeds", "2", "--epochs", "1",
                 "--data-path", str(tiny), "--out", str(out), "--device", "cpu", "--against", "lstm:tree-lstm"]) == 0
    assert "== ambiguity" not in capsys.readouterr().err
    tests = json.loads((out / "ambiguity.json").read_text())["significance"]["arith"]["tests"]
    assert [(t["model"], t["against"]) for t in tests] == [("tree-lstm", "lstm"), ("lstm", "tree-lstm")]
    assert tests[1]["difference"] == pytest.approx(-tests[0]["difference"])
    assert main(["compare", "ambiguity", "--models", "tree-lstm,lstm", "--against", "lstm"]) == 2
    assert "--against takes model pairs A:B" in capsys.readouterr().err


def _two_trees():
    return [from_ptb("(3 (2 a) (4 (3 good) (2 film)))", label_type=int),
            from_ptb("(1 (1 bad) (2 plot))", label_type=int)]


def test_tree_loss_sums_nodes_per_tree_or_averages_nodes():
    """loss_reduction 'tree' (Tai et al.'s code): node losses summed per tree, mean over trees."""
    from treernn.models import ModelConfig, build_model
    from treernn.vocab import Vocab

    trees = _two_trees()
    vocab = Vocab.build(t.tokens() for t in trees)
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=len(vocab), input_dim=6, hidden_dim=5, dropout=0.0,
                                    loss_reduction="tree"))
    batch, targets = model.make_batch(trees, vocab)
    out = model(batch, targets)
    per_node = torch.nn.functional.cross_entropy(out.node_logits, targets, reduction="none")  # 8 nodes
    assert torch.allclose(out.loss, per_node.sum() / 2)
    model.loss_reduction = "node"
    assert torch.allclose(model(batch, targets).loss, per_node.mean())


def test_embeddings_take_a_plain_sgd_step_beside_adagrad():
    """embedding_optimizer 'sgd': the embedding moves by exactly -embedding_lr * gradient."""
    from treernn.models import ModelConfig, build_model
    from treernn.training.trainer import TrainConfig, build_optimizer
    from treernn.vocab import Vocab

    trees = _two_trees()
    vocab = Vocab.build(t.tokens() for t in trees)
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=len(vocab), input_dim=6, hidden_dim=5, dropout=0.0))
    main_opt, emb_opt = build_optimizer(model, TrainConfig(embedding_lr=0.1))
    assert isinstance(main_opt, torch.optim.Adagrad) and isinstance(emb_opt, torch.optim.SGD)
    assert all(p is not model.encoder.embedding.weight for g in main_opt.param_groups for p in g["params"])
    before = model.encoder.embedding.weight.detach().clone()
    batch, targets = model.make_batch(trees, vocab)
    model(batch, targets).loss.backward()
    grad = model.encoder.embedding.weight.grad.to_dense()
    assert grad.abs().sum() > 0
    main_opt.step()
    emb_opt.step()
    assert torch.allclose(model.encoder.embedding.weight.detach(), before - 0.1 * grad)
    same_main, same_emb = build_optimizer(model, TrainConfig(embedding_optimizer="same"))
    assert same_emb is None and [g["name"] for g in same_main.param_groups] == ["model", "embedding"]


def test_dev_and_test_words_with_vectors_join_the_vocabulary(tiny_corpus, tmp_path):
    """With vectors, words seen only in dev/test that have a pretrained vector get an id and keep
    that vector; words with no vector stay unknown; ``data.vocab_from_vectors false`` turns it off."""
    from treernn.corpora import write_labeled_trees

    write_labeled_trees(tiny_corpus / "test.tsv", [("pos", from_ptb("(S (NP (D a) (N movie)) (VP (V was) (A superb)))"))])
    vectors = tmp_path / "vec.txt"
    words = ["a", "film", "was", "good", "bad", "the", "plot", "is", "great", "awful", "superb"]
    vectors.write_text("".join(f"{w} " + " ".join(f"{(i + 1) * 0.01 + j * 0.001:.3f}" for j in range(8)) + "\n"
                               for i, w in enumerate(words)))
    cfg = _config(tiny_corpus, epochs=1)
    cfg.data.vectors = str(vectors)
    train(cfg, tmp_path / "with", log=lambda m: None)
    model, _ = load_model_dir(tmp_path / "with")
    vocab = model.vocab
    assert "superb" in vocab.stoi and "movie" not in vocab.stoi
    expected = torch.tensor([0.11 + j * 0.001 for j in range(8)])
    assert torch.allclose(model.encoder.embedding.weight[vocab.stoi["superb"]], expected)
    cfg.data.vocab_from_vectors = False
    train(cfg, tmp_path / "without", log=lambda m: None)
    vocab2 = load_model_dir(tmp_path / "without")[0].vocab
    assert "superb" not in vocab2.stoi


def test_binary_sst_trains_neutral_phrases_as_a_third_class(tmp_path):
    """Tai et al.'s binary model: neutral-root sentences dropped, neutral phrases class 2,
    sentences predicted as the likelier of negative and positive."""
    from treernn.corpora.tasks import load_task

    sst = tmp_path / "sst"
    sst.mkdir()
    lines = ["(4 (2 a) (4 (4 great) (2 film)))", "(0 (2 a) (0 (0 awful) (2 plot)))", "(2 (2 a) (2 film))",
             "(1 (2 the) (1 (1 dull) (2 plot)))"]
    for split in ("train", "dev", "test"):
        (sst / f"{split}.txt").write_text("\n".join(lines) + "\n")
    three = load_task("sst", str(sst), classes=2, neutral_phrases=True)
    assert three.sentence_classes == 2 and three.label_names == ["negative", "positive", "neutral"]
    assert [t.label for t in three.splits["train"]] == [1, 0, 0]  # the neutral root is dropped
    assert three.splits["train"][0].labels().count(2) == 2  # 'a' and 'film' stay labeled, neutral
    two = load_task("sst", str(sst), classes=2)
    assert two.sentence_classes is None and None in two.splits["train"][0].labels()
    cfg = resolve_config(None, [("data.corpus", "sst"), ("data.path", str(sst)), ("data.classes", "2"),
                                ("model.input_dim", "6"), ("model.hidden_dim", "6"), ("trainer.epochs", "2"),
                                ("trainer.progress", "false"), ("run.device", "cpu")])
    results = train(cfg, tmp_path / "m", log=lambda m: None)
    model, _ = load_model_dir(tmp_path / "m")
    model_cfg = model.config
    assert model_cfg.num_classes == 3 and model.sentence_classes == 2
    assert model.predict_sentences(torch.tensor([[0.1, 0.2, 9.0], [0.3, 0.2, 9.0]])).tolist() == [1, 0]
    assert results["test"]["sentences"] == 3


def test_changed_weights_fail_their_checksum(tiny_corpus, tmp_path, capsys):
    """A weights file whose bytes changed (same size, still valid safetensors) is refused."""
    out = tmp_path / "m"
    train(_config(tiny_corpus, epochs=1), out, log=lambda m: None)
    data = bytearray((out / "model.safetensors").read_bytes())
    data[-3] ^= 0x40  # one bit of the last tensor
    (out / "model.safetensors").write_bytes(bytes(data))
    assert main(["evaluate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not match its stored checksum" in err and len(err.strip().splitlines()) == 1


def test_same_seed_same_metrics_twice(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, epochs=3)
    cfg.model.dropout = 0.3
    a = train(cfg, tmp_path / "a", log=lambda m: None)
    b = train(cfg, tmp_path / "b", log=lambda m: None)
    for r in (a, b):
        r.pop("train_seconds")
    assert a == b


def test_vectors_set_the_input_size_and_lowercasing_unless_given(tiny_corpus, tmp_path, capsys):
    """--vectors alone: E from the file, the vocabulary lowercased for a lowercase-only file
    (GloVe 6B); an explicit E that differs is one line naming both sizes; an explicit
    --data.lowercase false is kept."""
    from treernn.corpora import write_labeled_trees

    cased = [("pos", from_ptb("(S (NP (D A) (N Film)) (VP (V was) (A good)))")),
             ("neg", from_ptb("(S (NP (D The) (N plot)) (VP (V is) (A awful)))"))]
    for split in ("train", "dev", "test"):
        write_labeled_trees(tiny_corpus / f"{split}.tsv", cased)
    vectors = tmp_path / "glove-like.txt"  # lowercase words only, 6-d
    words = ["a", "film", "was", "good", "the", "plot", "is", "awful"]
    vectors.write_text("".join(f"{w} " + " ".join(f"{i * 0.01 + j * 0.001:.3f}" for j in range(6)) + "\n"
                               for i, w in enumerate(words)))
    base = ["train", "--model", "tree-lstm", "--corpus", f"trees:{tiny_corpus}", "--epochs", "1", "--device", "cpu",
            "--model.hidden_dim", "4", "--trainer.progress", "false", "--vectors", str(vectors)]
    assert main(base + ["--out", str(tmp_path / "auto")]) == 0
    model, saved = load_model_dir(tmp_path / "auto")
    assert model.config.input_dim == 6 and model.encoder.embedding.weight.shape[1] == 6
    assert model.vocab.lowercase and "film" in model.vocab.stoi and "Film" not in model.vocab.stoi
    assert saved["resolved_config"]["model"]["input_dim"] is None  # "from the file", as the user left it
    capsys.readouterr()

    assert main(base + ["--out", str(tmp_path / "clash"), "--model.input_dim", "300"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "got 300 for 6-d vectors" in err and str(vectors) in err

    assert main(base + ["--out", str(tmp_path / "cased"), "--data.lowercase", "false"]) == 0
    assert "Film" in load_model_dir(tmp_path / "cased")[0].vocab.stoi
    vectors.unlink()  # evaluation needs the corpus, not the vectors the model was trained from
    assert main(["evaluate", str(tmp_path / "auto"), "--device", "cpu"]) == 0


def test_a_directory_written_before_the_encoder_options_still_loads(tiny_corpus, tmp_path, capsys):
    """Earlier treernn wrote ``backend: "native"`` for every encoder and no layers / pooling /
    bidirectional / context_dim keys: such an LSTM directory still loads, evaluates, resumes."""
    out = tmp_path / "old-lstm"
    train(_config(tiny_corpus, "bilstm", epochs=1), out, log=lambda m: None)
    saved = json.loads((out / "config.json").read_text())
    for section in (saved["model"], saved["resolved_config"]["model"]):
        for key in ("layers", "bidirectional", "pooling", "context_dim"):
            section.pop(key)
        section["backend"] = "native"
        section["input_dim"] = 8
    (out / "config.json").write_text(json.dumps(saved))
    model, _ = load_model_dir(out)
    assert model.config.backend is None and model.encoder.bidirectional
    assert main(["evaluate", str(out), "--device", "cpu"]) == 0
    saved["resolved_config"]["trainer"]["epochs"] = 2
    (out / "config.json").write_text(json.dumps(saved))
    assert main(["train", "--resume", str(out)]) == 0


def test_adagrad_sums_reset_and_only_for_adagrad():
    from treernn.errors import ConfigError
    from treernn.training.trainer import reset_adagrad

    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adagrad([p], lr=0.1)
    p.grad = torch.full((3,), 2.0)
    opt.step()
    assert opt.state[p]["sum"].tolist() == [4.0, 4.0, 4.0]
    reset_adagrad(opt)
    assert opt.state[p]["sum"].tolist() == [0.0, 0.0, 0.0]
    opt.step()  # 1 - 0.1 (first step), then again a full 0.1 (without the reset: 0.1 * 2 / sqrt(8))
    assert torch.allclose(p.detach(), torch.full((3,), 0.8), atol=1e-6)
    with pytest.raises(ConfigError, match="adagrad_reset is for the adagrad optimizer"):
        resolve_config(None, [("trainer.optimizer", "adam"), ("trainer.adagrad_reset", "1")])


def test_random_vectors_range_sets_the_embeddings_start(tiny_corpus, tmp_path):
    from treernn.errors import ConfigError

    cfg = _config(tiny_corpus, epochs=1, lr=1e-9, embedding_lr=1e-9)
    cfg.data.random_vectors_range = 0.001
    train(cfg, tmp_path / "m", log=lambda m: None)
    model, _ = load_model_dir(tmp_path / "m")
    weight = model.encoder.embedding.weight.detach()
    assert weight[0].abs().max() == 0  # PAD
    assert 0.0005 < weight[1:].abs().max() <= 0.001 + 1e-6  # not PyTorch's N(0, 1)
    with pytest.raises(ConfigError, match="random_vectors_range is for runs without a vectors file"):
        resolve_config(None, [("data.random_vectors_range", "0.001"), ("data.vectors", str(tmp_path / "m" / "vocab.json"))])


def test_every_sst_preset_resolves(tmp_path):
    """Each model of `treernn compare sst` is a valid configuration; the RNTN trains its own
    25-d words (Socher et al.), the phrase rows train sequence models on phrases."""
    from treernn.training.presets import SST_PRESETS, experiment_tasks

    vectors = tmp_path / "v.txt"
    vectors.write_text("film 0.1 0.2\n")
    for task, settings in experiment_tasks("sst", str(tmp_path), str(vectors)):
        for name, preset in SST_PRESETS.items():
            pairs = {**settings, "model.encoder": preset.encoder, **preset.settings}
            cfg = resolve_config(None, list(pairs.items()))
            assert cfg.data.vectors == (None if name == "rntn" else str(vectors)), name
            assert cfg.data.phrases == name.endswith("-phrases"), name
    rntn = SST_PRESETS["rntn"].settings
    assert rntn["model.input_dim"] == rntn["model.hidden_dim"] == 25 and rntn["trainer.adagrad_reset"] == 1


def test_evaluate_writes_each_items_prediction(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--model", "lstm", "--corpus", "ambiguity-attach", "--epochs", "1", "--device", "cpu",
                 "--out", str(out), "--trainer.progress", "false"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    path = tmp_path / "dev.jsonl"
    assert main(["evaluate", str(out), "--split", "dev", "--predictions", str(path), "--json", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(metrics["dev"]["sentences"]))
    assert all(set(r) == {"index", "gold", "predicted", "correct"} and r["correct"] == (r["gold"] == r["predicted"])
               for r in rows)
    assert sum(r["correct"] for r in rows) / len(rows) == pytest.approx(metrics["dev"]["accuracy"])
    assert (out / "predictions-test.jsonl").read_text().count("\n") == metrics["test"]["sentences"]
    assert main(["evaluate", str(out), "--predictions", str(tmp_path / "no" / "such" / "dir" / "f.jsonl")]) == 2


def test_train_on_sst_starts_from_the_compare_recipe_and_what_the_user_sets_wins(tmp_path, sst_dir):
    from treernn.training.config import resolve_train_config
    from treernn.training.presets import SST_PRESETS

    base = [("data.corpus", "sst"), ("data.path", str(sst_dir)), ("model.encoder", "tree-lstm")]
    config, kept = resolve_train_config(None, base)
    assert kept == SST_PRESETS["tree-lstm"].settings
    assert config.trainer.epochs == kept["trainer.epochs"] and config.model.input_dropout == kept["model.input_dropout"]
    config, kept = resolve_train_config(None, base + [("trainer.epochs", "10")])  # the default's value, said
    assert config.trainer.epochs == 10 and "trainer.epochs" not in kept
    toml = tmp_path / "c.toml"
    toml.write_text("[model]\ninput_dropout = 0.0\n")
    config, kept = resolve_train_config(str(toml), base)
    assert config.model.input_dropout == 0.0 and "model.input_dropout" not in kept
    assert resolve_train_config(None, base[:2] + [("model.encoder", "lstm")])[0].model.hidden_dim == \
        SST_PRESETS["lstm"].settings["model.hidden_dim"]
    assert resolve_train_config(None, [("data.corpus", "ambiguity-attach"), ("model.encoder", "tree-lstm")])[1] == {}


def test_compare_sst_structure_runs_the_controls(tmp_path, sst_dir, capsys):
    tiny = tmp_path / "sst"
    tiny.mkdir()
    for split in ("train", "dev", "test"):
        (tiny / f"{split}.txt").write_text("".join((sst_dir / f"{split}.txt").read_text().splitlines(True)[:40]))
    out = tmp_path / "cmp"
    assert main(["compare", "sst-structure", "--models", "tree-lstm-root,tree-lstm-root-right,bilstm", "--epochs", "1",
                 "--data-path", str(tiny), "--out", str(out), "--device", "cpu"]) == 0
    data = json.loads((out / "sst-structure.json").read_text())
    runs = out / "runs" / "sst-structure" / "fine"
    saved = json.loads((runs / "tree-lstm-root-right-seed0" / "config.json").read_text())["resolved_config"]
    assert saved["model"]["loss_on"] == "root" and saved["data"]["trees"] == "right"
    tests = data["significance"]["fine"]["tests"]
    assert data["significance"]["fine"]["reference"] == "bilstm"
    assert [(t["model"], t["against"]) for t in tests] == [("tree-lstm-root", "bilstm"), ("tree-lstm-root-right", "bilstm")]
    table = (out / "sst-structure.md").read_text()
    assert "| Tree-LSTM, right-branching trees, sentence label |" in table and "Paired tests, fine" in table
