// Purpose: write new live top-K lists (version $version of run $runId, source 'model:live'), not yet read by anyone:
//   readers read a user's list of version User.liveVersion, which live/switch_users sets afterwards.
//   Only while $owner holds the refresh lease (a refresher that lost it writes nothing).
// Params:
//   $lease     STRING                       lease name ('live')
//   $owner     STRING                       the refresher that must hold the lease
//   $runId     STRING                       the current run (nothing is written for another)
//   $version   INTEGER                      version of these lists (increases with every refresh)
//   $userIds   LIST<INTEGER>                the users
//   $movieIds  LIST<LIST<INTEGER>>          each user's top-K movieIds, best first
//   $scores    LIST<LIST<FLOAT>>            their scores, same shape
//   $ratings   LIST<LIST<FLOAT>> or null    predicted ratings, same shape (null: not a rating model)
//   $reasons   LIST<LIST<INTEGER>> or null  movieId of the recent rating that leads to each movie (becauseOf)
// Example:
//   :param {lease: 'live', owner: 'example-host:1:abcd', runId: 'example-run', version: 1, userIds: [1], movieIds: [[1, 2]], scores: [[0.9, 0.8]], ratings: null, reasons: null}
MATCH (lease:WritebackLease {name: $lease})
WHERE lease.owner = $owner AND lease.expiresAt > datetime()
MATCH (run:ModelRun {runId: $runId})
WHERE run.current AND run.status = 'complete'
UNWIND range(0, size($userIds) - 1) AS i
MATCH (u:User {userId: toInteger($userIds[i])})
UNWIND range(0, size($movieIds[i]) - 1) AS pos
MATCH (m:Movie {movieId: toInteger($movieIds[i][pos])})
CREATE (u)-[r:RECOMMENDED {runId: $runId, version: toInteger($version)}]->(m)
SET r.score = toFloat($scores[i][pos]), r.rank = pos + 1, r.predictedRating = $ratings[i][pos],
    r.becauseOf = $reasons[i][pos], r.source = 'model:live'
RETURN count(r) AS written
