// Purpose: idempotent path (resumed runs): MERGE one batch of SIMILAR edges of a run (movie -> its nearest movies).
//   Movies are addressed by internal id (admin/node_ids, read by the same write-back).
//   Why two files (similar_create / similar_batch): CREATE and MERGE are different clauses and Cypher
//   cannot choose a clause by parameter; CREATE is the fast path for a run with no edge yet, MERGE makes a
//   resumed run idempotent. The rest of the two statements is identical.
// Params:
//   $runId   STRING                the run the edges belong to
//   $movies  LIST<INTEGER>         internal ids of the source movies
//   $others  LIST<LIST<INTEGER>>   internal ids of each source's nearest movies, most similar first
//   $scores  LIST<LIST<FLOAT>>     their similarity scores, same shape as $others
// Example:
//   :param {runId: 'example-run', movies: [0], others: [[1, 2]], scores: [[0.9, 0.8]]}
UNWIND range(0, size($movies) - 1) AS i
MATCH (m) WHERE id(m) = $movies[i]
UNWIND range(0, size($others[i]) - 1) AS j
MATCH (other) WHERE id(other) = $others[i][j] AND other <> m
MERGE (m)-[s:SIMILAR {runId: $runId}]->(other)
SET s.score = $scores[i][j]
RETURN count(s) AS written
