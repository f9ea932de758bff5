// Purpose: the model run readers see now, with its metrics and what it wrote (start here in Neo4j Browser).
// Params: none
// Example:
//   (no parameters)
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH run
ORDER BY run.switchedAt DESC
LIMIT 1
MATCH (all:ModelRun)
WITH run, collect(all.runId + ' (' + all.status + CASE WHEN all.current THEN ', current' ELSE '' END + ')') AS runs
RETURN run.runId AS runId,
       run.model AS model,
       run.dataset AS dataset,
       toString(run.trainedAt) AS trainedAt,
       toString(run.switchedAt) AS switchedAt,
       run.gitSha AS gitSha,
       run.k AS k,
       run.params AS params,
       run.metrics AS metrics,
       run.embeddingProperty AS embeddingProperty,
       run.movieIndex AS movieIndex,
       runs
