// Purpose: range index on Movie.ratingCount, so cold-start popularity reads movies in popularity order from the index.
// Params: none
// Example:
//   (no parameters)
CREATE INDEX movie_ratingCount IF NOT EXISTS
FOR (m:Movie) ON (m.ratingCount)
