"""Running the benchmark: :func:`run_benchmark`, its rounds of interleaved slices."""

from __future__ import annotations

import statistics
import time
import warnings
from dataclasses import asdict
from typing import Callable

import numpy as np
import torch

from treernn.batching import plan_tree
from treernn.bench.config import (CONFIGS, MEMORY_NOTE_CPU, MEMORY_NOTE_CUDA, BenchConfig,
                                  BenchError)
from treernn.bench.memory import _PeakMemory
from treernn.bench.profile import step_profile
from treernn.bench.report import _ratios, _targets
from treernn.bench.timing import _machine_info, _Probe, _sync, _time_slice, matmul_peak
from treernn.bench.workloads import (_build_workload, _load_data, _pipeline_throughput,
                                     _pool_batches, _steps, _Workload)
from treernn.device import pick_device
from treernn.errors import TreernnError


# --------------------------------------------------------------------------- running
def _resolve_device(name: str) -> torch.device:
    """``cpu`` or ``cuda`` (:func:`treernn.device.pick_device`; ``auto`` is not a benchmark
    device: the report must say what it measured)."""
    if name == "auto":
        raise BenchError("unknown device, got 'auto'; use --device cpu or --device cuda")
    return pick_device(name)


class _Series:
    """One measurement (configuration x batch size x phase): its slices over the rounds."""

    def __init__(self, workload: _Workload, batch_size: int, phase: str,
                 step: Callable[[list], None]) -> None:
        self.workload, self.batch_size, self.phase, self.step = workload, batch_size, phase, step
        self.batches = _pool_batches(workload.items, batch_size)
        self.slices: list[dict] = []
        self.spent = 0.0
        self.warm = False

    def calm(self, best: float, factor: float) -> list[dict]:
        return [s for s in self.slices if max(s["probe_ms"]) <= factor * best]

    def measure(self, cfg: BenchConfig, device: torch.device, peak_gflops: float,
                probe: _Probe) -> None:
        seconds = cfg.train_seconds if self.phase == "train" else cfg.infer_seconds
        self.workload.model.train(self.phase == "train")
        if not self.warm:  # small batches: the code paths, lazy state, without the cost
            for _ in range(cfg.warmup_batches):
                self.step(self.workload.items[: min(self.batch_size, 25)])
            _sync(device)
            self.warm = True
        before = probe()
        with _PeakMemory(device) as mem:
            spent, done = _time_slice(self.step, self.batches, device, seconds)
        after = probe()
        n = sum(len(items) for items in done)
        # Training: forward + backward, whose matmuls are two per forward one: 3x forward.
        count = self.workload.flops
        if self.phase != "train" and self.workload.infer_flops is not None:
            count = self.workload.infer_flops
        flops = (3 if self.phase == "train" else 1) * sum(count(d) for d in done)
        self.spent += spent
        self.slices.append({
            "sentences_per_s": n / spent, "model_gflops": flops / spent / 1e9,
            "share_of_peak": flops / spent / 1e9 / peak_gflops, "peak_memory_mb": mem.mb,
            "probe_ms": (before, after), "sentences": n, "batches": len(done),
            "seconds": spent, "flops": flops,
        })

    def profile(self, device: torch.device, sentences_per_s: float) -> dict:
        """Operators (and on a GPU kernels, busy time) of one step of this series' batch size,
        after the timed slices (profiling slows a step; it is never timed)."""
        self.workload.model.train(self.phase == "train")
        items = (self.workload.items * (1 + self.batch_size // max(1, len(self.workload.items))))[: self.batch_size]
        return step_profile(self.step, items, device, 1000 * self.batch_size / sentences_per_s)

    def result(self, best: float, factor: float, device: torch.device) -> dict:
        calm = self.calm(best, factor)
        used = calm or self.slices
        median = statistics.median
        memory = [s["peak_memory_mb"] for s in self.slices if s["peak_memory_mb"] is not None]
        rate = median(s["sentences_per_s"] for s in used)
        return {
            "sentences_per_s": round(rate, 1),
            **self.profile(device, rate),
            "model_gflops": round(median(s["model_gflops"] for s in used), 2),
            "share_of_peak": round(median(s["share_of_peak"] for s in used), 4),
            "peak_memory_mb": round(max(memory), 1) if memory else None,
            "calm_slices": len(calm),
            "slices": len(self.slices),
            "batches": sum(s["batches"] for s in self.slices),
            "sentences": sum(s["sentences"] for s in self.slices),
            "seconds": round(self.spent, 3),
            "flops_per_sentence": round(sum(s["flops"] for s in self.slices)
                                        / sum(s["sentences"] for s in self.slices)),
            "per_slice": [{"sentences_per_s": round(s["sentences_per_s"], 1),
                           "probe_ms": [round(p, 1) for p in s["probe_ms"]],
                           "calm": s in calm} for s in self.slices],
        }


def run_benchmark(cfg: BenchConfig, log: Callable[[str], None] = lambda m: None) -> dict:
    """Runs the benchmark and returns its report (JSON-ready; see :func:`format_table`).

    Raises:
        BenchError: an unknown device or configuration, or ``cuda`` without CUDA.
    """
    device = _resolve_device(cfg.device)
    names = tuple(cfg.configs or CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise BenchError(f"unknown configuration {unknown[0]!r}; known: {', '.join(CONFIGS)}")
    if not cfg.batch_sizes or min(cfg.batch_sizes) < 1:
        raise BenchError(f"batch sizes must be positive integers, got {cfg.batch_sizes}")
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, device, names, log)
    finally:
        torch.set_num_threads(threads)  # the caller's setting again


def _run(cfg: BenchConfig, device: torch.device, names: tuple,
         log: Callable[[str], None]) -> dict:
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    machine = _machine_info(device)
    with warnings.catch_warnings():
        # DGL warns on every frontier without edges (the leaves) in prop_nodes_topo; PyTorch on
        # sparse gradients without invariant checks (the trainer's sparse embeddings).
        warnings.filterwarnings("ignore", message=".*does not contain valid edges")
        warnings.filterwarnings("ignore", message="Sparse invariant checks")
        data = _load_data(cfg, log)
        plans = [plan_tree(t, data.vocab) for t in data.trees]
        series, skipped, configs = [], {}, {}
        for name in names:
            try:
                w = _build_workload(name, cfg, data, plans, device)
            except TreernnError as exc:  # e.g. a CPU-only DGL build with --device cuda
                skipped[name] = str(exc)
                log(f"bench: {name} skipped: {exc}")
                continue
            configs[name] = CONFIGS[name] + (f" ({w.note})" if w.note else "")
            train_step, infer_step = _steps(w)
            for B in cfg.batch_sizes:
                series += [_Series(w, B, "train", train_step), _Series(w, B, "infer", infer_step)]

        H, E = cfg.hidden_dim, cfg.input_dim
        shapes = [(256, 2 * H, 5 * H), (1024, 2 * H, 5 * H), (4096, 2 * H, 5 * H),
                  (4096, E, 3 * H), (2048, 2048, 2048)]
        probe, peaks, factor = _Probe(device), [], cfg.calm_factor
        probe()
        for r in range(10 * max(1, cfg.rounds)):
            t0 = time.perf_counter()
            before = probe()
            peak = matmul_peak(device, shapes, seconds=0.05 if cfg.quick else 0.3, repeats=3)
            peak["probe_ms"] = (before, probe())
            peaks.append(peak)
            for s in series:
                if s.spent < cfg.max_seconds and len(s.calm(probe.best, factor)) < cfg.rounds:
                    s.measure(cfg, device, peak["peak_gflops"], probe)
            took, elapsed = time.perf_counter() - t0, time.perf_counter() - start
            wanting = sum(s.spent < cfg.max_seconds and len(s.calm(probe.best, factor)) < cfg.rounds
                          for s in series)
            log(f"bench: round {r + 1} ({took:.0f} s): matmul peak {peak['peak_gflops']:.1f} "
                f"GFLOP/s, probe best {probe.best:.1f} ms, {wanting} measurements want more "
                "calm slices")
            if not wanting or cfg.time_budget is None or elapsed + took > cfg.time_budget:
                break

    pipeline = _pipeline_throughput(cfg, data, device, log) if cfg.pipeline_sentences else None
    best = probe.best
    calm_peaks = [p for p in peaks if max(p["probe_ms"]) <= factor * best] or peaks
    rows = []
    for s in series:
        if s.phase == "train":
            rows.append({"config": s.workload.name, "batch_size": s.batch_size})
        rows[-1][s.phase] = s.result(best, factor, device)
    for row, s in zip(rows, series[::2]):
        row["infer_over_train"] = round(
            row["infer"]["sentences_per_s"] / row["train"]["sentences_per_s"], 2)
        if s.workload.epoch_items:  # a training epoch at this rate
            row["epoch_items"] = s.workload.epoch_items
            row["epoch_seconds"] = round(s.workload.epoch_items / row["train"]["sentences_per_s"], 2)
    peak = {
        "peak_gflops": round(statistics.median(p["peak_gflops"] for p in calm_peaks), 1),
        "shapes": [dict(m=m, k=k, n=n, gflops=round(statistics.median(
            p["shapes"][i]["gflops"] for p in calm_peaks), 1))
            for i, (m, k, n) in enumerate(shapes)],
        "rounds": [p["peak_gflops"] for p in peaks],
        "calm_rounds": len(calm_peaks) if calm_peaks is not peaks else 0,
    }
    settings = asdict(cfg)
    settings.update(optimizer="AdaGrad (TrainConfig defaults: lr 0.05, embeddings 0.1 with "
                              "sparse gradients, L2 1e-4, clip norm 5)",
                    dropout=0.5, loss_on="every node (trees); the sentence label (bilstm)")
    return {
        "machine": machine,
        "settings": settings,
        "data": {"trees": len(data.trees), "dependency_trees": len(data.dependency_trees),
                 "vocab": len(data.vocab),
                 "mean_nodes": round(float(np.mean([p.n for p in plans])), 1),
                 "mean_tokens": round(float(np.mean([len(t) for t in data.tokens])), 1),
                 **data.timings},
        "configs": configs,
        "matmul_peak": peak,
        "method": ("sentences/s: sentences over the time of their steps (batch building, "
                   "forward, loss, backward, clipping, AdaGrad; inference: batch building and "
                   "forward) in a slice; one slice per round; the median over the calm slices "
                   "(probes around the slice within calm_factor of the best probe)"),
        "probe": {"best_ms": round(best, 2), "calm_factor": factor,
                  "what": "100x (sigmoid + mul) on a 400x150 float32 tensor"},
        "rounds": len(peaks),
        "memory_measure": MEMORY_NOTE_CUDA if device.type == "cuda" else MEMORY_NOTE_CPU,
        "operators_measure": ("operators_per_step: PyTorch operators one step dispatches at the row's "
                              "batch size, views apart (about the kernels a GPU step launches; DGL's own "
                              "kernels not counted); on CUDA also kernels_per_step and gpu_busy_ms_per_step "
                              "(torch.profiler, 3 steps) and gpu_busy_fraction of the step's time at the "
                              "measured rate; counted after the timed slices"),
        "flops_measure": ("matmul FLOPs counted analytically per batch (input projections of "
                          "the token-bearing nodes, per-level recurrent matmuls, softmax head); "
                          "training = 3x forward; native inference without the leaves' "
                          "projections (their states come from a per-word table, rebuilt "
                          "after each training slice, inside the timed slice); share = model "
                          "GFLOP/s over the same round's matmul peak, median over the calm "
                          "slices"),
        "results": rows,
        "skipped": skipped,
        "pipeline": pipeline,
        "ratios": _ratios(rows, cfg.batch_sizes),
        "targets": _targets(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
