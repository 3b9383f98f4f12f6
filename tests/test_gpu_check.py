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
    assert report["failed"] == [] and report["pending"] == []
    assert set(report["steps"]["sync-check"]) >= {"tree-lstm", "child-sum-tree-lstm", "bilstm"}
    assert list(report["steps"]) == ["environment", "cuda-tests", "sync-check", "bench", "profile",
                                     "train-agreement", "sst-epoch", "pipeline-and-server"]
    profile = report["steps"]["profile"]
    assert [profile[p]["batch_size"] for p in ("train", "infer")] == [16, 64]
    assert profile["train"]["operators_per_step"] > profile["infer"]["operators_per_step"] > 0
    bench = report["steps"]["bench"]
    assert {row["config"] for row in bench["rows"]} >= {"tree-lstm-native", "child-sum-deps", "bilstm"}
    train = report["steps"]["train-agreement"]
    assert train["difference_points"] == 0.0  # the same device twice: the same run
    epochs = report["steps"]["sst-epoch"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(e["train_seconds"] > 0 for e in epochs)
    assert report["steps"]["cuda-tests"]["skipped"]  # on a CPU every CUDA case skips, and says why
    assert (tmp_path / "bench-cpu-quick.txt").read_text().startswith("treernn gpu-check")



def _load_script():
    import importlib.machinery
    import types

    loader = importlib.machinery.SourceFileLoader("gpu_check", str(ROOT / "scripts" / "gpu-check"))
    module = types.ModuleType(loader.name)
    module.__file__ = loader.path
    loader.exec_module(module)
    return module


# torch.profiler warns that it has no CUDA to profile: that case is what the test is about
@pytest.mark.filterwarnings("ignore:CUDA is not available, disabling CUDA profiling")
def test_gpu_check_runs_no_step_past_its_budget(sst_dir, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu-check"), "--device", "cpu", "--quick",
                        "--out", str(tmp_path), "--sst", str(sst_dir), "--budget", "0",
                        "--steps", "environment,train-agreement"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout[-2000:]  # the check is incomplete
    report = json.loads((tmp_path / "bench-cpu-quick.json").read_text())
    assert [s["status"] for s in report["steps"].values()] == ["not run", "not run"]
    assert report["failed"] == ["environment", "train-agreement"] and report["pending"] == []
    assert "not run: the time budget (0 s) was spent" in (tmp_path / "bench-cpu-quick.txt").read_text()


def test_a_bench_stopped_at_the_budget_keeps_going(sst_dir, monkeypatch):
    """A configuration still running at the budget is stopped and noted; the ones after it are
    not started; the step fails naming why (no native row to report)."""
    import time
    import types

    module = _load_script()
    monkeypatch.setattr(module, "time_left", lambda args: 0.5)  # less than the bench's start-up
    args = types.SimpleNamespace(device="cpu", quick=True, sst=str(sst_dir), step_timeout=420,
                                 deadline=time.perf_counter() + 0.2)
    with pytest.raises(RuntimeError, match="did not run") as info:
        module.step_bench(args)
    assert "tree-lstm-native': 'stopped after 0 s (out of time)" in str(info.value)
    assert "dgl-example': 'not run: out of time" in str(info.value)


def test_a_bench_configuration_that_cannot_run_is_named_with_its_reason(sst_dir, monkeypatch):
    """On the GPU run of 2026-12-04 DGL was not importable: ``treernn bench`` skipped the
    dgl-example configuration (exit 0, its reason in the report's "skipped"), and the check
    showed no dgl-example row and no word of why. The reason must reach the check's notes."""
    import time
    import types

    module = _load_script()

    def fake_bench(cmd, **kwargs):  # what treernn bench writes: rows, or the reason it skipped
        config = cmd[cmd.index("--configs") + 1]
        out = cmd[cmd.index("--json") + 1]
        if config == "dgl-example":
            report = {"results": [], "skipped": {config: "DGL cannot be imported (No module named 'dgl')"}}
        else:
            report = {"results": [{"config": config, "batch_size": 4, "train": {"sentences_per_s": 10.0},
                                   "infer": {"sentences_per_s": 20.0}}], "skipped": {}}
        with open(out, "w") as f:
            json.dump(report, f)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(module.subprocess, "run", fake_bench)
    args = types.SimpleNamespace(device="cuda", quick=True, sst=str(sst_dir), step_timeout=420,
                                 deadline=time.perf_counter() + 60)
    result = module.step_bench(args)
    assert {r["config"] for r in result["rows"]} == {"tree-lstm-native", "child-sum-deps", "bilstm"}
    assert result["notes"]["dgl-example"] == "did not run on cuda: DGL cannot be imported (No module named 'dgl')"
    assert result["ratios"] == {}
