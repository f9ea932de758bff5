"""ReelGraph loader: MovieLens files -> validated rows -> batched writes into Neo4j.

The parsers (:mod:`loader.parse`, :mod:`loader.formats`, :mod:`loader.reader`,
:mod:`loader.source`, :mod:`loader.synthetic`) are pure; :mod:`loader.ingest` (online,
Cypher) and :mod:`loader.bulk` (offline ``neo4j-admin import``) write through
:mod:`engine.graphdb`, the one door to the database. The loader depends on the engine's
graph-database edge, schema, errors and settings only.
"""

from loader.bundled import bundled_dataset
from loader.dataset import LoadError, MovieLensData, Reject
from loader.parse import read_movielens
from loader.synthetic import generate_synthetic

__all__ = ["LoadError", "MovieLensData", "Reject", "bundled_dataset", "generate_synthetic",
           "read_movielens"]
