// Purpose: idempotent path (resumed runs): MERGE one batch of SIMILAR edges of a run (movie -> its nearest movies).
// Params:
//   $runId  STRING     the run the edges belong to
//   $rows   LIST<MAP>  {movieId: INTEGER, movieIds: LIST<INTEGER>, scores: LIST<FLOAT>}, most similar first
// Example:
//   :param {runId: 'example-run', rows: [{movieId: 1, movieIds: [3114, 2355], scores: [0.92, 0.81]}]}
UNWIND $rows AS row
MATCH (m:Movie {movieId: row.movieId})
UNWIND range(0, size(row.movieIds) - 1) AS i
MATCH (other:Movie {movieId: row.movieIds[i]})
WHERE other <> m
MERGE (m)-[s:SIMILAR {runId: $runId}]->(other)
SET s.score = row.scores[i]
RETURN count(s) AS written
