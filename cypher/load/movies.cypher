// Purpose: upsert a batch of :Movie nodes and their IN_GENRE edges (idempotent).
// Params:
//   $rows  LIST<MAP>  {movieId: INTEGER, title: STRING, year: INTEGER?, imdbId: INTEGER?,
//                      tmdbId: INTEGER?, genres: LIST<STRING>}
// Example:
//   :param rows => [{movieId: 1, title: 'Toy Story (1995)', year: 1995, imdbId: 114709, tmdbId: 862, genres: ['Animation', 'Comedy']}]
UNWIND $rows AS row
MERGE (m:Movie {movieId: row.movieId})
SET m.title = row.title, m.year = row.year, m.imdbId = row.imdbId, m.tmdbId = row.tmdbId
WITH m, row
UNWIND row.genres AS genreName
MATCH (g:Genre {name: genreName})
MERGE (m)-[:IN_GENRE]->(g)
