// Purpose: every :ModelRun with its write-back state, most recently switched (or started) first.
// Params: none
// Example:
//   (no parameters)
MATCH (run:ModelRun)
RETURN run.runId AS runId,
       run.model AS model,
       run.status AS status,
       run.current AS current,
       run.fingerprint AS fingerprint,
       run.embeddingSlot AS embeddingSlot,
       run.embeddingDim AS embeddingDim,
       toString(run.switchedAt) AS switchedAt,
       toString(run.startedAt) AS startedAt
ORDER BY coalesce(run.switchedAt, run.startedAt) DESC
