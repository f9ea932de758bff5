// Purpose: a deterministic sample of RATED edges (userId, movieId, rating) to compare a rating model's predictions
//   with the true ratings in `engine viz` (every $every-th user, at most $limit rows).
// Params:
//   $every  INTEGER  keep users whose userId is a multiple of this
//   $limit  INTEGER  at most this many rows
// Example:
//   :param {every: 10, limit: 5000}
MATCH (u:User)-[r:RATED]->(m:Movie)
WHERE u.userId % $every = 0
RETURN u.userId AS userId,
       m.movieId AS movieId,
       r.rating AS rating
ORDER BY userId, movieId
LIMIT toInteger($limit)
