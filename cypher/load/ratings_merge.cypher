// Purpose: idempotent path: MERGE a batch of RATED edges (grouped by user), updating values.
// Params:
//   $rows  LIST<MAP>  {userId: INTEGER, movieIds: LIST<INTEGER>, ratings: LIST<FLOAT>, timestamps: LIST<INTEGER>}
// Example:
//   :param rows => [{userId: 1, movieIds: [1, 3], ratings: [4.0, 4.0], timestamps: [964982703, 964981247]}]
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
UNWIND range(0, size(row.movieIds) - 1) AS i
MATCH (m:Movie {movieId: row.movieIds[i]})
MERGE (u)-[r:RATED]->(m)
SET r.rating = row.ratings[i], r.timestamp = row.timestamps[i]
