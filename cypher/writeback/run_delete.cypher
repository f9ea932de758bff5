// Purpose: last step of deleting old runs: the :ModelRun nodes, once their edges are gone.
// Params:
//   $runIds  LIST<STRING>  runs to delete
// Example:
//   :param runIds => ['old-run']
MATCH (run:ModelRun)
WHERE run.runId IN $runIds AND run.status = 'deleting'
DELETE run
RETURN count(*) AS deleted
