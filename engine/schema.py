"""The one place that names the graph: labels, relationship types, properties, PyG types.

Every other module (loader, export, write-back, Cypher tests) imports names from here,
so a rename is a one-line change and a typo is an ``AttributeError``, not a silent
empty result.

Graph model (Neo4j)::

    (:User {userId, gender?, age?, occupation?, zip?})
    (:Movie {movieId, title, year?, imdbId?, tmdbId?})
    (:Genre {name})
    (:User)-[:RATED {rating, timestamp}]->(:Movie)
    (:User)-[:TAGGED {tag, timestamp}]->(:Movie)
    (:Movie)-[:IN_GENRE]->(:Genre)
    (:Dataset {name, source, md5, loadedAt, counts, synthetic})
    (:User)-[:RECOMMENDED {score, rank, runId, predictedRating?}]->(:Movie)
    (:Movie)-[:SIMILAR {score, runId}]->(:Movie)
    (:ModelRun {runId, model, params, metrics, dataset, trainedAt, gitSha, current})

PyG ``HeteroData`` mirrors it with node types ``user``/``movie``/``genre`` and the
edge types in :data:`EDGE_TYPES` (each with its reverse, as PyG's ``ToUndirected``
would name it).
"""

from __future__ import annotations

from typing import Final


class Label:
    """Node labels."""

    USER: Final = "User"
    MOVIE: Final = "Movie"
    GENRE: Final = "Genre"
    DATASET: Final = "Dataset"
    MODEL_RUN: Final = "ModelRun"


class Rel:
    """Relationship types."""

    RATED: Final = "RATED"
    TAGGED: Final = "TAGGED"
    IN_GENRE: Final = "IN_GENRE"
    RECOMMENDED: Final = "RECOMMENDED"
    SIMILAR: Final = "SIMILAR"


class Prop:
    """Property keys (camelCase, as the Cypher style guide asks)."""

    USER_ID: Final = "userId"
    MOVIE_ID: Final = "movieId"
    TITLE: Final = "title"
    YEAR: Final = "year"
    IMDB_ID: Final = "imdbId"
    TMDB_ID: Final = "tmdbId"
    GENDER: Final = "gender"
    AGE: Final = "age"
    OCCUPATION: Final = "occupation"
    ZIP: Final = "zip"
    NAME: Final = "name"
    RATING: Final = "rating"
    TIMESTAMP: Final = "timestamp"
    TAG: Final = "tag"
    SCORE: Final = "score"
    RANK: Final = "rank"
    RUN_ID: Final = "runId"
    PREDICTED_RATING: Final = "predictedRating"
    EMBEDDING: Final = "embedding"
    SOURCE: Final = "source"
    MD5: Final = "md5"
    LOADED_AT: Final = "loadedAt"
    COUNTS: Final = "counts"
    SYNTHETIC: Final = "synthetic"


#: Uniqueness constraints, created before any data: (constraint name, label, key).
UNIQUE_KEYS: Final[tuple[tuple[str, str, str], ...]] = (
    ("user_userId", Label.USER, Prop.USER_ID),
    ("movie_movieId", Label.MOVIE, Prop.MOVIE_ID),
    ("genre_name", Label.GENRE, Prop.NAME),
    ("dataset_name", Label.DATASET, Prop.NAME),
    ("modelrun_runId", Label.MODEL_RUN, Prop.RUN_ID),
)

#: Vector indexes written after training: (index name, label, property).
VECTOR_INDEXES: Final[tuple[tuple[str, str, str], ...]] = (
    ("user_embedding", Label.USER, Prop.EMBEDDING),
    ("movie_embedding", Label.MOVIE, Prop.EMBEDDING),
)


class NodeType:
    """PyG node types."""

    USER: Final = "user"
    MOVIE: Final = "movie"
    GENRE: Final = "genre"


EdgeType = tuple[str, str, str]

#: PyG edge types and the Neo4j relationship each one comes from.
RATES: Final[EdgeType] = (NodeType.USER, "rated", NodeType.MOVIE)
RATED_BY: Final[EdgeType] = (NodeType.MOVIE, "rev_rated", NodeType.USER)
IN_GENRE: Final[EdgeType] = (NodeType.MOVIE, "in_genre", NodeType.GENRE)
HAS_MOVIE: Final[EdgeType] = (NodeType.GENRE, "rev_in_genre", NodeType.MOVIE)

EDGE_TYPES: Final[dict[EdgeType, str]] = {
    RATES: Rel.RATED,
    RATED_BY: Rel.RATED,
    IN_GENRE: Rel.IN_GENRE,
    HAS_MOVIE: Rel.IN_GENRE,
}

#: Forward edge type -> its reverse (splits move both together).
REVERSE: Final[dict[EdgeType, EdgeType]] = {
    RATES: RATED_BY,
    RATED_BY: RATES,
    IN_GENRE: HAS_MOVIE,
    HAS_MOVIE: IN_GENRE,
}

#: Node type -> (Neo4j label, id property).
NODE_KEYS: Final[dict[str, tuple[str, str]]] = {
    NodeType.USER: (Label.USER, Prop.USER_ID),
    NodeType.MOVIE: (Label.MOVIE, Prop.MOVIE_ID),
    NodeType.GENRE: (Label.GENRE, Prop.NAME),
}
