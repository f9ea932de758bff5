// Purpose: uniqueness of :ModelRun(runId), one node per training run written back.
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT modelrun_runId IF NOT EXISTS
FOR (r:ModelRun) REQUIRE r.runId IS UNIQUE
