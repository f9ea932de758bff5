// Purpose: write a batch of ratings (:User)-[:RATED {rating, timestamp, ratedAt}]->(:Movie) that engine refresh picks up.
//   A new userId creates its :User; an existing rating of the same pair is overwritten. ratedAt = datetime() (when it
//   was written) is what engine refresh looks for, so any client that sets it gets live recommendations. Movies must
//   exist (engine rate checks first, live/known_movies): a row whose movie is missing writes nothing. Each rated
//   movie's ratingCount (cold-start popularity) is recounted in the same transaction.
// Params:
//   $userIds     LIST<INTEGER>  userId of each rating
//   $movieIds    LIST<INTEGER>  movieId of each rating (same length)
//   $ratings     LIST<FLOAT>    the ratings, on the loaded release's scale
//   $timestamps  LIST<INTEGER>  when each rating was given, epoch seconds
// Example:
//   :param {userIds: [1], movieIds: [1], ratings: [4.5], timestamps: [1700000000]}
UNWIND range(0, size($userIds) - 1) AS i
MATCH (m:Movie {movieId: toInteger($movieIds[i])})
MERGE (u:User {userId: toInteger($userIds[i])})
MERGE (u)-[r:RATED]->(m)
SET r.rating = toFloat($ratings[i]),
    r.timestamp = toInteger($timestamps[i]),
    r.ratedAt = datetime()
WITH collect(DISTINCT m) AS movies, count(r) AS written
CALL (movies) {
  UNWIND movies AS m
  SET m.ratingCount = COUNT { (m)<-[:RATED]-() }
}
RETURN written
