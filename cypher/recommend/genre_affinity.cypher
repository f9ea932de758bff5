// Purpose: a user's genre affinity: per genre, ratings, average rating, share of the user's ratings, affinity
//   (share x average / the user's mean rating) and how many of the current run's recommendations are in it.
// Params:
//   $userId  INTEGER  the user
// Example:
//   :param userId => 1
MATCH (u:User {userId: toInteger($userId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH u, run
ORDER BY run.switchedAt DESC
LIMIT 1
// the user's list: the write-back's (version 0) or engine refresh's live one, bound once
WITH u, run, CASE WHEN properties(u).liveRun = run.runId THEN properties(u).liveVersion ELSE 0 END AS listVersion
CALL (u) {
  MATCH (u)-[r:RATED]->()
  RETURN avg(r.rating) AS mean, count(r) AS total
}
MATCH (u)-[r:RATED]->(:Movie)-[:IN_GENRE]->(g:Genre)
WITH u, run, listVersion, mean, total, g, count(r) AS ratings, avg(r.rating) AS avgRating
CALL (u, run, g, listVersion) {
  MATCH (u)-[rec:RECOMMENDED]->(:Movie)-[:IN_GENRE]->(g)
  WHERE rec.runId = run.runId AND coalesce(properties(rec).version, 0) = listVersion
  RETURN count(rec) AS recommended
}
WITH g, ratings, avgRating, mean, total, recommended, toFloat(ratings) / total AS share
RETURN g.name AS genre,
       ratings,
       round(avgRating, 2) AS avgRating,
       round(share, 3) AS share,
       round(share * avgRating / mean, 3) AS affinity,
       recommended
ORDER BY affinity DESC, genre
