// Purpose: the internal node id of every :Movie with its movieId, as two parallel lists in
//   one row; read once per export right after the RATED edges (which name movies by node
//   id) to map them back.
// Params: none
// Example:
//   (no parameters)
MATCH (m:Movie)
RETURN collect(id(m)) AS nodes, collect(m.movieId) AS movieIds
