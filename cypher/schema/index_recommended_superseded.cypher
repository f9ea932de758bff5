// Purpose: range index on RECOMMENDED.supersededAt, so superseded live lists are found and deleted by an index seek.
// Params: none
// Example:
//   (no parameters)
CREATE INDEX recommended_supersededAt IF NOT EXISTS
FOR ()-[r:RECOMMENDED]-() ON (r.supersededAt)
