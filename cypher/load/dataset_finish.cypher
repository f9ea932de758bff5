// Purpose: mark a load complete with the verified counts.
// Params:
//   $name    STRING  dataset name
//   $counts  STRING  JSON of the counts written and verified
// Example:
//   :param {name: 'ml-latest-small', counts: '{"ratings": 100836}'}
MATCH (d:Dataset {name: $name})
SET d.status = 'complete', d.counts = $counts, d.loadedAt = datetime(), d.ratingsMode = null
RETURN d.name AS name
