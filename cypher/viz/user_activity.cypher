// Purpose: every user's activity (number of ratings, mean rating) and, when asked, their vector in the current
//   model run's embedding slot, for the activity plots and the user overlay of `engine viz`.
// Params:
//   $withEmbeddings  BOOLEAN  also return each user's vector (null when the run has none)
// Example:
//   :param withEmbeddings => false
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH run
ORDER BY run.switchedAt DESC
LIMIT 1
MATCH (u:User)-[r:RATED]->(:Movie)
WITH run, u, count(r) AS ratings, avg(r.rating) AS meanRating
RETURN u.userId AS userId,
       ratings,
       meanRating,
       CASE WHEN $withEmbeddings AND run IS NOT NULL THEN u[run.embeddingProperty] END AS embedding
ORDER BY userId
