// Purpose: the next live-list version of run $runId (one per refreshed set of users; allocated by the database, so
//   versions only grow whichever host refreshes), while $owner holds the refresh lease.
// Params:
//   $lease  STRING  lease name ('live')
//   $owner  STRING  the refresher that must hold the lease
//   $runId  STRING  the current run
// Example:
//   :param {lease: 'live', owner: 'example-host:1:abcd', runId: 'example-run'}
MATCH (lease:WritebackLease {name: $lease})
SET lease.attempt = $owner
WITH lease
WHERE lease.owner = $owner AND lease.expiresAt > datetime()
MATCH (run:ModelRun {runId: $runId})
WHERE run.current
SET run.liveSeq = coalesce(run.liveSeq, 0) + 1
RETURN run.liveSeq AS version
