// Purpose: the whole rating history of each user (movieIds, ratings, timestamps), for fold-in by engine refresh,
//   with what identifies it (latest ratedAt, count, and the overflow-proof digest live/changed_users compares).
// Params:
//   $userIds  LIST<INTEGER>  the users
// Example:
//   :param {userIds: [1, 2]}
UNWIND $userIds AS id
MATCH (u:User {userId: toInteger(id)})
OPTIONAL MATCH (u)-[r:RATED]->(m:Movie)
WITH u, collect(m.movieId) AS movies, collect(r.rating) AS ratings, collect(r.timestamp) AS timestamps,
     max(r.ratedAt) AS asOf, count(r) AS ratingCount,
     sum((toInteger(r.timestamp) % 1000000007) * 16 + toInteger(round(toFloat(r.rating) * 2))) AS digest
RETURN u.userId AS userId, movies, ratings, timestamps, toString(asOf) AS asOf, ratingCount, digest
