// Purpose: idempotent path (reload of a complete dataset, or restart after the files
//   changed): MERGE a batch of RATED edges, updating their values.
// Params:
//   $users       LIST<INTEGER>  internal id of each rating's :User (load/node_ids)
//   $movies      LIST<INTEGER>  internal id of each rating's :Movie (same length)
//   $ratings     LIST<FLOAT>    rating values (same length)
//   $timestamps  LIST<INTEGER>  epoch seconds (same length)
// Example:
//   :param {users: [0], movies: [1], ratings: [4.0], timestamps: [964982703]}
UNWIND range(0, size($users) - 1) AS i
MATCH (u) WHERE id(u) = $users[i]
MATCH (m) WHERE id(m) = $movies[i]
MERGE (u)-[r:RATED]->(m)
SET r.rating = $ratings[i], r.timestamp = $timestamps[i]
