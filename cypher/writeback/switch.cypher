// Purpose: the atomic switch: make $runId the one current run (one transaction, locks every :ModelRun).
// Params:
//   $runId  STRING  the completely written run to make current
// Example:
//   :param runId => 'example-run'
MATCH (run:ModelRun)
SET run.current = (run.runId = $runId)
WITH run
WHERE run.runId = $runId
SET run.status = 'complete',
    run.switchedAt = datetime()
RETURN run.runId AS runId
