"""``scripts/gpu-check --device cpu --quick`` runs in CI, so that the command the CUDA machine
runs cannot rot between the times one is lent: every step must pass on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_gpu_check_passes_on_cpu_quick(sst_dir, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu-check"), "--device", "cpu", "--quick",
                        "--out", str(tmp_path), "--sst", str(sst_dir)],
                       capture_output=True, text=True, timeout=1200)
    report = json.loads((tmp_path / "bench-cpu-quick.json").read_text())
    assert r.returncode == 0, (r.stdout[-3000:], {k: v.get("error") for k, v in report["steps"].items()})
    assert report["failed"] == []
    assert list(report["steps"]) == ["environment", "cuda-tests", "sync-check", "bench", "train-agreement",
                                     "pipeline-and-server"]
    bench = report["steps"]["bench"]
    assert {row["config"] for row in bench["rows"]} >= {"tree-lstm-native", "child-sum-deps", "bilstm"}
    train = report["steps"]["train-agreement"]
    assert train["difference_points"] == 0.0  # the same device twice: the same run
    assert (tmp_path / "bench-cpu-quick.txt").read_text().startswith("treernn gpu-check")
