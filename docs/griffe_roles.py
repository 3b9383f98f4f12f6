"""A griffe extension for the API reference: the docstrings cross-reference in Sphinx's roles
(``:class:`~treernn.trees.Tree```, ``:math:`h_t```), which Markdown does not read; each becomes
a code span (the last name only after a ``~``, as Sphinx shows it). Loaded by mkdocs.yml."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj|math):`(~?)([^`]+)`")


def _span(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_span, obj.docstring.value)
