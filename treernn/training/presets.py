"""Experiment presets and published numbers, in one place (``treernn compare``).

Each experiment model is a registered encoder with typed settings (``section.key`` -> value)
applied over the defaults; an experiment's tasks add their own settings. Torch-free, so the
command line can list the names without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from treernn.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """A model of an experiment: a registered encoder with its settings."""

    encoder: str
    settings: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    matched_hidden: Optional[int] = None  # the parameter-matched size a tuned hidden size was searched around


PHRASES = {"data.phrases": True, "trainer.batch_tokens": 1000}

# SST settings. Untuned (Tai et al. 2015, Table 1: hidden sizes chosen to match parameter counts;
# the trainer's defaults) unless marked "tuned": those are the best of `treernn tune`'s 12 trials
# on dev, the same space for every model (experiments/sst/tuning/MODEL/best.toml, rounded to 4
# digits; the untuned recipe each replaced is in the comment; docs/experiments.md, "SST: equal tuning").
def _tuned(hidden: int, lr: float, embedding_lr: float, input_dropout: float, dropout: float,
           epochs: int, **more: Any) -> dict[str, Any]:
    return {"model.hidden_dim": hidden, "trainer.lr": lr, "trainer.embedding_lr": embedding_lr,
            "model.input_dropout": input_dropout, "model.dropout": dropout, "trainer.epochs": epochs, **more}


SST_PRESETS = {
    # tuned (was: hidden 168)
    "lstm": Preset("lstm", _tuned(112, 0.07957, 0.4416, 0.4, 0.3, 10), "LSTM", matched_hidden=168),
    # tuned (was: hidden 168)
    "bilstm": Preset("bilstm", _tuned(224, 0.1036, 0.2279, 0.5, 0.0, 12), "BiLSTM", matched_hidden=168),
    "lstm-2layer": Preset("lstm", {"model.hidden_dim": 108, "model.layers": 2}, "2-layer LSTM"),
    # tuned (was: hidden 108)
    "bilstm-2layer": Preset("bilstm", _tuned(72, 0.01233, 0.02039, 0.2, 0.15, 17, **{"model.layers": 2}),
                            "2-layer BiLSTM", matched_hidden=108),
    "rnn": Preset("rnn", {"model.hidden_dim": 150}, "Recursive NN"),
    # Socher et al.'s RNTN recipe, as CoreNLP's trainer (RNNTrainOptions, SentimentModel) runs
    # it: d = 25 word vectors trained from uniform(+-0.001) (no pretrained vectors; a word's
    # vector is its leaf state), every parameter and the words by AdaGrad at 0.01, its sums
    # reset every epoch, L2 1e-3. With Tai et al.'s recipe instead (GloVe 50-d through a leaf
    # transform, words by SGD at 0.1, L2 1e-4) it reached 40.8% dev after 25 epochs; with this
    # one 46.0% by epoch 10 (fine-grained, seed 0, measured; docs/experiments.md, "The RNTN row").
    "rntn": Preset("rntn", {"model.hidden_dim": 25, "model.input_dim": 25, "data.vectors": None,
                            "data.random_vectors_range": 0.001, "data.lowercase": True,
                            "trainer.lr": 0.01, "trainer.embedding_optimizer": "same",
                            "trainer.embedding_lr": 0.01, "trainer.weight_decay": 0.001,
                            "trainer.adagrad_reset": 1}, "RNTN"),
    # tuned (was: hidden 168)
    "child-sum-tree-lstm": Preset("child-sum-tree-lstm", _tuned(224, 0.02210, 0.2861, 0.15, 0.0, 14,
                                                                **{"data.parse": "spacy"}),
                                  "Dependency Tree-LSTM (Child-Sum, spaCy parses)", matched_hidden=168),
    # tuned (was: Tai et al.'s settings plus dropout 0.2 on the word vectors and up to 20 epochs,
    # tuned one change at a time on dev: docs/experiments.md, "Pushing the constituency Tree-LSTM")
    "tree-lstm": Preset("tree-lstm", _tuned(150, 0.03426, 0.3668, 0.25, 0.45, 7), "Constituency Tree-LSTM (N-ary)",
                        matched_hidden=150),
    # The supervision control: sequence models trained on every distinct labeled phrase (Li et
    # al. 2015), the labels tree models learn from. 1,000-token batches of similar length keep
    # an epoch at about 2x a sentence-only epoch (1,170 batches of 159,274 phrases, measured).
    "lstm-phrases": Preset("lstm", {"model.hidden_dim": 168, **PHRASES}, "LSTM, trained on every phrase"),
    # tuned (was: hidden 168)
    "bilstm-phrases": Preset("bilstm", _tuned(224, 0.02075, 0.1733, 0.1, 0.05, 13, **PHRASES),
                             "BiLSTM, trained on every phrase", matched_hidden=168),
    "bilstm-2layer-phrases": Preset("bilstm", {"model.hidden_dim": 108, "model.layers": 2, **PHRASES},
                                    "2-layer BiLSTM, trained on every phrase"),
}

# Structure controls (after Shi, Zhou, Chen and Li 2018, "On Tree-Based Neural Sentence
# Modeling"): the constituency Tree-LSTM's SST recipe with the sentence label only, on SST's
# trees, on spaCy's parses (binarized) and on balanced, left- and right-branching trees over
# the same tokens; beside it the recipe with every phrase label, and the LSTM and BiLSTM (which
# learn from the sentence label). Separates phrase supervision, syntax and hierarchy.
_ROOT = {**SST_PRESETS["tree-lstm"].settings, "model.loss_on": "root"}
STRUCTURE_PRESETS = {
    "tree-lstm": Preset("tree-lstm", dict(SST_PRESETS["tree-lstm"].settings),
                        "Constituency Tree-LSTM, SST trees, every phrase label"),
    "tree-lstm-root": Preset("tree-lstm", _ROOT, "Tree-LSTM, SST trees, sentence label"),
    "tree-lstm-root-spacy": Preset("tree-lstm", {**_ROOT, "data.parse": "spacy"},
                                   "Tree-LSTM, spaCy parses (binarized), sentence label"),
    "tree-lstm-root-balanced": Preset("tree-lstm", {**_ROOT, "data.trees": "balanced"},
                                      "Tree-LSTM, balanced trees, sentence label"),
    "tree-lstm-root-left": Preset("tree-lstm", {**_ROOT, "data.trees": "left"},
                                  "Tree-LSTM, left-branching trees, sentence label"),
    "tree-lstm-root-right": Preset("tree-lstm", {**_ROOT, "data.trees": "right"},
                                   "Tree-LSTM, right-branching trees, sentence label"),
    # the recipe's 7 epochs were tuned with every phrase labeled; with the sentence label alone its
    # best epoch was the last in most runs: the same rows with room to go on (patience 5)
    "tree-lstm-root-long": Preset("tree-lstm", {**_ROOT, "trainer.epochs": 20},
                                  "Tree-LSTM, SST trees, sentence label, up to 20 epochs"),
    "tree-lstm-root-balanced-long": Preset("tree-lstm", {**_ROOT, "data.trees": "balanced", "trainer.epochs": 20},
                                           "Tree-LSTM, balanced trees, sentence label, up to 20 epochs"),
    "lstm": Preset("lstm", dict(SST_PRESETS["lstm"].settings), "LSTM, sentence label"),
    "bilstm": Preset("bilstm", dict(SST_PRESETS["bilstm"].settings), "BiLSTM, sentence label"),
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
# The ambiguity recipe, chosen from dev curves (docs/experiments.md, "Ambiguous parses"). The word
# embeddings are updated by plain SGD at 0.1 (the default), not by Adam with the rest: with
# Adam on the embeddings (the earlier recipe) the Tree-LSTM memorised arith's training set
# (train 97%, dev 30-34%, measured on seeds 0 and 1) on some machines and seeds; with SGD on
# them it reached 99.8-100% dev by epoch 3-5 on the same seeds. Dropout 0.5 (the default), 10
# epochs, no early stopping, the best epoch on dev.
AMBIGUITY_DEFAULTS = {"model.input_dim": 50, "model.hidden_dim": 50,
                      "trainer.optimizer": "adam", "trainer.lr": 0.01, "trainer.epochs": 10,
                      "trainer.patience": None, "trainer.batch_size": 25}

# The user's labeled texts (``treernn compare text:PATH``): a tree model on spaCy's parses
# against sequence models of about as many parameters, with the trainer's defaults (Tai et al.'s
# recipe); the balanced-tree control asks what the parser's structure adds.
TEXT_PRESETS = {
    "tree-lstm": Preset("tree-lstm", {"model.hidden_dim": 150}, "Tree-LSTM (N-ary, binarized parses)"),
    "child-sum-tree-lstm": Preset("child-sum-tree-lstm", {"model.hidden_dim": 168},
                                  "Child-Sum Tree-LSTM (dependency parses)"),
    "tree-lstm-balanced": Preset("tree-lstm", {"model.hidden_dim": 150, "data.trees": "balanced"},
                                 "Tree-LSTM on balanced trees (no parser)"),
    "lstm": Preset("lstm", {"model.hidden_dim": 168}, "LSTM"),
    "bilstm": Preset("bilstm", {"model.hidden_dim": 168}, "BiLSTM"),
}
TEXT_DEFAULT_MODELS = ("tree-lstm", "bilstm")

# SICK (Tai et al. 2015, Table 3 and section 5.2): memory sizes from their Table 1 (150 / 142 /
# 108, to match parameter counts), AdaGrad 0.05, batch 25, L2 1e-4 (the trainer's defaults),
# word vectors held fixed, a similarity layer of 50, no dropout; the best epoch by dev Pearson r.
SICK_SETTINGS = {"data.freeze_embeddings": True, "model.dropout": 0.0, "model.similarity_dim": 50}
SICK_PRESETS = {
    "lstm": Preset("lstm", {"model.hidden_dim": 150, **SICK_SETTINGS}, "LSTM"),
    "bilstm": Preset("bilstm", {"model.hidden_dim": 150, **SICK_SETTINGS}, "BiLSTM"),
    "lstm-2layer": Preset("lstm", {"model.hidden_dim": 108, "model.layers": 2, **SICK_SETTINGS}, "2-layer LSTM"),
    "bilstm-2layer": Preset("bilstm", {"model.hidden_dim": 108, "model.layers": 2, **SICK_SETTINGS},
                            "2-layer BiLSTM", matched_hidden=108),
    "tree-lstm": Preset("tree-lstm", {"model.hidden_dim": 142, **SICK_SETTINGS},
                        "Constituency Tree-LSTM (N-ary, binarized spaCy parses)"),
    "child-sum-tree-lstm": Preset("child-sum-tree-lstm", {"model.hidden_dim": 150, **SICK_SETTINGS},
                                  "Dependency Tree-LSTM (Child-Sum, spaCy parses)"),
}
# Tai et al. 2015, Table 3 (GloVe 840B 300-d, mean of 5 runs): Pearson r, Spearman rho, MSE on test.
PUBLISHED_SICK = {
    "lstm": (0.8528, 0.7911, 0.2831), "bilstm": (0.8567, 0.7966, 0.2736),
    "lstm-2layer": (0.8515, 0.7896, 0.2838), "bilstm-2layer": (0.8558, 0.7965, 0.2762),
    "tree-lstm": (0.8582, 0.7966, 0.2734), "child-sum-tree-lstm": (0.8676, 0.8083, 0.2532),
}

# Search spaces of ``treernn tune`` (the form of a space file's [space] table): the same kinds of
# settings for every model where they apply: the learning rates of the model (AdaGrad) and of the
# word vectors (SGD), dropout on the word vectors and before the softmax, the hidden size from
# 2/3 to 4/3 of the model's matched size (Tai et al. matched parameter counts; H^2 terms then
# span 0.44-1.78x), and the most epochs (early stopping, patience 5, may end sooner).
def hidden_choices(hidden: int) -> list[int]:
    """2/3, 1 and 4/3 of ``hidden`` (the parameter budget of a tuned model)."""
    return sorted({max(1, round(hidden * 2 / 3)), hidden, round(hidden * 4 / 3)})


def default_space(preset: Optional[Preset], settings: dict[str, Any]) -> dict[str, dict]:
    """The search space of a model (``settings``: the run's settings before tuning)."""
    hidden = (preset.matched_hidden if preset and preset.matched_hidden else
              (preset.settings if preset else {}).get("model.hidden_dim", settings.get("model.hidden_dim", 150)))
    if str(settings.get("data.corpus", "")).startswith("ambiguity-"):  # small, fast: the tests' corpus
        return {"trainer.lr": {"low": 0.001, "high": 0.03, "log": True},
                "model.dropout": {"low": 0.0, "high": 0.6, "step": 0.1},
                "trainer.epochs": {"low": 2, "high": 6}}
    space: dict[str, dict] = {
        "trainer.lr": {"low": 0.01, "high": 0.2, "log": True},
        "trainer.embedding_lr": {"low": 0.01, "high": 0.5, "log": True},
        "model.input_dropout": {"low": 0.0, "high": 0.5, "step": 0.05},
        "model.dropout": {"low": 0.0, "high": 0.7, "step": 0.05},
        "model.hidden_dim": {"choices": hidden_choices(int(hidden))},
        "trainer.epochs": {"low": 6, "high": 20},
    }
    if settings.get("data.freeze_embeddings"):
        del space["trainer.embedding_lr"]
    return space


def tune_settings(model: str, corpus: str, data_path: Optional[str] = None,
                  vectors: Optional[str] = None) -> tuple[Optional[Preset], dict[str, Any]]:
    """(preset or None, settings) of ``treernn tune --model MODEL --corpus CORPUS``: the
    experiment's preset of that name (and its task's settings) when the corpus has presets
    (sst, ambiguity-*, sick, text:PATH), else the registered encoder ``model`` alone."""
    if corpus == "sst":
        table, task = SST_PRESETS, {"data.classes": 5}
    elif corpus.startswith("ambiguity-"):
        table, task = AMBIGUITY_PRESETS, dict(AMBIGUITY_DEFAULTS)
    elif corpus == "sick":
        table, task = SICK_PRESETS, {}
    elif corpus.startswith("text:"):
        table, task = TEXT_PRESETS, {}
    else:
        table, task = {}, {}
    base: dict[str, Any] = {"data.corpus": corpus, **task}
    if data_path is not None:
        base["data.path"] = data_path
    if vectors is not None:
        base["data.vectors"] = vectors
    preset = table.get(model)
    if preset is None:
        return None, {**base, "model.encoder": model}
    return preset, {**base, "model.encoder": preset.encoder, **preset.settings}


def corpus_recipe(encoder: str, corpus: str) -> dict[str, Any]:
    """The settings ``treernn train --model ENCODER --corpus sst`` starts from: the SST preset
    of that name (``compare sst``'s recipe), under any setting the user gives; {} elsewhere."""
    preset = SST_PRESETS.get(encoder) if corpus == "sst" else None
    return dict(preset.settings) if preset is not None and preset.encoder == encoder else {}


EXPERIMENTS = {"sst": SST_PRESETS, "sst-structure": STRUCTURE_PRESETS, "ambiguity": AMBIGUITY_PRESETS, "sick": SICK_PRESETS,
               "sick-entailment": SICK_PRESETS, "text:PATH": TEXT_PRESETS}


def presets(experiment: str) -> dict[str, Preset]:
    """The models of ``experiment``; an unknown one lists the known ones."""
    if experiment.startswith("text:") and len(experiment) > 5:
        return TEXT_PRESETS
    try:
        return EXPERIMENTS[experiment]
    except KeyError:
        raise ConfigError(f"unknown experiment, got {experiment!r}; use one of {', '.join(EXPERIMENTS)}") from None


def default_models(experiment: str) -> list[str]:
    """The models ``compare`` trains when none are named."""
    return list(TEXT_DEFAULT_MODELS) if experiment.startswith("text:") else list(presets(experiment))


def experiment_tasks(experiment: str, data_path: Optional[str], vectors: Optional[str]) -> list[tuple[str, dict]]:
    """(task name, settings) of an experiment."""
    presets(experiment)
    if experiment.startswith("text:"):
        return [("text", {"data.corpus": experiment, "data.vectors": vectors})]
    if experiment in ("sick", "sick-entailment"):
        target = "relatedness" if experiment == "sick" else "entailment"
        return [(target, {"data.corpus": "sick", "data.path": data_path, "data.vectors": vectors,
                          "data.target": target})]
    if experiment == "sst":
        base = {"data.corpus": "sst", "data.path": data_path, "data.vectors": vectors}
        return [("fine", {**base, "data.classes": 5}), ("binary", {**base, "data.classes": 2})]
    if experiment == "sst-structure":
        return [("fine", {"data.corpus": "sst", "data.path": data_path, "data.vectors": vectors, "data.classes": 5})]
    return [(name, {"data.corpus": f"ambiguity-{name}", "data.path": data_path, **AMBIGUITY_DEFAULTS})
            for name in ("arith", "attach", "zh")]
