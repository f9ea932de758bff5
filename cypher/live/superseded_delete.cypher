// Purpose: delete up to $limit RECOMMENDED edges superseded more than $graceSeconds ago (old live lists no reader
//   can still be reading: a reader that picked the old version finishes well within the grace period).
// Params:
//   $graceSeconds  INTEGER  how long a superseded list stays
//   $limit         INTEGER  most edges deleted by one call
// Example:
//   :param {graceSeconds: 5, limit: 10000}
MATCH ()-[r:RECOMMENDED]->()
WHERE r.supersededAt < datetime() - duration({seconds: toInteger($graceSeconds)})
WITH r
LIMIT toInteger($limit)
DELETE r
RETURN count(*) AS deleted
