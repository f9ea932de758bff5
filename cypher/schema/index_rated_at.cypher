// Purpose: range index on RATED.ratedAt, so engine refresh finds the ratings written since a time by an index seek.
// Params: none
// Example:
//   (no parameters)
CREATE INDEX rated_ratedAt IF NOT EXISTS
FOR ()-[r:RATED]-() ON (r.ratedAt)
