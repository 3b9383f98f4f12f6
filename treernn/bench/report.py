"""The benchmark's report: ratios, the issue's targets, the plain-text table, the JSON file."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence


def _rate(rows: list[dict], config: str, B: int, phase: str) -> Optional[float]:
    for r in rows:
        if r["config"] == config and r["batch_size"] == B and phase in r:
            return r[phase]["sentences_per_s"]
    return None


def _ratios(rows: list[dict], batch_sizes: Sequence[int]) -> list[dict]:
    out = []
    pairs = (("tree-lstm-native", "dgl-example"), ("tree-lstm-native", "tree-lstm-dgl"),
             ("tree-lstm-native", "bilstm"), ("tree-lstm-native", "tree-lstm-unfused"),
             ("tree-lstm-unfused", "dgl-example"))
    for B in batch_sizes:
        for a, b in pairs:
            for phase in ("train", "infer"):
                x, y = _rate(rows, a, B, phase), _rate(rows, b, B, phase)
                if x and y:
                    out.append({"what": f"{a} / {b}", "batch_size": B, "phase": phase,
                                "ratio": round(x / y, 2)})
    return out


def _targets(rows: list[dict]) -> list[dict]:
    """The goals checked on this run: issue 6's for the native Tree-LSTM, issue 27's for the
    SICK pair model (an epoch under 10 s)."""
    checks = []

    def add(what: str, value: Optional[float], goal: float, at_most: bool = False) -> None:
        if value is not None:
            checks.append({"target": what, "value": round(value, 2), "goal": goal, "at_most": at_most,
                           "met": bool(value <= goal if at_most else value >= goal)})

    nat = "tree-lstm-native"
    t25, t256 = _rate(rows, nat, 25, "train"), _rate(rows, nat, 256, "train")
    base25, bi256 = _rate(rows, "dgl-example", 25, "train"), _rate(rows, "bilstm", 256, "train")
    add("train B=25 / dgl-example train B=25", t25 / base25 if t25 and base25 else None, 3.0)
    add("issue 31: train B=25 / dgl-example train B=25", t25 / base25 if t25 and base25 else None, 5.0)
    add("train B=25 sentences/s", t25, 1500.0)
    add("train B=256 sentences/s", t256, 2000.0)
    add("train B=256 / bilstm train B=256", t256 / bi256 if t256 and bi256 else None, 1.0)
    for r in rows:
        if r["config"] == nat:
            add(f"infer / train B={r['batch_size']}", r["infer_over_train"], 3.0)
    for r in rows:  # issue 27: an epoch of SICK's training pairs, the trainer's batch of 25
        if r["config"] == "child-sum-sick" and r["batch_size"] == 25:
            add(f"child-sum-sick epoch of {r['epoch_items']:,} pairs, s", r["epoch_seconds"], 10.0, at_most=True)
    return checks


def format_table(report: dict) -> str:
    """The report as a plain-text table, ratios and target checks."""
    m, peak = report["machine"], report["matmul_peak"]
    lines = [
        f"treernn bench on {m['cpu_model']} ({m['cpu_cores']} cores, {m['torch_threads']} torch "
        f"threads), device {m['device']}, torch {m['torch']}, dgl {m['dgl']}; "
        f"{report['rounds']} rounds, probe best {report['probe']['best_ms']:.1f} ms"
        + (f"; fused level kernels {m['fused_levels']}" if "fused_levels" in m else ""),
        f"matmul peak {peak['peak_gflops']:.1f} GFLOP/s ("
        + ", ".join(f"{r['m']}x{r['k']}@{r['k']}x{r['n']}: {r['gflops']:.1f}"
                    for r in peak["shapes"]) + f"; {peak['calm_rounds']} calm rounds)",
        "",
        f"{'config':<17} {'B':>4} {'train sent/s':>13} {'infer sent/s':>13} {'inf/train':>9} "
        f"{'train GF/s':>10} {'%peak':>6} {'infer GF/s':>10} {'%peak':>6} {'mem MB t/i':>11} "
        f"{'calm t/i':>9} {'ops/step t/i':>13}",
    ]

    def mb(x):
        return "n/a" if x is None else f"{x:.0f}"

    for r in report["results"]:
        t, i = r["train"], r["infer"]
        calm = f"{t['calm_slices']}/{t['slices']} {i['calm_slices']}/{i['slices']}"
        lines.append(
            f"{r['config']:<17} {r['batch_size']:>4} {t['sentences_per_s']:>13,.1f} "
            f"{i['sentences_per_s']:>13,.1f} {r['infer_over_train']:>8.2f}x "
            f"{t['model_gflops']:>10.2f} {100 * t['share_of_peak']:>5.1f}% "
            f"{i['model_gflops']:>10.2f} {100 * i['share_of_peak']:>5.1f}% "
            f"{mb(t['peak_memory_mb']) + '/' + mb(i['peak_memory_mb']):>11} {calm:>9} "
            f"{str(t.get('operators_per_step', '-')) + '/' + str(i.get('operators_per_step', '-')):>13}")
        if "gpu_busy_fraction" in t or "gpu_busy_fraction" in i:
            lines.append(f"{'':<17} {'':>4} GPU: train {t.get('kernels_per_step', '-')} kernels, busy "
                         f"{t.get('gpu_busy_ms_per_step', '-')} ms ({t.get('gpu_busy_fraction', '-')} of the step); "
                         f"inference {i.get('kernels_per_step', '-')} kernels, busy {i.get('gpu_busy_ms_per_step', '-')} "
                         f"ms ({i.get('gpu_busy_fraction', '-')})")
    for r in report["results"]:
        if "epoch_seconds" in r:
            lines.append(f"{r['config']:<17} {r['batch_size']:>4} an epoch of {r['epoch_items']:,} items at the "
                         f"train rate: {r['epoch_seconds']:.2f} s")
    for name, why in report["skipped"].items():
        lines.append(f"{name:<17} skipped: {why}")
    pipe = report.get("pipeline")
    if pipe:
        lines += ["", f"pipeline (text in, a label per phrase out; {pipe['sentences']} sentences): "
                      f"{pipe['sentences_per_s']:,.1f} sentences/s; parsing {100 * pipe['parse_share']:.0f}% "
                      f"of the time, model {100 * pipe['model_share']:.0f}% "
                      f"(model alone {pipe['model_sentences_per_s']:,.0f} sentences/s)"]
        if "full_spacy" in pipe:
            full = pipe["full_spacy"]
            lines.append(f"  spaCy with only {', '.join(pipe['components'])}, model on {pipe['model_threads']} "
                         f"thread(s), gc paused: {pipe['speedup_vs_full_spacy']:.2f}x the pipeline as it was "
                         f"(every component, model on {full['model_threads']}, gc on: "
                         f"{full['sentences_per_s']:,.1f} sentences/s, same run)")
    lines += ["", "ratios (same run):"]
    for r in report["ratios"]:
        lines.append(f"  {r['what']:<38} B={r['batch_size']:<4} {r['phase']:<5} {r['ratio']:.2f}x")
    if report["targets"]:
        lines += ["", "targets:"]
    for c in report["targets"]:
        lines.append(f"  {c['target']:<46} {c['value']:>10,.2f}  goal {'<=' if c.get('at_most') else '>='} "
                     f"{c['goal']:,.0f}  {'met' if c['met'] else 'MISSED'}")
    lines += ["", f"method: {report['method']}; calm t/i: calm slices of all (train, infer); "
                  "a result without calm slices is the median of all its slices",
              "bilstm: loss on the sentence label only; child-sum-sick: pairs/s (two sentences each), "
              "an epoch = SICK's training pairs at the train rate",
              f"memory: {report['memory_measure']}",
              f"FLOPs: {report['flops_measure']}",
              f"total {report['total_seconds']:.0f} s"]
    return "\n".join(lines)


def write_json(report: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
