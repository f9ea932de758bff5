// Purpose: give the write-back lease back (delete it) when its owner is done; released 0 if another writer holds it.
// Params:
//   $lease  STRING  lease name ('writeback')
//   $owner  STRING  the writer holding it
// Example:
//   :param {lease: 'writeback', owner: 'example-host:1:abcd'}
OPTIONAL MATCH (l:WritebackLease {name: $lease})
SET l.attempt = $owner
WITH l
WHERE l.owner = $owner
DELETE l
RETURN count(*) AS released
