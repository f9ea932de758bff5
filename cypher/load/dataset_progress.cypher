// Purpose: record, in the same transaction as a batch, how many rows of a file are committed.
// Params:
//   $name      STRING  dataset name
//   $progress  MAP     e.g. {ratingsDone00: 50000, ratingsMode: 'create'}; batches go in a fixed order
// Example:
//   :param {name: 'ml-latest-small', progress: {ratingsDone00: 50000, ratingsMode: 'create'}}
MATCH (d:Dataset {name: $name})
SET d += $progress
