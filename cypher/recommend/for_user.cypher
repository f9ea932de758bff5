// Purpose: top-$k recommendations for a user from the current model run, with score (4 decimals), source and a one-line explanation.
//   Rows come from the first paths that apply, in this order, until there are $k (column source):
//   'model' (the run's RECOMMENDED edges), 'model:live' (the same, refreshed by engine refresh after the user's
//   latest ratings; the user's liveVersion names the list), 'model:vector' (next best by the run's embeddings, for runs whose
//   scores are embedding dot products), 'cold-start:genre-popularity' (popular unrated movies in the user's
//   top genres), 'cold-start:popularity' (popular overall; popularity = Movie.ratingCount, set by the loader and
//   every write-back and kept current by engine rate). Genre and year filters apply to every path,
//   $minScore to the model paths only (popularity counts have another scale). A null filter is ignored.
//   Explanations: becauseYouRecentlyRated (a sequence-aware run's RECOMMENDED.becauseOf: the recent rating
//   that leads to the movie most), because (the favourite closest by the run's vectors or SIMILAR edges),
//   sharedGenres.
// Params:
//   $userId    INTEGER        the user
//   $k         INTEGER        how many rows
//   $genres    LIST<STRING>   keep movies in any of these genres (null or [] = all)
//   $yearMin   INTEGER        keep movies from this year on (null = no bound)
//   $yearMax   INTEGER        keep movies up to this year (null = no bound)
//   $minScore  FLOAT          keep model rows whose score (as shown, 4 decimals) is at least this (null = no bound)
// Example:
//   :param {userId: 1, k: 10, genres: null, yearMin: null, yearMax: null, minScore: null}
MATCH (u:User {userId: toInteger($userId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH u, run
ORDER BY run.switchedAt DESC
LIMIT 1
// The user's profile from their 50 best (then newest) ratings: 10 favourites (>= 4 stars) with their
// vectors in the run, and the 3 genres weighing most (ratings >= 3.5 count 1, lower ones 0.25).
CALL (u) {
  MATCH (u)-[r:RATED]->(m:Movie)
  WITH m, r
  ORDER BY r.rating DESC, r.timestamp DESC
  LIMIT 50
  RETURN collect({movie: m, rating: r.rating}) AS best
}
CALL (best) {
  UNWIND best AS b
  WITH b.movie AS m, CASE WHEN b.rating >= 3.5 THEN 1.0 ELSE 0.25 END AS w
  MATCH (m)-[:IN_GENRE]->(g:Genre)
  WITH g.name AS genre, sum(w) AS weight
  ORDER BY weight DESC, genre
  LIMIT 3
  RETURN collect(genre) AS topGenres
}
WITH u, run, topGenres,
     [b IN best WHERE b.rating >= 4.0 | {title: b.movie.title, movie: b.movie, vector: b.movie[run.embeddingProperty]}][..10] AS favourites,
     CASE WHEN properties(u).liveRun = run.runId THEN properties(u).liveVersion ELSE 0 END AS listVersion
// 1. The run's stored top-K: the list of the user's version (0: the write-back's; > 0: engine refresh's live list).
//    properties(x).key reads keys a graph may not have yet (version, source, liveRun) without a warning.
CALL (u, run, listVersion) {
  MATCH (u)-[r:RECOMMENDED]->(m:Movie)
  WHERE r.runId = run.runId AND coalesce(properties(r).version, 0) = listVersion
    AND ($minScore IS NULL OR round(r.score, 4) >= $minScore)
    AND ($yearMin IS NULL OR m.year >= $yearMin)
    AND ($yearMax IS NULL OR m.year <= $yearMax)
    AND (coalesce(size($genres), 0) = 0 OR EXISTS { (m)-[:IN_GENRE]->(g:Genre) WHERE g.name IN $genres })
  WITH m, r
  ORDER BY r.rank
  LIMIT toInteger($k)
  RETURN collect({movie: m, score: r.score, rank: r.rank, predictedRating: properties(r).predictedRating,
                  becauseOf: properties(r).becauseOf, source: coalesce(properties(r).source, 'model')}) AS modelRecs
}
// 2. Next best by the run's embeddings, beyond its stored top-K.
CALL (u, run, modelRecs) {
  WITH u, run, modelRecs, u[run.embeddingProperty] AS uv
  WHERE size(modelRecs) < toInteger($k) AND run.dotScores AND uv IS NOT NULL
  CALL db.index.vector.queryNodes(run.movieIndex, 200, uv) YIELD node AS m
  WHERE NOT m IN [x IN modelRecs | x.movie]
    AND NOT EXISTS { (u)-[:RATED]->(m) }
    AND ($yearMin IS NULL OR m.year >= $yearMin)
    AND ($yearMax IS NULL OR m.year <= $yearMax)
    AND (coalesce(size($genres), 0) = 0 OR EXISTS { (m)-[:IN_GENRE]->(g:Genre) WHERE g.name IN $genres })
  WITH m, uv, m[run.embeddingProperty] AS mv
  WITH m, reduce(s = 0.0, i IN range(0, size(uv) - 1) | s + uv[i] * mv[i]) AS score
  WHERE $minScore IS NULL OR round(score, 4) >= $minScore
  WITH m, score
  ORDER BY score DESC
  LIMIT toInteger($k)
  RETURN collect({movie: m, score: score, rank: null, predictedRating: null, becauseOf: null, source: 'model:vector'}) AS vectorRecs
}
WITH u, run, favourites, topGenres, modelRecs + vectorRecs AS found
// 3. Cold start: popular unrated movies in the user's top genres.
CALL (u, topGenres, found) {
  UNWIND CASE WHEN size(found) < toInteger($k) THEN topGenres ELSE [] END AS genre
  MATCH (m:Movie)-[:IN_GENRE]->(g:Genre {name: genre})
  WHERE NOT m IN [x IN found | x.movie]
    AND NOT EXISTS { (u)-[:RATED]->(m) }
    AND ($yearMin IS NULL OR m.year >= $yearMin)
    AND ($yearMax IS NULL OR m.year <= $yearMax)
    AND (coalesce(size($genres), 0) = 0 OR EXISTS { (m)-[:IN_GENRE]->(f:Genre) WHERE f.name IN $genres })
  WITH DISTINCT m
  WITH m, coalesce(m.ratingCount, 0) AS ratings
  ORDER BY ratings DESC, m.movieId
  LIMIT toInteger($k)
  RETURN collect({movie: m, score: toFloat(ratings), rank: null, predictedRating: null, becauseOf: null, source: 'cold-start:genre-popularity'}) AS genreRecs
}
WITH u, run, favourites, topGenres, found + genreRecs AS found
// 4. Cold start: popular overall.
CALL (u, found) {
  UNWIND CASE WHEN size(found) < toInteger($k) THEN [true] ELSE [] END AS needed
  // Movies in popularity order straight from the movie_ratingCount index (no scan of every movie).
  MATCH (m:Movie)
  WHERE m.ratingCount >= 0
    AND NOT m IN [x IN found | x.movie]
    AND NOT EXISTS { (u)-[:RATED]->(m) }
    AND ($yearMin IS NULL OR m.year >= $yearMin)
    AND ($yearMax IS NULL OR m.year <= $yearMax)
    AND (coalesce(size($genres), 0) = 0 OR EXISTS { (m)-[:IN_GENRE]->(f:Genre) WHERE f.name IN $genres })
  WITH m, m.ratingCount AS ratings
  ORDER BY ratings DESC, m.movieId
  LIMIT toInteger($k)
  RETURN collect({movie: m, score: toFloat(ratings), rank: null, predictedRating: null, becauseOf: null, source: 'cold-start:popularity'}) AS popularRecs
}
WITH u, run, favourites, topGenres, (found + popularRecs)[..toInteger($k)] AS recs
UNWIND range(0, size(recs) - 1) AS i
WITH u, run, favourites, topGenres, recs[i] AS rec, i + 1 AS position
WITH u, run, favourites, topGenres, rec, position, rec.movie AS m
WITH u, run, favourites, topGenres, rec, position, m, [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS genres
// Explanation: the favourite closest to the movie by the run's vectors, else by a SIMILAR edge of the run.
CALL (run, favourites, m, rec) {
  WITH favourites, m[run.embeddingProperty] AS mv, rec
  UNWIND CASE WHEN rec.source STARTS WITH 'model' AND mv IS NOT NULL THEN favourites ELSE [] END AS fav
  WITH fav, vector.similarity.cosine(fav.vector, mv) AS similarity
  WHERE similarity IS NOT NULL
  WITH fav, similarity
  ORDER BY similarity DESC
  LIMIT 1
  RETURN collect({title: fav.title, similarity: similarity})[0] AS byVector
}
CALL (run, favourites, m, rec, byVector) {
  UNWIND CASE WHEN rec.source STARTS WITH 'model' AND byVector IS NULL THEN favourites ELSE [] END AS f
  WITH f.movie AS fav, m, run
  MATCH (fav)-[s:SIMILAR]-(m)
  WHERE s.runId = run.runId
  WITH fav, s.score AS similarity
  ORDER BY similarity DESC
  LIMIT 1
  RETURN collect({title: fav.title, similarity: similarity})[0] AS bySimilarEdge
}
// Recency: the recently rated movie that leads to this one most in the run's transitions (RECOMMENDED.becauseOf).
CALL (u, rec) {
  UNWIND CASE WHEN rec.becauseOf IS NULL THEN [] ELSE [rec.becauseOf] END AS recentId
  MATCH (u)-[r:RATED]->(recent:Movie {movieId: recentId})
  RETURN collect({title: recent.title, rating: r.rating})[0] AS recently
}
WITH run, rec, position, m, genres, recently, coalesce(byVector, bySimilarEdge) AS because,
     [g IN genres WHERE g IN topGenres] AS sharedGenres
RETURN position AS rank,
       m.movieId AS movieId,
       m.title AS title,
       m.year AS year,
       genres,
       round(rec.score, 4) AS score,
       round(rec.predictedRating, 4) AS predictedRating,
       rec.source AS source,
       CASE WHEN rec.source STARTS WITH 'model' THEN run.runId END AS runId,
       because.title AS because,
       recently.title AS becauseYouRecentlyRated,
       sharedGenres,
       CASE rec.source
         WHEN 'model' THEN run.model + ' rank ' + toString(rec.rank) + ', score ' + toString(round(rec.score, 3))
         WHEN 'model:live' THEN run.model + ' rank ' + toString(rec.rank) + ', score ' + toString(round(rec.score, 3)) + ', refreshed with your latest ratings'
         WHEN 'model:vector' THEN run.model + ' embedding score ' + toString(round(rec.score, 3)) + ', beyond its stored top ' + toString(run.k)
         WHEN 'cold-start:genre-popularity' THEN 'popular in your genres (' + toString(toInteger(rec.score)) + ' ratings)'
         ELSE 'popular overall (' + toString(toInteger(rec.score)) + ' ratings)'
       END
       + CASE WHEN recently IS NULL THEN '' ELSE '; because you recently rated ' + recently.title + ' (' + toString(recently.rating) + ')' END
       + CASE WHEN because IS NULL THEN '' ELSE '; close to ' + because.title + ', which you rated highly (similarity ' + toString(round(because.similarity, 2)) + ')' END
       + CASE WHEN size(sharedGenres) = 0 THEN '' ELSE '; in your genres ' + reduce(s = '', g IN sharedGenres | s + CASE WHEN s = '' THEN '' ELSE ', ' END + g) END
       AS explanation
ORDER BY rank
