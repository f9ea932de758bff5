// Purpose: the internal node id of every :User and :Movie, keyed by MovieLens id. The
//   loader and write-back address batched writes by them (engine/nodeids.py); re-read every run.
// Params: none
// Example:
//   (no parameters)
MATCH (n:User) RETURN 'User' AS label, n.userId AS key, id(n) AS id
UNION ALL
MATCH (n:Movie) RETURN 'Movie' AS label, n.movieId AS key, id(n) AS id
