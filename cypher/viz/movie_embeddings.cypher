// Purpose: the most-rated movies with their genres and their vector in the current model run's embedding slot
//   (property run.embeddingProperty), for the embedding map of `engine viz`. No run or no vectors: no rows.
// Params:
//   $limit  INTEGER  at most this many movies (the most rated first)
// Example:
//   :param limit => 2000
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH run
ORDER BY run.switchedAt DESC
LIMIT 1
MATCH (m:Movie)
WHERE run IS NOT NULL
  AND m[run.embeddingProperty] IS NOT NULL
WITH run, m, COUNT { (m)<-[:RATED]-() } AS ratings
ORDER BY ratings DESC, m.movieId
LIMIT toInteger($limit)
RETURN m.movieId AS movieId,
       m.title AS title,
       m.year AS year,
       ratings,
       [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS genres,
       m[run.embeddingProperty] AS embedding
