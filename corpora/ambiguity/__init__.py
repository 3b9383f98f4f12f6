"""The structural-ambiguity corpora (see README.md here), installed as the package data
``treernn.data.ambiguity``: pyproject.toml maps this folder there (``package-dir``), so an
editable install and a wheel both find it with ``importlib.resources.files``. No code."""
