// Purpose: which of the given movieIds exist (engine rate checks every movie before it writes anything).
// Params:
//   $movieIds  LIST<INTEGER>  the movieIds to check
// Example:
//   :param {movieIds: [1, 2, -5]}
UNWIND $movieIds AS id
MATCH (m:Movie {movieId: toInteger(id)})
RETURN collect(DISTINCT m.movieId) AS known
