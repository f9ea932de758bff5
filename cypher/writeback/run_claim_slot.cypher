// Purpose: give embedding slot $slot to run $runId (taking it from any other, non-current run that held it), only while $owner holds the write-back lease.
//   The lease node is write-locked first, so no other writer can claim or switch meanwhile;
//   no row returned means the lease was lost and nothing changed.
// Params:
//   $lease      STRING   lease name ('writeback')
//   $owner      STRING   the writer that must hold the lease
//   $runId      STRING   the run whose vectors go into the slot
//   $slot       STRING   'a' or 'b'
//   $property   STRING   node property of the slot, e.g. 'embedding'
//   $userIndex  STRING   vector index over :User(property)
//   $movieIndex STRING   vector index over :Movie(property)
//   $dim        INTEGER  vector dimension
// Example:
//   :param {lease: 'writeback', owner: 'example-host:1:abcd', runId: 'example-run', slot: 'a', property: 'embedding', userIndex: 'user_embedding', movieIndex: 'movie_embedding', dim: 64}
MATCH (lease:WritebackLease {name: $lease})
SET lease.attempt = $owner
WITH lease
WHERE lease.owner = $owner AND lease.expiresAt > datetime()
MATCH (run:ModelRun {runId: $runId})
OPTIONAL MATCH (other:ModelRun {embeddingSlot: $slot})
WHERE other <> run AND NOT other.current
SET other.embeddingSlot = null,
    other.embeddingProperty = null,
    other.userIndex = null,
    other.movieIndex = null
WITH DISTINCT run
SET run.embeddingSlot = $slot,
    run.embeddingProperty = $property,
    run.userIndex = $userIndex,
    run.movieIndex = $movieIndex,
    run.embeddingDim = $dim
RETURN run.runId AS runId
