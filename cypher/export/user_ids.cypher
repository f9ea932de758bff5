// Purpose: ids of the users a training subgraph may include, with their rating counts, as
//   two parallel lists in one row (sorted by userId).
// Params:
//   $minRatings  INTEGER        keep users with at least this many ratings in total
//   $maxRatings  INTEGER|NULL   drop users with more (e.g. 200: the "bulk rater" cutoff)
// Example:
//   :param {minRatings: 1, maxRatings: null}
MATCH (u:User)
WITH u, COUNT { (u)-[:RATED]->() } AS degree
WHERE degree >= $minRatings
  AND ($maxRatings IS NULL OR degree <= $maxRatings)
WITH u.userId AS userId, degree
ORDER BY userId
RETURN collect(userId) AS userIds, collect(degree) AS degrees
