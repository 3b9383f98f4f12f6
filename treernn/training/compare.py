"""``treernn compare``: train several models for several seeds on one experiment and write a
Markdown table, a JSON file and a learning-curve plot.

Each run is a normal model directory under ``OUT/runs/<experiment>/<model>-seed<k>``; a run
whose ``metrics.json`` exists is not trained again, so an interrupted comparison continues
where it stopped.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn.training.run import ConfigError, resolve_config, train


@dataclass(frozen=True)
class Preset:
    """A model of an experiment: a registered encoder with its settings."""

    encoder: str
    settings: dict = field(default_factory=dict)
    label: str = ""


# SST settings after Tai et al. (2015), Table 1: hidden sizes chosen to match parameter counts.
SST_PRESETS = {
    "lstm": Preset("lstm", {"model.hidden_dim": 168}, "LSTM"),
    "bilstm": Preset("bilstm", {"model.hidden_dim": 168}, "BiLSTM"),
    "lstm-2layer": Preset("lstm-2layer", {"model.hidden_dim": 108}, "2-layer LSTM"),
    "bilstm-2layer": Preset("bilstm-2layer", {"model.hidden_dim": 108}, "2-layer BiLSTM"),
    "rnn": Preset("rnn", {"model.hidden_dim": 150}, "Recursive NN"),
    # Socher et al.'s RNTN settings (d = 25, AdaGrad lr 0.01). AdaGrad moves each of the
    # tensor's 4H^3 entries by about lr per step however small its gradient; at H = 50 and lr
    # 0.05 that noise saturated every root (23% dev accuracy, measured), at H = 25, lr 0.01 it learns.
    "rntn": Preset("rntn", {"model.hidden_dim": 25, "trainer.lr": 0.01}, "RNTN"),
    "child-sum-tree-lstm": Preset("child-sum-tree-lstm", {"model.hidden_dim": 168, "data.parse": "spacy"},
                                  "Dependency Tree-LSTM (Child-Sum, spaCy parses)"),
    "tree-lstm": Preset("tree-lstm", {"model.hidden_dim": 150}, "Constituency Tree-LSTM (N-ary)"),
}

# Published test accuracy (fine-grained, binary): Tai et al. 2015 Table 2; Socher et al. 2013.
PUBLISHED = {
    "lstm": (46.4, 84.9), "bilstm": (49.1, 87.5), "lstm-2layer": (46.0, 86.3),
    "bilstm-2layer": (48.5, 87.2), "rnn": (43.2, 82.4), "rntn": (45.7, 85.4),
    "child-sum-tree-lstm": (48.4, 85.7), "tree-lstm": (51.0, 88.0),
}

AMBIGUITY_PRESETS = {
    "tree-lstm": Preset("tree-lstm", {}, "Tree-LSTM (N-ary)"),
    "child-sum-tree-lstm": Preset("child-sum-tree-lstm", {}, "Child-Sum Tree-LSTM"),
    "rnn": Preset("rnn", {}, "Recursive NN"),
    # Adam at 0.01 moves every entry of the tensor by ~0.01 a step: the RNTN then stays at
    # chance on attach (52%, measured); at 0.001 it learns it (100% dev).
    "rntn": Preset("rntn", {"trainer.lr": 0.001}, "RNTN"),
    "lstm": Preset("lstm", {}, "LSTM"),
    "bilstm": Preset("bilstm", {}, "BiLSTM"),
    "gru": Preset("gru", {}, "GRU"),
    "elman": Preset("elman", {}, "Elman RNN"),
}
AMBIGUITY_DEFAULTS = {"model.input_dim": 50, "model.hidden_dim": 50, "model.dropout": 0.0,
                      "trainer.embedding_optimizer": "same",
                      "trainer.optimizer": "adam", "trainer.lr": 0.01, "trainer.epochs": 8,
                      "trainer.patience": 3, "trainer.batch_size": 25}

EXPERIMENTS = ("sst", "ambiguity")


def _tasks(experiment: str, data_path: Optional[str], vectors: Optional[str]) -> list[tuple[str, dict]]:
    """(task name, settings) of an experiment."""
    if experiment == "sst":
        base = {"data.corpus": "sst", "data.path": data_path, "data.vectors": vectors}
        return [("fine", {**base, "data.classes": 5}), ("binary", {**base, "data.classes": 2})]
    if experiment == "ambiguity":
        return [("arith", {"data.corpus": "ambiguity-arith", "data.path": data_path, **AMBIGUITY_DEFAULTS}),
                ("attach", {"data.corpus": "ambiguity-attach", "data.path": data_path, **AMBIGUITY_DEFAULTS})]
    raise ConfigError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


def compare(experiment: str, models: Optional[Sequence[str]] = None, seeds: int = 1,
            out: Path = Path("runs/compare"), data_path: Optional[str] = None,
            vectors: Optional[str] = None, overrides: Sequence[tuple[str, str]] = (),
            log: Callable[[str], None] = print) -> dict:
    """Train every model for every seed on every task of ``experiment``; write
    ``OUT/<experiment>.md``, ``OUT/<experiment>.json`` and ``OUT/<experiment>-curves.png``."""
    presets = SST_PRESETS if experiment == "sst" else AMBIGUITY_PRESETS
    tasks = _tasks(experiment, data_path, vectors)
    models = list(models or presets)
    unknown = [m for m in models if m not in presets]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown} for {experiment}; known: {', '.join(presets)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    out = Path(out)
    results: dict = {"experiment": experiment, "seeds": seeds, "runs": {}}
    for task, task_settings in tasks:
        for name in models:
            preset = presets[name]
            for seed in range(seeds):
                run_dir = out / "runs" / experiment / task / f"{name}-seed{seed}"
                key = f"{task}/{name}/{seed}"
                if (run_dir / "metrics.json").exists():
                    metrics = json.loads((run_dir / "metrics.json").read_text())
                else:
                    settings = {**task_settings, "model.encoder": preset.encoder, **preset.settings,
                                "trainer.seed": seed, "trainer.progress": False}
                    pairs = [(k, str(v)) for k, v in settings.items() if v is not None]
                    config = resolve_config(None, pairs + list(overrides))
                    log(f"== {experiment} {task}: {name}, seed {seed}")
                    metrics = train(config, run_dir, log=lambda m: None)
                history = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
                metrics["curve"] = [r["dev"]["accuracy"] for r in history]
                results["runs"][key] = metrics
                log(f"   {key}: test accuracy {metrics['test']['accuracy']:.4f}")
    results["table"] = _summarise(results, tasks, models)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{experiment}.json").write_text(json.dumps(results, indent=2))
    markdown = _markdown(experiment, results["table"], models, presets, seeds)
    (out / f"{experiment}.md").write_text(markdown)
    _plot(out / f"{experiment}-curves.png", results, tasks, models, presets)
    log(markdown)
    return results


def _summarise(results: dict, tasks, models) -> dict:
    table: dict = {}
    for task, _ in tasks:
        for name in models:
            runs = [v for k, v in results["runs"].items() if k.startswith(f"{task}/{name}/")]
            row = {}
            for split in [s for s in runs[0] if isinstance(runs[0][s], dict) and "accuracy" in runs[0][s]]:
                row[split] = _mean_std([100 * r[split]["accuracy"] for r in runs])
                if "ambiguous_accuracy" in runs[0][split]:
                    row[f"{split}_ambiguous"] = _mean_std([100 * r[split]["ambiguous_accuracy"] for r in runs])
            row["epochs"] = statistics.fmean(r["epochs_run"] for r in runs)
            row["train_seconds"] = statistics.fmean(r["train_seconds"] for r in runs)
            row["parameters"] = runs[0]["parameters"]
            table.setdefault(task, {})[name] = row
    return table


def _fmt(ms) -> str:
    return f"{ms[0]:.1f} ± {ms[1]:.1f}"


def _markdown(experiment: str, table: dict, models, presets, seeds: int) -> str:
    lines = []
    if experiment == "sst":
        lines += [f"Test accuracy (%), mean ± std over {seeds} seed(s); published numbers from Tai et al. "
                  "(2015) and Socher et al. (2013).", "",
                  "| model | fine-grained | binary | published fine | published binary | params (fine) | s/run |",
                  "|---|---|---|---|---|---|---|"]
        for name in models:
            fine, binary = table["fine"][name], table["binary"][name]
            pub = PUBLISHED.get(name, (float("nan"),) * 2)
            lines.append(f"| {presets[name].label} | {_fmt(fine['test'])} | {_fmt(binary['test'])} | "
                         f"{pub[0]} | {pub[1]} | {fine['parameters']:,} | "
                         f"{fine['train_seconds'] + binary['train_seconds']:.0f} |")
    else:
        lines += [f"Test accuracy (%), mean ± std over {seeds} seed(s): all test items / ambiguous items only.", "",
                  "| model | arith all | arith ambiguous | arith 5-6 ops | attach all | attach ambiguous |",
                  "|---|---|---|---|---|---|"]
        for name in models:
            a, t = table["arith"][name], table["attach"][name]
            lines.append(f"| {presets[name].label} | {_fmt(a['test'])} | {_fmt(a['test_ambiguous'])} | "
                         f"{_fmt(a['test_long'])} | {_fmt(t['test'])} | {_fmt(t['test_ambiguous'])} |")
    return "\n".join(lines) + "\n"


def _plot(path: Path, results: dict, tasks, models, presets) -> None:
    """Dev accuracy per epoch (mean over seeds), one panel per task."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return  # the table and JSON are written; the plot needs matplotlib (pip install .[plot])
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
    for ax, (task, _) in zip(axes[0], tasks):
        for name in models:
            curves = [v["curve"] for k, v in results["runs"].items() if k.startswith(f"{task}/{name}/")]
            n = min(len(c) for c in curves)
            mean = [statistics.fmean(c[i] for c in curves) * 100 for i in range(n)]
            ax.plot(range(1, n + 1), mean, marker="o", label=presets[name].label)
        ax.set_title(task)
        ax.set_xlabel("epoch")
        ax.set_ylabel("dev accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
