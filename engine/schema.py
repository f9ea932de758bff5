"""The one place that names the graph: labels, relationship types, properties, PyG types.

Every other module (loader, export, write-back, Cypher tests) imports names from here,
so a rename is a one-line change and a typo is an ``AttributeError``, not a silent
empty result.

Graph model (Neo4j)::

    (:User {userId, gender?, age?, occupation?, zip?})
    (:Movie {movieId, title, year?, imdbId?, tmdbId?, ratingCount})   ratingCount: RATED edges
    (:Genre {name})
    (:User {liveRun?, liveVersion?, liveAsOf?, liveCount?, liveDigest?})   set by engine refresh
    (:User)-[:RATED {rating, timestamp, ratedAt?}]->(:Movie)   ratedAt: written live (engine rate)
    (:User)-[:TAGGED {tag, timestamp}]->(:Movie)
    (:Movie)-[:IN_GENRE]->(:Genre)
    (:Dataset {name, source, md5, fingerprint, status, loadedAt, counts, synthetic})
    (:User)-[:RECOMMENDED {score, rank, runId, predictedRating?, becauseOf?,
                           version?, source?, supersededAt?}]->(:Movie)   live lists: version > 0
    (:Movie)-[:SIMILAR {score, runId}]->(:Movie)
    (:ModelRun {runId, model, params, metrics, dataset, trainedAt, gitSha, current, status})
    (:WritebackLease {name, owner, acquiredAt, expiresAt})    one write-back at a time

PyG ``HeteroData`` mirrors it with node types ``user``/``movie``/``genre`` and the
edge types :data:`RATES`, :data:`RATED_BY`, :data:`IN_GENRE`, :data:`HAS_MOVIE`.
A test checks that every label, relationship type and property named here is used by the
``cypher/`` files and that those use no other label or type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class Label:
    """Node labels."""

    USER: Final = "User"
    MOVIE: Final = "Movie"
    GENRE: Final = "Genre"
    DATASET: Final = "Dataset"
    MODEL_RUN: Final = "ModelRun"
    WRITEBACK_LEASE: Final = "WritebackLease"


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
    RATING_COUNT: Final = "ratingCount"
    TIMESTAMP: Final = "timestamp"
    TAG: Final = "tag"
    SCORE: Final = "score"
    RANK: Final = "rank"
    RUN_ID: Final = "runId"
    PREDICTED_RATING: Final = "predictedRating"
    BECAUSE_OF: Final = "becauseOf"
    EMBEDDING: Final = "embedding"
    EMBEDDING_B: Final = "embeddingB"
    SOURCE: Final = "source"
    MD5: Final = "md5"
    LOADED_AT: Final = "loadedAt"
    COUNTS: Final = "counts"
    SYNTHETIC: Final = "synthetic"
    STATUS: Final = "status"
    FINGERPRINT: Final = "fingerprint"
    OWNER: Final = "owner"
    EXPIRES_AT: Final = "expiresAt"
    RATED_AT: Final = "ratedAt"
    VERSION: Final = "version"
    SUPERSEDED_AT: Final = "supersededAt"
    LIVE_RUN: Final = "liveRun"
    LIVE_VERSION: Final = "liveVersion"
    LIVE_AS_OF: Final = "liveAsOf"
    LIVE_COUNT: Final = "liveCount"
    LIVE_DIGEST: Final = "liveDigest"
    LIVE_SEQ: Final = "liveSeq"

#: The largest rating timestamp accepted anywhere (``engine load``, ``engine rate``): 2**35 epoch
#: seconds is about the year 3058, so a value in milli-, micro- or nanoseconds is refused, not
#: stored as a date tens of thousands of years away. Timestamps are 0 <= t <= MAX_TIMESTAMP.
MAX_TIMESTAMP: Final = 2**35

#: ``RECOMMENDED.source`` of the lists ``engine refresh`` writes (the write-back's have none: 'model').
LIVE_SOURCE: Final = "model:live"

#: The node property ``engine train --store neo4j`` writes its train-fitted features to
#: (float32 bytes) and the Neo4j-backed PyG FeatureStore reads per batch; it reaches the
#: ``cypher/pyg/`` statements as the ``$property`` parameter.
TRAIN_FEATURES: Final = "trainFeatures"

#: Indexes beyond the constraints' (each with its statement ``cypher/schema/<name>.cypher``).
INDEXES: Final[tuple[str, ...]] = ("index_rated_at", "index_recommended_superseded",
                                   "index_modelrun_current", "index_movie_rating_count")


#: Uniqueness constraints, created before any data: (constraint name, label, key); each has
#: its statement ``cypher/schema/constraint_<label in lower case>.cypher``.
UNIQUE_KEYS: Final[tuple[tuple[str, str, str], ...]] = (
    ("user_userId", Label.USER, Prop.USER_ID),
    ("movie_movieId", Label.MOVIE, Prop.MOVIE_ID),
    ("genre_name", Label.GENRE, Prop.NAME),
    ("dataset_name", Label.DATASET, Prop.NAME),
    ("modelrun_runId", Label.MODEL_RUN, Prop.RUN_ID),
    ("writebacklease_name", Label.WRITEBACK_LEASE, Prop.NAME),
)

@dataclass(frozen=True)
class Slot:
    """One of the two embedding slots: a node property and its two vector indexes.

    A write-back writes its vectors into the slot the current run does not read, so a
    run switch never rewrites vectors in place (see :mod:`engine.graphdb.writeback`).
    """

    name: str
    property: str
    user_index: str
    movie_index: str


#: The embedding slots, by name: slot ``a`` is the first run's.
SLOTS: Final[dict[str, Slot]] = {
    "a": Slot("a", Prop.EMBEDDING, "user_embedding", "movie_embedding"),
    "b": Slot("b", Prop.EMBEDDING_B, "user_embedding_b", "movie_embedding_b"),
}


class NodeType:
    """PyG node types."""

    USER: Final = "user"
    MOVIE: Final = "movie"
    GENRE: Final = "genre"


EdgeType = tuple[str, str, str]

#: PyG edge types of the training graph (each with its reverse, as ``ToUndirected`` names it).
RATES: Final[EdgeType] = (NodeType.USER, "rated", NodeType.MOVIE)
RATED_BY: Final[EdgeType] = (NodeType.MOVIE, "rev_rated", NodeType.USER)
IN_GENRE: Final[EdgeType] = (NodeType.MOVIE, "in_genre", NodeType.GENRE)
HAS_MOVIE: Final[EdgeType] = (NodeType.GENRE, "rev_in_genre", NodeType.MOVIE)
