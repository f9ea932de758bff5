// Purpose: the $k users most similar to a user: by the current run's user vectors (vector index), else by co-rating
//   (users who also loved the user's favourite movies); with how many favourites they share.
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
  CALL db.index.vector.queryNodes(run.userIndex, toInteger($k) + 1, uv) YIELD node, score
  WHERE node <> u
  RETURN node AS other, score, 'vector' AS source
  UNION
  WITH u, run, uv
  WHERE uv IS NULL
  MATCH (u)-[r1:RATED]->(fav:Movie)
  WHERE r1.rating >= 4.0
  WITH u, fav
  ORDER BY fav.movieId
  LIMIT 50
  MATCH (fav)<-[r2:RATED]-(other:User)
  WHERE r2.rating >= 4.0 AND other <> u
  WITH other, count(fav) AS shared
  ORDER BY shared DESC
  LIMIT toInteger($k)
  RETURN other, toFloat(shared) AS score, 'co-rating' AS source
}
WITH u, other, score, source
ORDER BY score DESC, other.userId
LIMIT toInteger($k)
WITH u, collect({other: other, score: score, source: source}) AS rows
UNWIND range(0, size(rows) - 1) AS i
WITH u, rows[i] AS row, i + 1 AS rank
WITH u, row, rank, row.other AS other
CALL (u, other) {
  MATCH (u)-[r1:RATED]->(both:Movie)<-[r2:RATED]-(other)
  WHERE r1.rating >= 4.0 AND r2.rating >= 4.0
  WITH both
  ORDER BY both.movieId
  RETURN count(both) AS sharedFavourites, collect(both.title)[..3] AS examples
}
RETURN rank,
       other.userId AS userId,
       round(row.score, 4) AS score,
       row.source AS source,
       COUNT { (other)-[:RATED]->() } AS ratings,
       sharedFavourites,
       examples
ORDER BY rank
