"""``treernn bench``: the quick run completes and reports every configuration (no timing
assertions: the numbers depend on the machine)."""

from __future__ import annotations

import json

import pytest
import torch

from treernn.bench import CONFIGS, BenchError, bench_config
from treernn.cli import main


@pytest.mark.slow
def test_quick_bench_reports_every_configuration(sst_dir, sick_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the SICK parses
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out), "--data-path", str(sst_dir),
                 "--sick-path", str(sick_dir)]) == 0
    report = json.loads(out.read_text())

    assert report["skipped"] == {}
    sizes = report["settings"]["batch_sizes"]
    rows = {(r["config"], r["batch_size"]): r for r in report["results"]}
    assert set(rows) == {(name, b) for name in CONFIGS for b in sizes}
    for row in rows.values():
        for phase in ("train", "infer"):
            result = row[phase]
            assert result["sentences_per_s"] > 0
            assert result["batches"] >= 1 and result["sentences"] > 0
            assert result["model_gflops"] > 0 and result["share_of_peak"] > 0
            assert result["peak_memory_mb"] is None or result["peak_memory_mb"] >= 0
            assert result["operators_per_step"] > 0 and "gpu_busy_fraction" not in result  # CPU run
        assert row["infer_over_train"] > 0
    assert report["matmul_peak"]["peak_gflops"] > 0
    machine = report["machine"]
    for key in ("cpu_model", "cpu_cores", "torch", "dgl", "torch_threads"):
        assert machine[key]
    assert {r["what"] for r in report["ratios"]} >= {"tree-lstm-native / dgl-example",
                                                     "tree-lstm-native / bilstm"}
    pipe = report["pipeline"]
    assert pipe["sentences"] >= pipe["texts"] == 50 and pipe["sentences_per_s"] > 0
    assert abs(pipe["parse_share"] + pipe["model_share"] - 1) < 0.01
    assert "ner" in pipe["full_spacy"]["components"] and "ner" not in pipe["components"]
    assert pipe["full_spacy"]["sentences"] == pipe["sentences"] and pipe["speedup_vs_full_spacy"] > 0
    sick = [r for r in report["results"] if r["config"] == "child-sum-sick"]
    assert all(r["epoch_items"] == 4439 and r["epoch_seconds"] == round(4439 / r["train"]["sentences_per_s"], 2)
               for r in sick)
    table = capsys.readouterr().out
    assert "an epoch of 4,439 items at the train rate" in table
    assert all(name in table for name in CONFIGS) and "pipeline (text in" in table and "the pipeline as it was" in table
    assert "ops/step t/i" in table
    native = rows[("tree-lstm-native", sizes[0])]
    assert native["train"]["operators_per_step"] > native["infer"]["operators_per_step"]  # backward, optimizer
    # the fused level loops against the Python ones, in the same run; the header says which ran
    assert "tree-lstm-native / tree-lstm-unfused" in {r["what"] for r in report["ratios"]}
    assert f"fused level kernels {machine['fused_levels']}" in table.splitlines()[0]
    unfused = rows[("tree-lstm-unfused", sizes[0])]
    if machine["fused_levels"] == "on":  # one call for all levels instead of a dozen operators per level
        assert native["train"]["operators_per_step"] < unfused["train"]["operators_per_step"]
        assert native["infer"]["operators_per_step"] < unfused["infer"]["operators_per_step"]


def test_operators_are_counted_without_views():
    from treernn.bench.profile import count_operators

    def step(items):
        x = torch.ones(items[0])  # 1
        y = x.view(-1, 1).t()  # views: not counted
        (y + 1).mul_(2).sum()  # 3

    assert count_operators(step, [4]) == 4


def test_a_backward_step_is_counted_and_a_cpu_has_no_gpu_kernels():
    from treernn.bench.profile import count_operators, gpu_busy

    layer = torch.nn.Linear(8, 8)

    def step(x):
        layer(x).sum().backward()

    # addmm, sum; backward: ones_like (the seed), mm (the weight's gradient), sum (the bias's);
    # sum's backward expands and the transposes are views, not counted (torch 2.13: exactly 5)
    assert 4 <= count_operators(step, torch.randn(4, 8)) <= 7
    with pytest.raises(RuntimeError, match="no GPU kernel"):  # on a CPU: nothing to time
        gpu_busy(step, torch.randn(4, 8), torch.device("cpu"), steps=1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_cuda_is_a_one_line_error(capsys):
    assert main(["bench", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("treernn: error: no CUDA device is available here, got device 'cuda'")
    assert "\n" not in err


@pytest.mark.parametrize("text", ["", "0,25", "25,x"])
def test_bad_batch_sizes_name_the_fix(text):
    with pytest.raises(BenchError, match="--batch-sizes"):
        bench_config(batch_sizes=text)


def test_quick_settings_are_small():
    cfg = bench_config(quick=True)
    assert cfg.quick and cfg.max_trees <= 500 and cfg.rounds == 1 and cfg.warmup_batches <= 1
    assert cfg.train_seconds == cfg.infer_seconds == 0  # one timed batch per measurement
    assert bench_config(quick=True, batch_sizes="25,256").batch_sizes == (25, 256)
    assert cfg.threads == 1 and bench_config(quick=True, threads=2).threads == 2


def test_unknown_configuration_is_a_one_line_error(capsys):
    assert main(["bench", "--quick", "--configs", "tree-lstm-native,nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown configuration 'nope'" in err and "\n" not in err
    assert bench_config(configs="bilstm, rntn-native").configs == ("bilstm", "rntn-native")


def test_vectors_file_sets_the_input_size(tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("the 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\n")
    assert bench_config(vectors=str(vectors)).input_dim == 3
    assert bench_config().input_dim == 300  # random vectors: the default size
    with pytest.raises(BenchError, match="--vectors cannot be read"):
        bench_config(vectors=str(tmp_path / "missing.txt"))


@pytest.mark.parametrize("option, value, message", [("rounds", 0, "--rounds must be >= 1"),
                                                     ("pipeline_sentences", -1, "--pipeline-sentences must be >= 0")])
def test_bad_rounds_and_pipeline_sentences_name_the_fix(option, value, message):
    with pytest.raises(BenchError, match=message):
        bench_config(**{option: value})


def test_rounds_and_pipeline_sentences_reach_the_config():
    cfg = bench_config(rounds=3, pipeline_sentences=0)
    assert cfg.rounds == 3 and cfg.pipeline_sentences == 0


@pytest.mark.slow
def test_missing_sick_skips_the_pair_workload_and_says_why(sst_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out), "--data-path", str(sst_dir), "--configs",
                 "child-sum-sick,bilstm", "--sick-path", str(tmp_path / "nowhere"), "--pipeline-sentences", "0"]) == 0
    report = json.loads(out.read_text())
    assert set(report["skipped"]) == {"child-sum-sick"} and "no such file" in report["skipped"]["child-sum-sick"]
    assert {r["config"] for r in report["results"]} == {"bilstm"}
    assert "child-sum-sick    skipped:" in capsys.readouterr().out


def test_the_pair_epoch_goal_is_an_upper_bound():
    from treernn.bench.report import _targets

    def row(rate):
        return {"config": "child-sum-sick", "batch_size": 25, "train": {"sentences_per_s": rate},
                "epoch_items": 4439, "epoch_seconds": round(4439 / rate, 2), "infer_over_train": 2.0}

    fast, slow = _targets([row(900.0)]), _targets([row(300.0)])
    assert fast == [{"target": "child-sum-sick epoch of 4,439 pairs, s", "value": 4.93, "goal": 10.0,
                     "at_most": True, "met": True}]
    assert slow[0]["value"] == 14.8 and not slow[0]["met"]


def test_targets_check_issue_31s_ratio_at_batch_25():
    from treernn.bench.report import _targets

    def row(config, B, rate):
        return {"config": config, "batch_size": B, "train": {"sentences_per_s": rate}, "infer_over_train": 3.0}

    checks = {c["target"]: c for c in _targets([row("tree-lstm-native", 25, 2000.0), row("dgl-example", 25, 500.0)])}
    assert checks["issue 31: train B=25 / dgl-example train B=25"]["value"] == 4.0
    assert not checks["issue 31: train B=25 / dgl-example train B=25"]["met"]  # goal 5x
    assert checks["train B=25 / dgl-example train B=25"]["met"]  # issue 6's 3x
