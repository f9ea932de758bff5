"""ReelGraph loader: MovieLens files -> validated rows -> batched writes into Neo4j."""

from loader.dataset import LoadError, MovieLensData, Reject
from loader.parse import read_movielens
from loader.synthetic import generate_synthetic

__all__ = ["LoadError", "MovieLensData", "Reject", "generate_synthetic", "read_movielens"]
