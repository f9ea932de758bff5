// Purpose: metadata of the movies in a training subgraph: title, year, genres (for features).
// Params:
//   $movieIds  LIST<INTEGER>  movies to describe
// Example:
//   :param movieIds => [1, 2, 3]
UNWIND $movieIds AS movieId
MATCH (m:Movie {movieId: movieId})
RETURN movieId, m.title AS title, m.year AS year,
       COLLECT { MATCH (m)-[:IN_GENRE]->(g:Genre) RETURN g.name ORDER BY g.name } AS genres
