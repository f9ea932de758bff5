// Purpose: the atomic switch: make $runId the one current run (one transaction, locks every :ModelRun), only while $owner holds the write-back lease.
//   The lease node is write-locked first; no row returned means the lease was lost and no run changed.
// Params:
//   $lease  STRING  lease name ('writeback')
//   $owner  STRING  the writer that must hold the lease
//   $runId  STRING  the completely written run to make current
// Example:
//   :param {lease: 'writeback', owner: 'example-host:1:abcd', runId: 'example-run'}
MATCH (lease:WritebackLease {name: $lease})
SET lease.attempt = $owner
WITH lease
WHERE lease.owner = $owner AND lease.expiresAt > datetime()
MATCH (run:ModelRun)
SET run.current = (run.runId = $runId)
WITH run
WHERE run.runId = $runId
SET run.status = 'complete',
    run.switchedAt = datetime()
RETURN run.runId AS runId
