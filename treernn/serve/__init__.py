"""A sentiment server that Stanford CoreNLP's clients talk to: ``treernn serve``.

- :mod:`treernn.serve.corenlp`: the protocol (properties, body, CoreNLP's JSON and text output);
- :mod:`treernn.serve.annotate`: texts to labeled sentences with token offsets (model thread);
- :mod:`treernn.serve.batching`: concurrent requests batched together for the model;
- :mod:`treernn.serve.app`: the Starlette application and how uvicorn runs it.

``from treernn.serve.app import ServeConfig, create_app, serve``.
"""
