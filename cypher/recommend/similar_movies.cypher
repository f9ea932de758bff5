// Purpose: the $k movies most similar to a movie: by the current run's movie vectors (vector index), else by the run's
//   SIMILAR edges, else by co-rating (fans of the movie who also loved the other); column source says which.
// Params:
//   $movieId  INTEGER  the movie
//   $k        INTEGER  how many rows
// Example:
//   :param {movieId: 1, k: 10}
MATCH (m:Movie {movieId: toInteger($movieId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH m, run
ORDER BY run.switchedAt DESC
LIMIT 1
WITH m, run, m[run.embeddingProperty] AS mv
CALL (m, run, mv) {
  WITH m, run, mv
  WHERE mv IS NOT NULL
  CALL db.index.vector.queryNodes(run.movieIndex, toInteger($k) + 1, mv) YIELD node, score
  WHERE node <> m
  RETURN node AS other, score, 'vector' AS source
  UNION
  WITH m, run, mv
  WHERE mv IS NULL
  MATCH (m)-[s:SIMILAR]->(other:Movie)
  WHERE s.runId = run.runId
  RETURN other, s.score AS score, 'similar-edge' AS source
  UNION
  WITH m, run, mv
  WHERE mv IS NULL AND NOT EXISTS { (m)-[s:SIMILAR]->() WHERE s.runId = run.runId }
  MATCH (m)<-[r1:RATED]-(fan:User)
  WHERE r1.rating >= 4.0
  WITH m, fan
  LIMIT 2000
  MATCH (fan)-[r2:RATED]->(other:Movie)
  WHERE r2.rating >= 4.0 AND other <> m
  WITH other, count(fan) AS fans
  ORDER BY fans DESC
  LIMIT toInteger($k)
  RETURN other, toFloat(fans) AS score, 'co-rating' AS source
}
WITH m, other, score, source
ORDER BY score DESC, other.movieId
LIMIT toInteger($k)
WITH m, collect({other: other, score: score, source: source}) AS rows, [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS mGenres
UNWIND range(0, size(rows) - 1) AS i
WITH rows[i] AS row, i + 1 AS rank, mGenres
WITH row.other AS other, row, rank, mGenres
WITH other, row, rank, mGenres, [(other)-[:IN_GENRE]->(g:Genre) | g.name] AS genres
RETURN rank,
       other.movieId AS movieId,
       other.title AS title,
       other.year AS year,
       genres,
       round(row.score, 4) AS score,
       row.source AS source,
       [g IN genres WHERE g IN mGenres] AS sharedGenres
ORDER BY rank
