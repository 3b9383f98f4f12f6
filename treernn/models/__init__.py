"""Models: a registered encoder plus a softmax head that computes its own loss.

- :mod:`treernn.models.config`: :class:`ModelConfig`, the settings that rebuild a model;
- :mod:`treernn.models.classifier`: :class:`TreeClassifier`, :class:`SequenceClassifier`;
- :mod:`treernn.models.build`: :func:`build_model`, :func:`prepare_tree`, :func:`load_model`;
- :mod:`treernn.models.directory`: model directories, read and written in one place.
"""

from treernn.models.build import build_model, load_model, prepare_tree
from treernn.models.classifier import ClassifierOutput, SequenceClassifier, TreeClassifier
from treernn.models.config import ModelConfig

__all__ = ["ClassifierOutput", "ModelConfig", "SequenceClassifier", "TreeClassifier", "build_model",
           "load_model", "prepare_tree"]
