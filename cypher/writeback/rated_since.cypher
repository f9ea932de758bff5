// Purpose: the ratings written since a time (RATED.ratedAt, the live-update contract), as two parallel
//   lists: the write-back drops them from a run's top-K when it checks already-rated movies itself.
//   Seeks the rated_ratedAt range index; ratings loaded by engine load carry no ratedAt.
// Params:
//   $since            STRING   ISO-8601 time (the run's export)
//   $lookbackSeconds  INTEGER  how far before $since to look as well (a writer's transaction may commit late)
// Example:
//   :param {since: '2026-01-01T00:00:00Z', lookbackSeconds: 60}
MATCH (u:User)-[r:RATED]->(m:Movie)
WHERE r.ratedAt > datetime($since) - duration({seconds: toInteger($lookbackSeconds)})
RETURN collect(u.userId) AS users, collect(m.movieId) AS movies
