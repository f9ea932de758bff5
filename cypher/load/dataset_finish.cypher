// Purpose: mark a load complete with the verified counts and drop its resume checkpoints.
// Params:
//   $name    STRING  dataset name
//   $counts  STRING  JSON of the counts written and verified
// Example:
//   :param {name: 'ml-latest-small', counts: '{"ratings": 100836}'}
MATCH (d:Dataset {name: $name})
SET d.status = 'complete', d.counts = $counts, d.loadedAt = datetime(), d.ratingsMode = null,
    d.ratingsDone00 = null, d.ratingsDone01 = null, d.ratingsDone10 = null,
    d.ratingsDone11 = null, d.tagsDone = null
RETURN d.name AS name
