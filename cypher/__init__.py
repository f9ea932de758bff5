"""ReelGraph's Cypher library: one statement per ``.cypher`` file, loaded by name.

This package holds data only; read it through :mod:`engine.graphdb.queries`.
"""
