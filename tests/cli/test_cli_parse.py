"""`treernn parse` and `treernn corpus stats` end to end (in-process and as a real command)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from treernn.cli import main
from treernn.trees import from_ptb

from conftest import GRAMMARS


def run(args, stdin=None, capsys=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_cfg_binarize_ptb(capsys):
    code, out, err = run(["parse", "--parser", "cfg", "--grammar", str(GRAMMARS / "telescope.cfg"),
                          "--binarize", "I saw the man with the telescope"], capsys=capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(from_ptb(line).is_binary() for line in lines)


def test_parse_spacy_json_and_pretty(capsys):
    code, out, _ = run(["parse", "--format", "json", "Dogs bark. Cats purr."], capsys=capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["tree"] for r in rows] == [0, 1] and rows[0]["label"] == "ROOT"
    code, out, _ = run(["parse", "--format", "pretty", "--binarize", "Dogs bark."], capsys=capsys)
    assert code == 0 and "└── " in out


def test_parse_stdin_streams_and_reports_bad_lines(capsys, monkeypatch):
    data = b"(3 (2 a) (2 b))\n(3 (2 a)\n\n\xff\xfe\n(1 (0 c) (2 d))\n"
    code, out, err = run(["parse", "--parser", "ptb", "-"], stdin=data, capsys=capsys,
                         monkeypatch=monkeypatch)
    assert code == 2
    assert out.splitlines() == ["(3 (2 a) (2 b))", "(1 (0 c) (2 d))"]
    assert "<stdin>:2:1: unclosed '('" in err
    assert "<stdin>:4: not UTF-8 (byte 0)" in err
    assert "2 input(s) failed" in err


@pytest.mark.parametrize("args, msg", [
    (["parse"], "no input"),
    (["parse", ""], "empty text"),
    (["parse", "--parser", "cfg", "x"], "needs a grammar"),
    (["parse", "--parser", "cfg", "--grammar", "missing.cfg", "x"], "grammar file not found: missing.cfg"),
    (["parse", "--model", "no_such_model", "hi"], "'no_such_model' is not installed"),
    (["corpus", "stats", "sst", "--path", "/no/such/dir"], "/no/such/dir"),
])
def test_bad_input_one_line_exit_2(args, msg, capsys):
    code, out, err = run(args, capsys=capsys)
    assert code == 2
    assert msg in err
    assert "Traceback" not in err
    assert len([l for l in err.splitlines() if l.startswith("treernn: error")]) == 1


def test_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["parse", "--format", "xml", "x"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_corpus_stats_sst(sst_dir, capsys):
    code, out, err = run(["corpus", "stats", "sst", "--path", str(sst_dir), "--json"], capsys=capsys)
    assert code == 0, err
    stats = json.loads(out)
    assert [stats["fine-grained"]["splits"][s]["trees"] for s in ("train", "dev", "test")] == [8544, 1101, 2210]
    assert [stats["binary"]["splits"][s]["trees"] for s in ("train", "dev", "test")] == [6920, 872, 1821]
    code, out, _ = run(["corpus", "stats", "sst", "--path", str(sst_dir)], capsys=capsys)
    assert code == 0 and "8544" in out and "6920" in out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "treernn.cli", "parse", "--parser", "ptb", "(1 (2 x) (3 y))"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "(1 (2 x) (3 y))"
