// Purpose: every movieId, in order (to delete a run's SIMILAR edges in batches of movies).
// Params: none
// Example:
//   (no parameters)
MATCH (m:Movie)
RETURN m.movieId AS id
ORDER BY id
