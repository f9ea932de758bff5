// Purpose: the $k movies the user has not rated with the LOWEST affinity: by the current run's embeddings (candidates
//   from the vector index queried with the negated user vector, ranked by dot product ascending), else by genre
//   affinity (movies in the genres the user rates lowest, well-known ones first).
// Params:
//   $userId  INTEGER  the user
//   $k       INTEGER  how many rows
// Example:
//   :param {userId: 1, k: 10}
MATCH (u:User {userId: toInteger($userId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH u, run
ORDER BY run.switchedAt DESC
LIMIT 1
WITH u, run, u[run.embeddingProperty] AS uv
CALL (u, run, uv) {
  WITH u, run, uv
  WHERE uv IS NOT NULL
  CALL db.index.vector.queryNodes(run.movieIndex, 10 * toInteger($k) + 50, [x IN uv | -x]) YIELD node AS m
  WHERE NOT EXISTS { (u)-[:RATED]->(m) }
  WITH m, uv, m[run.embeddingProperty] AS mv
  RETURN m, reduce(s = 0.0, i IN range(0, size(uv) - 1) | s + uv[i] * mv[i]) AS affinity, 0 AS popularity,
         'model:vector' AS source
  UNION
  WITH u, run, uv
  WHERE uv IS NULL
  CALL (u) {
    MATCH (u)-[r:RATED]->()
    RETURN avg(r.rating) AS mean
  }
  MATCH (u)-[r:RATED]->(:Movie)-[:IN_GENRE]->(g:Genre)
  WITH u, mean, g, avg(r.rating) - mean AS lift
  ORDER BY lift
  LIMIT 3
  MATCH (g)<-[:IN_GENRE]-(m:Movie)
  WHERE NOT EXISTS { (u)-[:RATED]->(m) }
  WITH m, min(lift) AS affinity
  RETURN m, affinity, COUNT { (m)<-[:RATED]-() } AS popularity, 'genre-affinity' AS source
}
WITH m, affinity, popularity, source
ORDER BY affinity, popularity DESC, m.movieId
LIMIT toInteger($k)
WITH collect({m: m, affinity: affinity, source: source}) AS rows
UNWIND range(0, size(rows) - 1) AS i
WITH rows[i] AS row, i + 1 AS rank
WITH row, rank, row.m AS m
RETURN rank,
       m.movieId AS movieId,
       m.title AS title,
       m.year AS year,
       [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS genres,
       round(row.affinity, 4) AS affinity,
       row.source AS source
ORDER BY rank
