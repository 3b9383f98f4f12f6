"""Issue 28's SST tables from the tuned recipes (the SST presets after `treernn tune`): every
tuned model on 5 seeds, fine-grained and binary (`compare sst`), and the structure controls on 5
seeds, fine-grained (`compare sst-structure`). Two one-thread workers share the runs through
claim files; a run a stopped session left half done resumes from its checkpoint; the run
directories are compare's (experiments/sst/tuned/runs/<experiment>/<task>/<model>-seed<k>, their
records committed, weights not), so the tables come from `treernn compare` reusing them.

    python experiments/sst/tuned/run.py work &       # twice: two workers, resumable
    python experiments/sst/tuned/run.py tables       # compare sst / sst-structure over the runs
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED = ROOT.parent / "shared"
SST = SHARED / "corpora" / "sst"
VECTORS = SHARED / "vectors" / "glove.6B.50d.sst.txt"
SEEDS = range(5)
TUNED = ["lstm", "bilstm", "bilstm-2layer", "bilstm-phrases", "child-sum-tree-lstm", "tree-lstm"]
STRUCTURE = ["tree-lstm", "tree-lstm-root", "tree-lstm-root-spacy", "tree-lstm-root-balanced",
             "tree-lstm-root-left", "tree-lstm-root-right", "tree-lstm-root-long", "tree-lstm-root-balanced-long",
             "lstm", "bilstm"]
BINARY_ORDER = ["tree-lstm", "lstm", "child-sum-tree-lstm", "bilstm", "bilstm-2layer", "bilstm-phrases"]
SAME_AS_SST = {"tree-lstm", "lstm", "bilstm"}  # structure rows whose run is sst's fine-grained one


def units() -> list[tuple[str, str, str, int]]:
    """(experiment, task, model, seed), in the order the workers take them."""
    out = [("sst", "fine", m, s) for s in SEEDS for m in TUNED]
    out += [("sst-structure", "fine", m, s) for s in SEEDS for m in STRUCTURE if m not in SAME_AS_SST]
    # (the -long rows, added after the first pass, are in the list above; they run before binary)
    # binary model by model, the quick ones first: a session that ends part-way leaves whole rows
    out += [("sst", "binary", m, s) for m in BINARY_ORDER for s in SEEDS]
    out += [("sst-structure", "fine", m, s) for s in SEEDS for m in STRUCTURE if m in SAME_AS_SST]
    return out


def run_dir(experiment: str, task: str, model: str, seed: int) -> Path:
    return HERE / "runs" / experiment / task / f"{model}-seed{seed}"


def work() -> None:
    import torch

    from treernn.training.config import resolve_config
    from treernn.training.presets import experiment_tasks, presets
    from treernn.storage import claim_file
    from treernn.training.run import train

    torch.set_num_threads(1)
    for experiment, task, model, seed in units():
        out = run_dir(experiment, task, model, seed)
        if (out / "metrics.json").exists():
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        claim = out.parent / f"{out.name}.claim"
        if not claim_file(claim):
            continue
        try:
            if experiment == "sst-structure" and model in SAME_AS_SST:
                same = run_dir("sst", "fine", model, seed)
                if not (same / "metrics.json").exists():
                    continue  # sst's run is not done yet: a later pass copies it
                shutil.copytree(same, out, dirs_exist_ok=True)
                print(f"== {experiment} {task} {model} seed {seed}: the sst run's copy", flush=True)
                continue
            task_settings = dict(experiment_tasks(experiment, str(SST), str(VECTORS)))[task]
            preset = presets(experiment)[model]
            settings = {**task_settings, "model.encoder": preset.encoder, **preset.settings, "trainer.seed": seed,
                        "trainer.progress": False, "run.device": "cpu"}
            resume = (out / "trainer_state.json").exists()
            print(f"== {experiment} {task} {model} seed {seed}" + (" (resumed)" if resume else ""), flush=True)
            metrics = train(None if resume else resolve_config(None, list(settings.items())), out, resume=resume,
                            log=lambda m: None)
            print(f"   test {metrics['test']['accuracy']:.4f} ({metrics['train_seconds']:.0f} s)", flush=True)
        finally:
            claim.unlink(missing_ok=True)


def tables() -> None:
    treernn = str(ROOT / ".venv" / "bin" / "treernn")
    common = ["--seeds", "5", "--out", str(HERE), "--data-path", str(SST), "--vectors", str(VECTORS), "--device", "cpu"]
    # beside each row's test against the best sequence model: the tree against the BiLSTM that also
    # learns from every phrase and against the Child-Sum model; what the phrases give the BiLSTM
    subprocess.run([treernn, "compare", "sst", "--models", ",".join(TUNED),
                    "--against", "tree-lstm:bilstm-phrases,tree-lstm:child-sum-tree-lstm,bilstm-phrases:bilstm"]
                   + common, check=True)
    # what the phrase labels add (same trees), syntax against hierarchy alone (SST's trees against
    # balanced ones), a parser's trees against SST's, the branching shapes, hierarchy against a chain
    subprocess.run([treernn, "compare", "sst-structure", "--models", ",".join(STRUCTURE), "--against",
                    "tree-lstm:tree-lstm-root,tree-lstm-root:tree-lstm-root-balanced,"
                    "tree-lstm-root:tree-lstm-root-spacy,tree-lstm-root-balanced:tree-lstm-root-left,"
                    "tree-lstm-root-balanced:tree-lstm-root-right,tree-lstm-root-balanced:bilstm,"
                    "tree-lstm-root-long:tree-lstm-root-balanced-long,tree-lstm:tree-lstm-root-long"] + common, check=True)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "work":
        work()
    elif what == "tables":
        tables()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
