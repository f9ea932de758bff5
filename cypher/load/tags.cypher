// Purpose: MERGE a batch of TAGGED edges keyed by (user, movie, tag) (idempotent).
// Params:
//   $rows  LIST<MAP>  {userId: INTEGER, movieId: INTEGER, tag: STRING, timestamp: INTEGER}
// Example:
//   :param rows => [{userId: 2, movieId: 60756, tag: 'funny', timestamp: 1445714994}]
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (m:Movie {movieId: row.movieId})
MERGE (u)-[t:TAGGED {tag: row.tag}]->(m)
SET t.timestamp = row.timestamp
