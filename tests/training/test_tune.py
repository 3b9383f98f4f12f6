"""``treernn tune``: the study, its files, resume after a kill, several processes, the space
file and bad input, on the small ambiguity corpus (trials of one or two epochs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from treernn.cli import main
from treernn.errors import TuneError
from treernn.training import tune
from treernn.training.config import resolve_config

SPACE = '[space]\n"trainer.lr" = {low = 0.002, high = 0.02, log = true}\n"trainer.epochs" = {low = 1, high = 2}\n'
SLOW_SPACE = '[space]\n"trainer.lr" = {low = 0.002, high = 0.02, log = true}\n"trainer.epochs" = {choices = [3]}\n'
BASE = ["tune", "--model", "lstm", "--corpus", "ambiguity-attach", "--threads", "1"]


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(SPACE)
    return str(path)


def _summary(directory):
    return json.loads((directory / tune.SUMMARY).read_text())


def test_a_study_writes_its_trials_and_a_best_toml_that_train_takes(tmp_path, space, capsys):
    out = tmp_path / "study"
    assert main(BASE + ["--out", str(out), "--trials", "3", "--space", space]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("tune: trial")]
    assert len(lines) == 3 and all("best " in line and "of 3 done" in line for line in lines)
    summary = _summary(out)
    assert summary["finished"] == 3 and summary["failed"] == 0 and summary["seconds"] > 0
    assert all(0.0 <= t["value"] <= 1.0 and set(t["params"]) == {"trainer.lr", "trainer.epochs"}
               for t in summary["trials"] if t["state"] == "complete")
    for t in summary["trials"]:  # each an ordinary run directory
        assert (out / t["run_dir"] / "metrics.json").is_file() and (out / t["run_dir"] / "model.safetensors").is_file()
    best = json.loads((out / tune.BEST_JSON).read_text())
    assert best["value"] == max(t["value"] for t in summary["trials"] if t["value"] is not None)
    spec = json.loads((out / tune.META).read_text())
    assert spec["model"] == "lstm" and spec["corpus"] == "ambiguity-attach" and spec["trials"] == 3

    # the best trial's settings train the same run again (same seed: the same dev score)
    assert main(["train", "--config", str(out / tune.BEST_TOML), "--out", str(tmp_path / "again"),
                 "--device", "cpu"]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["dev"]["accuracy"] == pytest.approx(best["value"])
    assert resolve_config(str(out / tune.BEST_TOML)).trainer.patience is None  # "none" in TOML


def test_resume_raises_the_trial_count_and_keeps_finished_trials(tmp_path, space, capsys):
    out = tmp_path / "study"
    assert main(BASE + ["--out", str(out), "--trials", "1", "--space", space]) == 0
    first = _summary(out)["trials"][0]
    assert main(["tune", "--resume", str(out), "--trials", "2"]) == 0
    trials = _summary(out)["trials"]
    assert len(trials) == 2 and trials[0] == first


@pytest.mark.slow
def test_a_killed_study_resumes_without_losing_a_finished_trial(tmp_path):
    out, space_file = tmp_path / "study", tmp_path / "space.toml"
    space_file.write_text(SLOW_SPACE)
    cmd = [sys.executable, "-m", "treernn"] + BASE + ["--out", str(out), "--trials", "3", "--space", str(space_file)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 240
        while not ((out / tune.SUMMARY).exists() and _summary(out)["finished"] >= 1):
            assert time.monotonic() < deadline and proc.poll() is None, "the first trial never finished"
            time.sleep(0.2)
        time.sleep(1.0)  # the second trial (3 epochs) is under way
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = [t for t in _summary(out)["trials"] if t["state"] == "complete"]
    assert len(finished) == 1

    assert main(["tune", "--resume", str(out)]) == 0
    trials = _summary(out)["trials"]
    assert [t for t in trials if t["number"] == finished[0]["number"]] == finished  # kept as it was
    assert sum(t["state"] == "complete" for t in trials) == 3
    assert not [t for t in trials if t["state"] == "running"]
    killed = [t for t in trials if t["state"] == "fail"]
    assert len(killed) == 1  # the trial the kill interrupted: queued again with its settings
    retry = [t for t in trials if t.get("retry_of") == killed[0]["number"]]
    assert len(retry) == 1 and retry[0]["params"] == killed[0]["params"] and retry[0]["state"] == "complete"


@pytest.mark.slow
def test_two_processes_share_one_study_and_run_exactly_its_trials(tmp_path, space, capsys):
    out = tmp_path / "study"
    assert main(BASE + ["--out", str(out), "--trials", "4", "--space", space, "--jobs", "2"]) == 0
    summary = _summary(out)
    assert summary["finished"] == 4 and len(summary["trials"]) == 4
    assert len({t["params"]["trainer.lr"] for t in summary["trials"]}) == 4  # each worker its own draws


def test_a_pruned_trial_counts_and_says_where_it_stopped(tmp_path, space, monkeypatch, capsys):
    import optuna

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    out = tmp_path / "study"
    assert main(BASE + ["--out", str(out), "--trials", "2", "--space", space]) == 0
    summary = _summary(out)
    assert summary["pruned"] == 2 and summary["finished"] == 2
    assert all(len(t["dev_curve"]) == 1 for t in summary["trials"])
    assert "pruned: stopped at epoch 1" in capsys.readouterr().err
    assert not (out / tune.BEST_TOML).exists()  # no trial finished its run


def test_the_default_space_leaves_out_what_the_model_does_not_take(sst_dir):
    rcnn = tune.new_spec("rcnn", "sst", space_file=None, data_path=str(sst_dir))
    assert "model.input_dropout" not in rcnn.space and "trainer.lr" in rcnn.space
    tree = tune.new_spec("tree-lstm", "sst", data_path=str(sst_dir))
    assert tree.space["model.hidden_dim"] == {"choices": [100, 150, 200]}
    assert set(tree.space) == {"trainer.lr", "trainer.embedding_lr", "model.input_dropout", "model.dropout",
                               "model.hidden_dim", "trainer.epochs"}
    bilstm = tune.new_spec("bilstm", "sst", data_path=str(sst_dir)).space
    assert set(bilstm) == set(tree.space) and bilstm["model.hidden_dim"] == {"choices": [112, 168, 224]}  # matched 168


BAD_SPACES = [
    ('[space]\n"model.nope" = {low = 1, high = 2}\n', "unknown setting in the space, got 'model.nope'"),
    ('[space]\n"trainer.lr" = {low = 0.2, high = 0.1}\n', "low must be below high"),
    ('[space]\n"trainer.lr" = {low = 0, high = 0.1, log = true}\n', "a log range needs low > 0"),
    ('[space]\n"trainer.lr" = {low = "a", high = 0.1}\n', "a range needs numbers low and high"),
    ('[space]\n"trainer.lr" = {low = 0.01, high = 0.1, by = 2}\n', "unknown key(s) by"),
    ('[space]\n"model.hidden_dim" = {choices = []}\n', "choices must be a non-empty list"),
    ('[space]\n"model.dropout" = {low = 0.5, high = 1.5}\n', "makes no valid run"),
    ('[tune]\nx = 1\n', "a space file has one [space] table"),
    ('[space\n', "is not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_SPACES)
def test_a_bad_space_file_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "space.toml"
    path.write_text(text)
    assert main(BASE + ["--out", str(tmp_path / "s"), "--space", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("treernn: error:")


def test_bad_study_input_is_one_line(tmp_path, space, capsys):
    out = tmp_path / "study"
    cases = [
        (BASE + ["--out", str(out), "--jobs", "0"], "--jobs must be >= 1, got 0"),
        (["tune", "--model", "lstm", "--out", str(out)], "treernn tune needs --corpus"),
        (["tune", "--resume", str(tmp_path / "none")], "holds no study"),
        (BASE + ["--out", str(out), "--trials", "0"], "--trials must be >= 1"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, (argv, err)

    assert main(BASE + ["--out", str(out), "--trials", "1", "--space", space]) == 0
    capsys.readouterr()
    for argv, message in [
        (["tune", "--model", "bilstm", "--corpus", "ambiguity-attach", "--out", str(out)],
         "holds a study of lstm on ambiguity-attach, got bilstm on ambiguity-attach"),
        (["tune", "--resume", str(out), "--model", "bilstm"], "--resume DIR continues the study as it was"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, (argv, err)

    (out / tune.STUDY_FILE).write_bytes(b"this is not a database" * 100)
    assert main(["tune", "--resume", str(out), "--trials", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "study.db: the study cannot be opened" in err and "\n" not in err
    (out / tune.META).write_text("{broken")
    assert main(["tune", "--resume", str(out)]) == 2
    assert "tune.json is damaged" in capsys.readouterr().err


def test_config_toml_round_trips(tmp_path):
    config = resolve_config(None, [("model.encoder", "bilstm"), ("trainer.patience", None), ("trainer.lr", 0.0123),
                                   ("data.corpus", "ambiguity-attach"), ("model.input_dropout", 0.25)])
    path = tmp_path / "c.toml"
    path.write_text(tune.config_toml(config, "a header\nof two lines"))
    assert resolve_config(str(path)).to_dict() == config.to_dict()
    with pytest.raises(TuneError, match="low must be below high"):
        tune.parse_space({"trainer.lr": {"low": 1, "high": 1}}, "here")


def test_best_toml_names_every_tuned_setting_even_at_its_default(tmp_path, sst_dir):
    """A tuned value equal to the default must still beat a recipe train --corpus sst applies."""
    config = resolve_config(None, [("data.corpus", "sst"), ("data.path", str(sst_dir)), ("model.encoder", "tree-lstm"),
                                   ("trainer.epochs", 10)])
    text = tune.config_toml(config, always=["trainer.epochs", "trainer.progress"])
    assert "epochs = 10" in text and "progress" not in text
    path = tmp_path / "best.toml"
    path.write_text(text)
    from treernn.training.config import resolve_train_config

    resolved, recipe = resolve_train_config(str(path))
    assert resolved.trainer.epochs == 10 and "trainer.epochs" not in recipe  # the file's 10, not the recipe's 20
