// Purpose: how many RECOMMENDED and SIMILAR edges and vectors a run has in the graph (verification, tests).
// Params:
//   $runId  STRING  the run
// Example:
//   :param runId => 'example-run'
MATCH (run:ModelRun {runId: $runId})
CALL (run) {
  MATCH (:User)-[r:RECOMMENDED]->(:Movie)
  WHERE r.runId = run.runId
  RETURN count(r) AS recommended, count(DISTINCT startNode(r)) AS users
}
CALL (run) {
  MATCH (:Movie)-[s:SIMILAR]->(:Movie)
  WHERE s.runId = run.runId
  RETURN count(s) AS similar
}
CALL (run) {
  MATCH (u:User)
  WHERE run.embeddingProperty IS NOT NULL AND u[run.embeddingProperty] IS NOT NULL
  RETURN count(u) AS userVectors
}
CALL (run) {
  MATCH (m:Movie)
  WHERE run.embeddingProperty IS NOT NULL AND m[run.embeddingProperty] IS NOT NULL
  RETURN count(m) AS movieVectors
}
RETURN run.runId AS runId, run.current AS current, run.status AS status,
       recommended, users, similar, userVectors, movieVectors
