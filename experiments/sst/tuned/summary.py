"""Issue 28's SST tables for the manual, from what `run.py tables` wrote (`compare sst` and
`compare sst-structure` over the tuned runs: sst.json, sst-structure.json), the untuned table
(experiments/sst/sst.json) and the studies (experiments/sst/tuning/summary.json):

    python experiments/sst/tuned/summary.py      # writes experiments/sst/tuned/summary.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SST = HERE.parent

TUNED = ["lstm", "bilstm", "bilstm-2layer", "bilstm-phrases", "child-sum-tree-lstm", "tree-lstm"]
LABELS = {"lstm": "LSTM", "bilstm": "BiLSTM", "bilstm-2layer": "2-layer BiLSTM",
          "bilstm-phrases": "BiLSTM, trained on every phrase", "child-sum-tree-lstm": "Dependency Tree-LSTM (Child-Sum)",
          "tree-lstm": "Constituency Tree-LSTM (N-ary)",
          "tree-lstm-root": "Tree-LSTM, SST's trees, sentence label only",
          "tree-lstm-root-spacy": "Tree-LSTM, spaCy's parses (binarized), sentence label only",
          "tree-lstm-root-balanced": "Tree-LSTM, balanced trees, sentence label only",
          "tree-lstm-root-left": "Tree-LSTM, left-branching trees, sentence label only",
          "tree-lstm-root-right": "Tree-LSTM, right-branching trees, sentence label only",
          "tree-lstm-root-long": "Tree-LSTM, SST's trees, sentence label only, up to 20 epochs",
          "tree-lstm-root-balanced-long": "Tree-LSTM, balanced trees, sentence label only, up to 20 epochs"}
STRUCTURE_LABELS = {**LABELS, "tree-lstm": "Tree-LSTM, SST's trees, every phrase label (the tuned row)",
                    "lstm": "LSTM, sentence label (the tuned row)", "bilstm": "BiLSTM, sentence label (the tuned row)"}
WHAT = {("tree-lstm", "tree-lstm-root"): "what the phrase labels add (the same trees)",
        ("tree-lstm-root", "tree-lstm-root-balanced"): "syntax over hierarchy alone",
        ("tree-lstm-root", "tree-lstm-root-spacy"): "SST's trees over a parser's",
        ("tree-lstm-root-balanced", "tree-lstm-root-left"): "balanced over left-branching",
        ("tree-lstm-root-balanced", "tree-lstm-root-right"): "balanced over right-branching",
        ("tree-lstm-root-balanced", "bilstm"): "hierarchy alone over a chain (BiLSTM)",
        ("tree-lstm", "bilstm-phrases"): "the tree over a chain with the same phrase labels",
        ("tree-lstm", "child-sum-tree-lstm"): "constituency over dependency trees",
        ("bilstm-phrases", "bilstm"): "what the phrase labels give the BiLSTM",
        ("tree-lstm-root-long", "tree-lstm-root-balanced-long"): "syntax over hierarchy alone, room to train",
        ("tree-lstm", "tree-lstm-root-long"): "what the phrase labels add, the other with room to train"}


def fmt(ms) -> str:
    return f"{ms[0]:.1f} ± {ms[1]:.1f} ({ms[2]:.1f}-{ms[3]:.1f})"


def p(value: float) -> str:
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def test_text(t: dict) -> str:
    return f"{t['difference']:+.2f} ({t['ci95'][0]:+.2f} to {t['ci95'][1]:+.2f}), p = {p(t['p_value'])}"


def tests_of(results: dict, task: str) -> dict:
    return {(t["model"], t["against"]): t for t in results.get("significance", {}).get(task, {}).get("tests", [])}


def main() -> int:
    sys.path.insert(0, str(SST.parents[1]))
    from treernn.training.presets import PUBLISHED

    tuned = json.loads((HERE / "sst.json").read_text())
    untuned = json.loads((SST / "sst.json").read_text())["table"]
    studies = json.loads((SST / "tuning" / "summary.json").read_text())
    fine, binary = tuned["table"]["fine"], tuned["table"].get("binary", {})
    t_fine, t_bin = tests_of(tuned, "fine"), tests_of(tuned, "binary")
    ref_fine = tuned["significance"]["fine"]["reference"]
    ref_bin = tuned["significance"].get("binary", {}).get("reference")
    lines = [
        "SST test accuracy (%), mean ± std (min-max) over seeds 0-4, GloVe 6B 50-d; published: Tai et al. (2015), "
        "Table 2 (GloVe 840B 300-d); untuned: the table of Tai et al.'s settings (experiments/sst/sst.json); "
        f"tuned: each model's best trial of 12 on fine-grained dev, then 5 seeds; paired tests against the best "
        f"sequence model of each task (fine-grained: {LABELS.get(ref_fine, ref_fine)}; binary: "
        f"{LABELS.get(ref_bin, ref_bin)}): difference in points (95% CI), p; tuning: the 12 trials' minutes.", "",
        "| model | published fine / binary | untuned fine / binary | tuned fine | tuned binary | fine: vs best sequence model "
        "| binary: vs best sequence model | tuning (min) |",
        "|---|---|---|---|---|---|---|---|"]
    for name in TUNED:
        pub = PUBLISHED.get(name)
        pub = f"{pub[0]} / {pub[1]}" if pub else "–"
        un_f, un_b = untuned["fine"].get(name), untuned["binary"].get(name)
        un = f"{un_f['test'][0]:.1f} / {un_b['test'][0]:.1f}" if un_f and un_b else "–"
        tf = fmt(fine[name]["test"]) if name in fine else "not run"
        tb = fmt(binary[name]["test"]) if name in binary else "not run yet"
        sf = test_text(t_fine[(name, ref_fine)]) if (name, ref_fine) in t_fine else "(the reference)"
        sb = (test_text(t_bin[(name, ref_bin)]) if (name, ref_bin) in t_bin
              else "(the reference)" if name == ref_bin else "–")
        lines.append(f"| {LABELS[name]} | {pub} | {un} | {tf} | {tb} | {sf} | {sb} | "
                     f"{studies[name]['seconds'] / 60:.0f} |")
    asked = [t for t in tuned["significance"]["fine"]["tests"] if t["why"] == "asked"]
    if asked:
        lines += ["", "Further paired tests, fine-grained:", "", "| comparison | what it isolates | difference (95% CI), p |",
                  "|---|---|---|"]
        lines += [f"| {LABELS.get(t['model'])} against {LABELS.get(t['against'])} | {WHAT.get((t['model'], t['against']), '')} "
                  f"| {test_text(t)} |" for t in asked]
    path = HERE / "sst-structure.json"
    if path.exists():
        structure = json.loads(path.read_text())
        rows = structure["table"]["fine"]
        sig = structure["significance"]["fine"]
        tests = tests_of(structure, "fine")
        ref = sig["reference"]
        lines += ["", f"Structure controls (after Shi et al. 2018), SST fine-grained test accuracy (%), mean ± std "
                      f"(min-max) over seeds 0-4, the constituency Tree-LSTM's tuned recipe throughout; paired tests "
                      f"against the best sequence model ({LABELS.get(ref, ref)}):", "",
                  "| row | test | vs best sequence model |", "|---|---|---|"]
        for name, row in rows.items():
            s = test_text(tests[(name, ref)]) if (name, ref) in tests else "(the reference)"
            lines.append(f"| {STRUCTURE_LABELS.get(name, name)} | {fmt(row['test'])} | {s} |")
        lines += ["", "| comparison | what it isolates | difference (95% CI), p |", "|---|---|---|"]
        lines += [f"| {STRUCTURE_LABELS.get(t['model'])} against {STRUCTURE_LABELS.get(t['against'])} | "
                  f"{WHAT.get((t['model'], t['against']), '')} | {test_text(t)} |"
                  for t in sig["tests"] if t["why"] == "asked"]
    (HERE / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
