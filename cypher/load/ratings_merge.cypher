// Purpose: idempotent path (reload of a complete dataset, or restart after the files
//   changed): MERGE a batch of RATED edges, updating their values. The newest rating wins:
//   a live rating (ratedAt set, by engine rate) whose timestamp is at least the file row's
//   is kept as it is, so reloading a release never overwrites what users rated since; a file row that wins
//   makes the rating the file's again (ratedAt removed, so it no longer counts as live).
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
WITH r, i, r.ratedAt IS NOT NULL AND coalesce(r.timestamp, -1) >= $timestamps[i] AS newer
SET r.rating = CASE WHEN newer THEN r.rating ELSE $ratings[i] END,
    r.timestamp = CASE WHEN newer THEN r.timestamp ELSE $timestamps[i] END,
    r.ratedAt = CASE WHEN newer THEN r.ratedAt ELSE null END
