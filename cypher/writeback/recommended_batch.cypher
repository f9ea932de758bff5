// Purpose: idempotent path (resumed runs): MERGE one batch of top-K RECOMMENDED edges of a run; rated movies skipped, ranks renumbered.
// Params:
//   $runId  STRING     the run the edges belong to
//   $rows   LIST<MAP>  {userId: INTEGER, movieIds: LIST<INTEGER>, scores: LIST<FLOAT>, ratings: LIST<FLOAT> or null}, best first
// Example:
//   :param {runId: 'example-run', rows: [{userId: 1, movieIds: [2, 4], scores: [0.9, 0.8], ratings: [4.1, 3.9]}]}
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
UNWIND range(0, size(row.movieIds) - 1) AS i
MATCH (m:Movie {movieId: row.movieIds[i]})
WHERE NOT EXISTS { (u)-[:RATED]->(m) }
WITH u, row, collect(i) AS kept, collect(m) AS movies
UNWIND range(0, size(kept) - 1) AS pos
WITH u, row, kept[pos] AS i, movies[pos] AS m, 1 + size([j IN kept WHERE j < kept[pos]]) AS rank
MERGE (u)-[r:RECOMMENDED {runId: $runId}]->(m)
SET r.score = row.scores[i],
    r.rank = rank,
    r.predictedRating = row.ratings[i]
RETURN count(r) AS written
