// Purpose: first step of deleting old runs: hide them from every reader (never the current run).
// Params:
//   $runIds  LIST<STRING>  runs to delete
// Example:
//   :param runIds => ['old-run']
MATCH (run:ModelRun)
WHERE run.runId IN $runIds AND NOT run.current
SET run.status = 'deleting',
    run.embeddingSlot = null,
    run.embeddingProperty = null,
    run.userIndex = null,
    run.movieIndex = null
REMOVE run.switchedAt
RETURN run.runId AS runId
