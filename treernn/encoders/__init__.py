"""Encoders: tree and chain encoders with one contract (see :mod:`treernn.encoders.base`)
and one registry (:mod:`treernn.encoders.registry`)."""
