// Purpose: take the database's one write-back lease if it is free, expired or already ours; say who holds it otherwise.
//   A holder the caller found dead ($deadOwner: same host, its process gone) counts as expired.
//   The first SET write-locks the lease node before its owner and expiry are read, so two
//   writers never both see it free (the second waits for the first to commit, then reads it).
// Params:
//   $lease       STRING   lease name ('writeback')
//   $owner       STRING   this writer (host:pid:random)
//   $ttlSeconds  INTEGER  how long the lease lasts unless renewed (a crashed writer's lease expires)
//   $deadOwner   STRING   a holder known to be dead (host:pid:random of a process gone from this host), or null
// Example:
//   :param {lease: 'writeback', owner: 'example-host:1:abcd', ttlSeconds: 60, deadOwner: null}
MERGE (l:WritebackLease {name: $lease})
ON CREATE SET l.owner = $owner, l.acquiredAt = datetime(),
              l.expiresAt = datetime() + duration({seconds: $ttlSeconds})
SET l.attempt = $owner
WITH l, l.owner = $owner AS ours,
     l.expiresAt < datetime() OR coalesce(l.owner = $deadOwner, false) AS expired
WITH l, ours, ours OR expired AS free
FOREACH (_ IN CASE WHEN free THEN [1] ELSE [] END |
  SET l.acquiredAt = CASE WHEN ours THEN l.acquiredAt ELSE datetime() END,
      l.owner = $owner,
      l.expiresAt = datetime() + duration({seconds: $ttlSeconds})
)
RETURN free AS acquired, l.owner AS owner, toString(l.acquiredAt) AS acquiredAt,
       toString(l.expiresAt) AS expiresAt
