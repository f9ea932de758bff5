// Purpose: range index on ModelRun.current, so every recommendation query finds the current run by an index seek.
// Params: none
// Example:
//   (no parameters)
CREATE INDEX modelrun_current IF NOT EXISTS
FOR (run:ModelRun) ON (run.current)
