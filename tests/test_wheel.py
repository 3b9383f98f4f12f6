"""A non-editable install runs the bundled experiments: build the wheel, install it with
``--no-deps`` into a fresh virtual environment that reuses this environment's packages, and
train on the bundled corpus from a directory outside the checkout."""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_wheel_install_trains_on_the_bundled_corpus_outside_the_checkout(tmp_path):
    src = tmp_path / "src"  # build from a copy: the build writes build/ and *.egg-info
    shutil.copytree(ROOT / "treernn", src / "treernn", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "corpora", src / "corpora", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-q", "-w", str(dist), str(src)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("treernn-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("treernn/data/ambiguity/attach/train.tsv", "treernn/data/ambiguity/arith/test_long.meta.tsv",
                 "treernn/data/grammars/telescope.cfg", "treernn/data/classify.schema.json",
                 "treernn/data/classify-document.schema.json",
                 "treernn/data/models/sst-fine/model.safetensors", "treernn/data/models/sst-fine/vocab.json",
                 "treernn/data/models/sst-fine/config.json"):
        assert data in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    # reuse this environment's packages (torch, spaCy, ...): a path line, so this
    # environment's own .pth files (the editable treernn among them) are not run
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "venv" / purelib.split(str(venv) + "/", 1)[1] / "outer.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
                    "-q", str(wheel)], check=True, capture_output=True, timeout=300)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(py), "-c", "import treernn; print(treernn.__file__)"], cwd=work,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(venv)), where  # the wheel's treernn, not the checkout's

    treernn = venv / "bin" / "treernn"
    proc = subprocess.run([str(treernn), "train", "--model", "tree-lstm", "--corpus", "ambiguity-attach",
                           "--epochs", "1", "--device", "cpu", "--out", "run", "--model.input_dim", "20",
                           "--model.hidden_dim", "20", "--trainer.progress", "false"],
                          cwd=work, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    assert metrics["test"]["sentences"] > 0 and metrics["epochs_run"] == 1
    # the bundled sentiment model labels text with no model directory
    proc = subprocess.run([str(treernn), "classify", "--format", "json", "Not bad at all."], cwd=work,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["tokens"] == ["Not", "bad", "at", "all", "."]

    parse = subprocess.run([str(treernn), "parse", "--parser", "cfg", "--grammar", "telescope",
                            "I saw the man with the telescope"], cwd=work, capture_output=True, text=True,
                           timeout=300)
    assert parse.returncode == 0 and len(parse.stdout.splitlines()) == 2, parse.stderr
