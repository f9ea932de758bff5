// Purpose: first-load path (dataset not complete yet): CREATE a batch of RATED edges.
//   Endpoints are given by internal node id, fetched by the loader right before the
//   batches (load/node_ids): an id seek is ~2.5x cheaper than a userId/movieId index
//   seek, and the parallel lists are cheaper to send than one map per row.
// Params:
//   $users       LIST<INTEGER>  internal id of each rating's :User
//   $movies      LIST<INTEGER>  internal id of each rating's :Movie (same length)
//   $ratings     LIST<FLOAT>    rating values (same length)
//   $timestamps  LIST<INTEGER>  epoch seconds (same length)
// Example:
//   :param {users: [0], movies: [1], ratings: [4.0], timestamps: [964982703]}
UNWIND range(0, size($users) - 1) AS i
MATCH (u) WHERE id(u) = $users[i]
MATCH (m) WHERE id(m) = $movies[i]
CREATE (u)-[:RATED {rating: $ratings[i], timestamp: $timestamps[i]}]->(m)
