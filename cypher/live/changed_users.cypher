// Purpose: users whose ratings changed after run $runId last saw them: RATED edges written since $since (ratedAt)
//   that the user's live list of the run does not cover yet: a rating written after liveAsOf, or ratings that differ
//   from the ones folded in (liveCount, and liveDigest, a sum over (timestamp, rating) that a re-rate changes;
//   the timestamp enters modulo a prime, so no 64-bit timestamp can overflow the sum).
//   A deleted rating is noticed with the user's next new rating (or the next engine train).
// Params:
//   $runId            STRING   the current run
//   $since            STRING   ISO-8601 time; ratings written after it, less $lookbackSeconds, are looked at
//   $lookbackSeconds  INTEGER  how far before $since to look again (a writer's transaction may commit late)
// Example:
//   :param {runId: 'example-run', since: '2026-01-01T00:00:00Z', lookbackSeconds: 60}
WITH datetime() AS now
CALL () {
  MATCH (u:User)-[r:RATED]->()
  WHERE r.ratedAt > datetime($since) - duration({seconds: toInteger($lookbackSeconds)})
  WITH u, max(r.ratedAt) AS latest
  CALL (u) {
    MATCH (u)-[x:RATED]->()
    RETURN count(x) AS ratingCount, sum((toInteger(x.timestamp) % 1000000007) * 16 + toInteger(round(toFloat(x.rating) * 2))) AS digest
  }
  WITH u, latest, ratingCount, digest
  WHERE u.liveRun IS NULL OR u.liveRun <> $runId OR u.liveAsOf IS NULL OR u.liveAsOf < latest
     OR u.liveCount <> ratingCount OR u.liveDigest IS NULL OR u.liveDigest <> digest
  RETURN collect(u.userId) AS users
}
RETURN users, toString(now) AS now
