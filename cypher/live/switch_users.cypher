// Purpose: make the live lists of version $version (live/recommended_live) the ones readers see, in ONE transaction:
//   each user's liveVersion flips (a newer version already there is kept), the lists it replaces are marked
//   supersededAt (live/superseded_delete removes them after a grace period), the user's vector in the run's slot
//   follows (null: removed), and the run records the refresh (refreshedUsers, refreshedAt). Only while $owner holds
//   the refresh lease (its node is write-locked first, so two refreshers never interleave) and $runId is current.
// Params:
//   $lease     STRING                     lease name ('live')
//   $owner     STRING                     the refresher that must hold the lease
//   $runId     STRING                     the current run
//   $version   INTEGER                    the version to show
//   $userIds   LIST<INTEGER>              the users
//   $asOf      LIST<STRING>               latest ratedAt folded in per user (ISO-8601, or null)
//   $counts    LIST<INTEGER>              ratings folded in per user
//   $digests   LIST<INTEGER>              their digest (live/histories)
//   $property  STRING or null             the run's embedding property (null: no vectors)
//   $vectors   LIST<LIST<FLOAT>> or null  each user's fold-in vector
// Example:
//   :param {lease: 'live', owner: 'example-host:1:abcd', runId: 'example-run', version: 1, userIds: [1], asOf: [null], counts: [1], digests: [0], property: null, vectors: null}
MATCH (lease:WritebackLease {name: $lease})
SET lease.attempt = $owner
WITH lease
WHERE lease.owner = $owner AND lease.expiresAt > datetime()
MATCH (run:ModelRun {runId: $runId})
WHERE run.current AND run.status = 'complete'
UNWIND range(0, size($userIds) - 1) AS i
MATCH (u:User {userId: toInteger($userIds[i])})
WITH run, u, i, coalesce(u.liveRun = $runId AND u.liveVersion > toInteger($version), false) AS newer
FOREACH (_ IN CASE WHEN newer THEN [] ELSE [1] END |
  SET u.liveRun = $runId, u.liveVersion = toInteger($version), u.liveAsOf = datetime($asOf[i]),
      u.liveCount = toInteger($counts[i]), u.liveDigest = toInteger($digests[i]))
FOREACH (_ IN CASE WHEN NOT newer AND $property IS NOT NULL AND $vectors IS NOT NULL THEN [1] ELSE [] END |
  SET u[$property] = $vectors[i])
WITH run, u
CALL (u) {
  MATCH (u)-[r:RECOMMENDED]->()
  WHERE r.runId = $runId AND r.supersededAt IS NULL AND coalesce(r.version, 0) <> u.liveVersion
  SET r.supersededAt = datetime()
}
WITH run, count(u) AS users
SET run.refreshedUsers = coalesce(run.refreshedUsers, 0) + users,
    run.refreshedAt = datetime()
RETURN users
