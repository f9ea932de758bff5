// Purpose: whether a user and a movie exist, and which model run readers see now (the CLI checks ids with it).
// Params:
//   $userId   INTEGER  a userId, or null
//   $movieId  INTEGER  a movieId, or null
// Example:
//   :param {userId: 1, movieId: 1}
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH run
ORDER BY run.switchedAt DESC
LIMIT 1
OPTIONAL MATCH (u:User {userId: toInteger($userId)})
OPTIONAL MATCH (m:Movie {movieId: toInteger($movieId)})
RETURN u IS NOT NULL AS userExists,
       m IS NOT NULL AS movieExists,
       m.title AS title,
       run.runId AS runId,
       run.model AS model,
       run.k AS k,
       toString(run.trainedAt) AS trainedAt
