// Purpose: stream the selected RATED edges, one row per user with parallel lists (compact).
//   Movies come as internal node ids (export/movie_nodes maps them back to movieId): reading
//   each edge's m.movieId would cost a property read per edge, about 40% of the export.
// Params:
//   $userIds    LIST<INTEGER>        users to export (chunk of the selection)
//   $minTs      INTEGER|NULL         keep ratings with timestamp >= this (epoch seconds)
//   $maxTs      INTEGER|NULL         keep ratings with timestamp < this
//   $minRating  FLOAT|NULL           keep ratings >= this (implicit feedback threshold)
//   $genres     LIST<STRING>|NULL    keep ratings of movies in any of these genres
// Example:
//   :param {userIds: [1, 2, 3], minTs: null, maxTs: null, minRating: null, genres: null}
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})-[r:RATED]->(m:Movie)
WHERE ($minTs IS NULL OR r.timestamp >= $minTs)
  AND ($maxTs IS NULL OR r.timestamp < $maxTs)
  AND ($minRating IS NULL OR r.rating >= $minRating)
  AND ($genres IS NULL OR EXISTS { (m)-[:IN_GENRE]->(g:Genre) WHERE g.name IN $genres })
RETURN userId, collect(id(m)) AS movieNodes, collect(r.rating) AS ratings,
       collect(r.timestamp) AS timestamps
