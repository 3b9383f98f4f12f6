"""The bundled context-free grammars (``*.cfg``, NLTK's format), installed as the package data
``treernn.data.grammars``: pyproject.toml maps this folder there (``package-dir``), so an
editable install and a wheel both find them with ``importlib.resources.files``. No code."""
