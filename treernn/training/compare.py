"""``treernn compare``: train several models for several seeds on one experiment and write a
Markdown table, a JSON file and a learning-curve plot.

Each run is a normal model directory under ``OUT/runs/<experiment>/<model>-seed<k>``; a run
whose ``metrics.json`` exists is not trained again, so an interrupted comparison continues
where it stopped.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from treernn.encoders.presets import get_preset
from treernn.errors import ConfigError
from treernn.training.config import resolve_config
from treernn.training.presets import PUBLISHED, PUBLISHED_SICK, default_models, experiment_tasks, presets as experiment_presets
from treernn.training.run import PREDICTIONS, evaluate_dir, train
from treernn.training.significance import paired_test


def _mean_std(values: Sequence[float]) -> tuple[float, float, float, float]:
    """(mean, std, min, max) over seeds."""
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
            min(values), max(values))


def compare(experiment: str, models: Optional[Sequence[str]] = None, seeds: int = 1,
            out: Path = Path("runs/compare"), data_path: Optional[str] = None,
            vectors: Optional[str] = None, overrides: Sequence[tuple[str, Any]] = (),
            log: Callable[[str], None] = print, against: Sequence[tuple[str, str]] = (),
            only_tasks: Optional[Sequence[str]] = None) -> dict:
    """Train every model for every seed on every task of ``experiment``; write
    ``OUT/<experiment>.md``, ``OUT/<experiment>.json`` and ``OUT/<experiment>-curves.png``
    (``text:PATH``: ``OUT/text-<file name>.*``; every seed trains on the same split).

    ``overrides``: ``("section.key", value)`` pairs applied to every run after the presets
    (text from the command line, or typed values).

    Significance: every model against the best sequence model of the comparison (by mean test
    score), and each ``against`` pair (A, B), by :func:`~treernn.training.significance.paired_test`
    on the test items with every seed's predictions (``predictions-test.jsonl`` of each run)."""
    presets = experiment_presets(experiment)
    tasks = experiment_tasks(experiment, data_path, vectors)
    if only_tasks:  # --tasks: some of the experiment's tasks
        names = [t for t, _ in tasks]
        unknown = [t for t in only_tasks if t not in names]
        if unknown:
            raise ConfigError(f"--tasks: {experiment} has no task {unknown[0]!r}, got {','.join(only_tasks)}; its tasks: "
                              f"{', '.join(names)}")
        tasks = [(t, s) for t, s in tasks if t in only_tasks]
    models = list(models or default_models(experiment))
    name_of = experiment_file_name(experiment)
    unknown = [m for m in models if m not in presets]
    if unknown:
        raise ConfigError(f"unknown model(s) for {experiment}, got {', '.join(unknown)}; "
                          f"use some of {', '.join(presets)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}; e.g. --seeds 3")
    for a, b in against:
        if a not in models or b not in models or a == b:
            raise ConfigError(f"--against takes two different compared models A:B, got {a}:{b}; compared: "
                              f"{', '.join(models)}")
    # every run's configuration is checked before the first one trains
    configs = {}
    for task, task_settings in tasks:
        for name in models:
            for seed in range(seeds):
                settings = {**task_settings, "model.encoder": presets[name].encoder, **presets[name].settings,
                            "trainer.seed": seed, "trainer.progress": False}
                pairs = list(settings.items())  # None is a value too (no patience, no path)
                configs[(task, name, seed)] = resolve_config(None, pairs + list(overrides))
    out = Path(out)
    results: dict = {"experiment": experiment, "seeds": seeds, "runs": {}}
    for task, task_settings in tasks:
        for name in models:
            for seed in range(seeds):
                run_dir = out / "runs" / name_of / task / f"{name}-seed{seed}"
                key = f"{task}/{name}/{seed}"
                if (run_dir / "metrics.json").exists():
                    metrics = json.loads((run_dir / "metrics.json").read_text())
                else:
                    log(f"== {name_of} {task}: {name}, seed {seed}")
                    metrics = train(configs[(task, name, seed)], run_dir, log=lambda m: None)
                history = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
                metrics["curve"] = [r["dev"].get("accuracy", r["dev"].get("pearson")) for r in history]
                results["runs"][key] = metrics
                test = metrics["test"]
                log(f"   {key}: test " + (f"Pearson r {test['pearson']:.4f}" if "pearson" in test
                                          else f"accuracy {test['accuracy']:.4f}"))
    results["table"] = _summarise(results, tasks, models)
    results["significance"] = _significance(out / "runs" / name_of, results["table"], tasks, models, seeds,
                                            against, log)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name_of}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    markdown = _markdown(experiment, results["table"], models, presets, seeds, [t for t, _ in tasks])
    markdown += _significance_markdown(results["significance"], presets)
    (out / f"{name_of}.md").write_text(markdown, encoding="utf-8")
    _plot(out / f"{name_of}-curves.png", results, tasks, models, presets)
    log(markdown)
    return results


def experiment_file_name(experiment: str) -> str:
    """The name of an experiment's files: ``sst``, ``ambiguity``, ``text-<file or folder name>``."""
    if experiment.startswith("text:"):
        stem = Path(experiment[5:].rstrip("/")).name.rsplit(".", 1)[0] or "corpus"
        return "text-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)
    return experiment


def _summarise(results: dict, tasks, models) -> dict:
    table: dict = {}
    for task, _ in tasks:
        for name in models:
            runs = [v for k, v in results["runs"].items() if k.startswith(f"{task}/{name}/")]
            row = {}
            for split in [s for s in runs[0] if isinstance(runs[0][s], dict) and "pearson" in runs[0][s]]:
                for metric in ("pearson", "spearman", "mse"):
                    row[f"{split}_{metric}"] = _mean_std([r[split][metric] for r in runs])
            for split in [s for s in runs[0] if isinstance(runs[0][s], dict) and "accuracy" in runs[0][s]]:
                row[split] = _mean_std([100 * r[split]["accuracy"] for r in runs])
                if "ambiguous_accuracy" in runs[0][split]:
                    row[f"{split}_ambiguous"] = _mean_std([100 * r[split]["ambiguous_accuracy"] for r in runs])
            row["epochs"] = statistics.fmean(r["epochs_run"] for r in runs)
            row["train_seconds"] = statistics.fmean(r["train_seconds"] for r in runs)
            row["parameters"] = runs[0]["parameters"]
            table.setdefault(task, {})[name] = row
    return table


def _predictions(run_dir: Path) -> list[dict]:
    """A run's test predictions (made now for a run trained before they were written)."""
    path = run_dir / PREDICTIONS
    if not path.exists():
        evaluate_dir(run_dir, split="test", device="cpu", log=lambda m: None, predictions=path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _significance(runs_dir: Path, table: dict, tasks, models, seeds: int, against: Sequence[tuple[str, str]],
                  log: Callable[[str], None]) -> dict:
    """Per task: paired tests of every model against the best sequence model, and of the
    ``against`` pairs."""
    out: dict = {}
    for task, _ in tasks:
        metric = "pearson" if "test_pearson" in table[task][models[0]] else "accuracy"
        preds = {name: [_predictions(runs_dir / task / f"{name}-seed{k}") for k in range(seeds)] for name in models}
        gold = None
        if metric == "accuracy":  # items with a gold label (binary SST: not the neutral sentences)
            keep = [i for i, row in enumerate(preds[models[0]][0]) if "correct" in row]
            values = {n: np.array([[float(rows[i]["correct"]) for i in keep] for rows in runs])
                      for n, runs in preds.items()}
        else:
            values = {n: np.array([[row["predicted"] for row in rows] for rows in runs]) for n, runs in preds.items()}
            gold = np.array([row["gold"] for row in preds[models[0]][0]], dtype=float)

        def score(name: str) -> float:
            return table[task][name]["test_pearson" if metric == "pearson" else "test"][0]

        sequence = [n for n in models if get_preset(_encoder(runs_dir / task / f"{n}-seed0")).kind == "sequence"]
        pairs = []
        reference = max(sequence, key=score) if sequence else None
        if reference is not None:
            pairs += [(n, reference, "best sequence model") for n in models if n != reference]
        pairs += [(a, b, "asked") for a, b in against if (a, b, "best sequence model") not in pairs]
        tests = []
        for a, b, why in pairs:
            result = paired_test(values[a], values[b], metric, gold)
            tests.append({"model": a, "against": b, "why": why, **result})
            log(f"   {task}: {a} - {b}: {result['difference']:+.4f} (95% CI {result['ci95'][0]:+.4f} to "
                f"{result['ci95'][1]:+.4f}), p = {result['p_value']:.4f}")
        out[task] = {"metric": metric, "reference": reference, "tests": tests}
    return out


def _encoder(run_dir: Path) -> str:
    return json.loads((run_dir / "config.json").read_text())["model"]["encoder"]


def _significance_markdown(significance: dict, presets) -> str:
    lines = []
    for task, entry in significance.items():
        if not entry["tests"]:
            continue
        unit = "Pearson r" if entry["metric"] == "pearson" else "accuracy points"
        lines += ["", f"Paired tests, {task}, test items ({entry['tests'][0]['items']:,}; every seed's predictions): "
                      f"difference in {unit}, its 95% CI (paired bootstrap) and p (approximate randomization, "
                      f"{entry['tests'][0]['resamples']:,} resamples).", "",
                  "| model | against | difference | 95% CI | p |", "|---|---|---|---|---|"]
        digits = 4 if entry["metric"] == "pearson" else 2
        for t in entry["tests"]:
            label = presets[t["model"]].label if t["model"] in presets else t["model"]
            other = presets[t["against"]].label if t["against"] in presets else t["against"]
            lines.append(f"| {label} | {other} | {t['difference']:+.{digits}f} | {t['ci95'][0]:+.{digits}f} to "
                         f"{t['ci95'][1]:+.{digits}f} | {_p(t['p_value'])} |")
    return "\n".join(lines) + ("\n" if lines else "")


def _p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _fmt(ms) -> str:
    """``mean ± std``, with ``(min-max)`` over several seeds."""
    text = f"{ms[0]:.1f} ± {ms[1]:.1f}"
    return text + f" ({ms[2]:.1f}-{ms[3]:.1f})" if len(ms) > 2 and ms[2] != ms[3] else text


def _fmt4(ms) -> str:
    """``mean ± std (min-max)`` of a correlation or an error, 4 decimals."""
    text = f"{ms[0]:.4f} ± {ms[1]:.4f}"
    return text + f" ({ms[2]:.4f}-{ms[3]:.4f})" if len(ms) > 2 and ms[2] != ms[3] else text


def _markdown(experiment: str, table: dict, models, presets, seeds: int, tasks: Sequence[str] = ()) -> str:
    lines = []
    if experiment == "sick":
        lines += [f"SICK relatedness, test (4,906 pairs): mean ± std (min-max) over {seeds} seed(s); published: "
                  "Tai et al. (2015), Table 3 (GloVe 840B 300-d).", "",
                  "| model | Pearson r | Spearman rho | MSE | published r / rho / MSE | params | s/run |",
                  "|---|---|---|---|---|---|---|"]
        for name in models:
            row = table["relatedness"][name]
            pub = " / ".join(f"{v:.4f}" for v in PUBLISHED_SICK[name]) if name in PUBLISHED_SICK else "–"
            lines.append(f"| {presets[name].label} | {_fmt4(row['test_pearson'])} | {_fmt4(row['test_spearman'])} | "
                         f"{_fmt4(row['test_mse'])} | {pub} | {row['parameters']:,} | {row['train_seconds']:.0f} |")
    elif experiment == "sick-entailment":
        lines += [f"SICK entailment, test accuracy (%): mean ± std (min-max) over {seeds} seed(s).", "",
                  "| model | dev | test | params | s/run |", "|---|---|---|---|---|"]
        for name in models:
            row = table["entailment"][name]
            lines.append(f"| {presets[name].label} | {_fmt(row['dev'])} | {_fmt(row['test'])} | "
                         f"{row['parameters']:,} | {row['train_seconds']:.0f} |")
    elif experiment.startswith("text:"):
        lines += _dev_test_table(f"{experiment[5:]}: accuracy (%), mean ± std (min-max) over {seeds} seed(s), the "
                                 "same split for every seed (--data.split_seed).", table["text"], models, presets)
    elif experiment == "sst-structure":
        lines += _dev_test_table(f"SST fine-grained, structure controls: test accuracy (%), mean ± std (min-max) "
                                 f"over {seeds} seed(s); the constituency Tree-LSTM's recipe throughout.",
                                 table["fine"], models, presets)
    elif experiment == "sst":
        lines += [f"Test accuracy (%), mean ± std (min-max) over {seeds} seed(s); published numbers from Tai et al. "
                  "(2015) and Socher et al. (2013).", "",
                  "| model | fine-grained | binary | published fine | published binary | params (fine) | s/run |",
                  "|---|---|---|---|---|---|---|"]
        for name in models:
            rows = [table[t][name] for t in ("fine", "binary") if t in table]  # --tasks may leave one out
            cells = [_fmt(table[t][name]["test"]) if t in table else "–" for t in ("fine", "binary")]
            pub = PUBLISHED.get(name, ("–", "–"))
            lines.append(f"| {presets[name].label} | {cells[0]} | {cells[1]} | "
                         f"{pub[0]} | {pub[1]} | {rows[0]['parameters']:,} | "
                         f"{sum(r['train_seconds'] for r in rows):.0f} |")
    else:
        columns = [(task, key, head) for task in tasks for key, head in
                   (("test", "all"), ("test_ambiguous", "ambiguous"), ("test_long", "5-6 ops"))
                   if key in table[task][models[0]]]
        lines += [f"Test accuracy (%), mean ± std (min-max) over {seeds} seed(s): all test items / ambiguous items only"
                  + (" (zh: 两个外语学院的学生, test phrases of unseen noun combinations)." if "zh" in tasks else "."), "",
                  "| model | " + " | ".join(f"{task} {head}" for task, _, head in columns) + " |",
                  "|---" * (len(columns) + 1) + "|"]
        for name in models:
            lines.append(f"| {presets[name].label} | "
                         + " | ".join(_fmt(table[task][name][key]) for task, key, _ in columns) + " |")
    return "\n".join(lines) + "\n"


def _dev_test_table(title: str, rows: dict, models, presets) -> list[str]:
    """A caption and a table of dev and test accuracy, parameters, epochs and seconds per model."""
    lines = [title, "", "| model | dev | test | params | epochs | s/run |", "|---|---|---|---|---|---|"]
    for name in models:
        row = rows[name]
        lines.append(f"| {presets[name].label} | {_fmt(row['dev'])} | {_fmt(row['test'])} | "
                     f"{row['parameters']:,} | {row['epochs']:.1f} | {row['train_seconds']:.0f} |")
    return lines


def _plot(path: Path, results: dict, tasks, models, presets) -> None:
    """Dev accuracy per epoch (mean over seeds), one panel per task."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return  # the table and JSON are written; the plot needs matplotlib (pip install .[plot])
    # A Figure of its own, not pyplot: no global backend switch, no figure registry.
    fig = Figure(figsize=(6 * len(tasks), 4))
    axes = fig.subplots(1, len(tasks), squeeze=False)
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
