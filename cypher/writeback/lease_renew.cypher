// Purpose: extend the write-back lease while its owner works (heartbeat); renewed 0 means it was lost.
//   The SET locks the node first, so the owner is read after any takeover committed.
// Params:
//   $lease       STRING   lease name ('writeback')
//   $owner       STRING   the writer holding it
//   $ttlSeconds  INTEGER  new lifetime from now
// Example:
//   :param {lease: 'writeback', owner: 'example-host:1:abcd', ttlSeconds: 60}
OPTIONAL MATCH (l:WritebackLease {name: $lease})
SET l.attempt = $owner
WITH l
WHERE l.owner = $owner
SET l.expiresAt = datetime() + duration({seconds: $ttlSeconds})
RETURN count(l) AS renewed
