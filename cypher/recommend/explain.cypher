// Purpose: why movie $movieId is (or is not) recommended to user $userId: the model's score and rank, the user's favourites
//   closest to it by the run's vectors, favourites that fans of the movie also loved (co-rating paths), similar users who
//   loved it, shared genres, and for a sequence-aware run the recent rating that leads to it (becauseOf); one row,
//   with example paths (u)-[:RATED]->(fav)<-[:RATED]-(fan)-[:RATED]->(m) for Neo4j Browser.
// Params:
//   $userId   INTEGER  the user
//   $movieId  INTEGER  the movie
// Example:
//   :param {userId: 1, movieId: 1196}
MATCH (u:User {userId: toInteger($userId)})
MATCH (m:Movie {movieId: toInteger($movieId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH u, m, run
ORDER BY run.switchedAt DESC
LIMIT 1
WITH u, m, run, CASE WHEN properties(u).liveRun = run.runId THEN properties(u).liveVersion ELSE 0 END AS listVersion
OPTIONAL MATCH (u)-[rec:RECOMMENDED]->(m)
WHERE rec.runId = run.runId AND coalesce(properties(rec).version, 0) = listVersion
OPTIONAL MATCH (u)-[rated:RATED]->(m)
WITH u, m, run, rec, rated, u[run.embeddingProperty] AS uv, m[run.embeddingProperty] AS mv
CALL (u) {
  MATCH (u)-[r:RATED]->(fav:Movie)
  WHERE r.rating >= 4.0
  WITH fav, r
  ORDER BY r.rating DESC, r.timestamp DESC
  LIMIT 20
  RETURN collect({movie: fav, rating: r.rating}) AS favourites
}
CALL (u) {
  MATCH (u)-[r:RATED]->(:Movie)-[:IN_GENRE]->(g:Genre)
  WITH g, sum(CASE WHEN r.rating >= 3.5 THEN 1.0 ELSE 0.25 END) AS weight
  ORDER BY weight DESC, g.name
  LIMIT 3
  RETURN collect(g.name) AS topGenres
}
// Favourites nearest to the movie in the run's embedding space.
CALL (run, m, mv, favourites) {
  UNWIND favourites AS f
  WITH f, vector.similarity.cosine(f.movie[run.embeddingProperty], mv) AS similarity
  WHERE similarity IS NOT NULL AND f.movie <> m
  WITH f, similarity
  ORDER BY similarity DESC
  LIMIT 3
  RETURN collect({title: f.movie.title, yourRating: f.rating, similarity: round(similarity, 3)}) AS nearestFavourites
}
// Co-rating paths: favourites that fans of the movie (rating >= 4) also rated >= 4. One pass over the
// ratings of a degree-capped sample of 100 of its fans: each fan costs all of their ratings, so the cap
// bounds the query (1000 fans: 106 ms at one client on a SYNTHETIC 1M graph, 100 fans: 20 ms).
CALL (m, favourites) {
  WITH m, [f IN favourites WHERE f.movie <> m | f.movie] AS favMovies
  MATCH (m)<-[r3:RATED]-(fan:User)
  WHERE r3.rating >= 4.0 AND size(favMovies) > 0
  WITH favMovies, fan
  LIMIT 100
  MATCH (fan)-[r2:RATED]->(fav)
  WHERE fav IN favMovies AND r2.rating >= 4.0
  WITH fav, count(fan) AS fans
  ORDER BY fans DESC, fav.title
  LIMIT 3
  RETURN collect({movie: fav, fans: fans}) AS coRated
}
// Recency: the recently rated movie that leads to this one most in the run's transitions (RECOMMENDED.becauseOf).
CALL (u, rec) {
  UNWIND CASE WHEN properties(rec).becauseOf IS NULL THEN [] ELSE [properties(rec).becauseOf] END AS recentId
  MATCH (u)-[r:RATED]->(recent:Movie {movieId: recentId})
  RETURN collect({title: recent.title, yourRating: r.rating, ratedAt: r.timestamp})[0] AS recently
}
WITH u, m, run, rec, rated, uv, mv, favourites, topGenres, nearestFavourites, recently,
     [c IN coRated | {title: c.movie.title, yourRating: [f IN favourites WHERE f.movie = c.movie | f.rating][0],
                      fansWhoLovedBoth: c.fans}] AS coRatedFavourites,
     [c IN coRated | c.movie][0] AS bestFavourite
// One or two example paths for Neo4j Browser.
CALL (u, m, bestFavourite) {
  MATCH p = (u)-[r1:RATED]->(bestFavourite)<-[r2:RATED]-(fan:User)-[r3:RATED]->(m)
  WHERE r2.rating >= 4.0 AND r3.rating >= 4.0 AND fan <> u
  WITH p
  LIMIT 2
  RETURN collect(p) AS paths
}
// Users nearest to the user in the run's embedding space who rated the movie >= 4.
CALL (run, u, m, uv) {
  WITH run, u, m, uv
  WHERE run.userIndex IS NOT NULL AND uv IS NOT NULL
  CALL db.index.vector.queryNodes(run.userIndex, 50, uv) YIELD node AS other
  WHERE other <> u AND EXISTS { (other)-[r:RATED]->(m) WHERE r.rating >= 4.0 }
  RETURN count(other) AS similarUsersWhoLovedIt
}
WITH u, m, run, rec, rated, uv, mv, nearestFavourites, coRatedFavourites, paths, topGenres, recently,
     coalesce(similarUsersWhoLovedIt, 0) AS similarUsersWhoLovedIt,
     [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS genres
WITH u, m, run, rec, rated, nearestFavourites, coRatedFavourites, paths, similarUsersWhoLovedIt, genres, recently,
     [g IN genres WHERE g IN topGenres] AS sharedGenres,
     vector.similarity.cosine(uv, mv) AS vectorSimilarity,
     CASE WHEN uv IS NOT NULL AND mv IS NOT NULL AND size(uv) = size(mv)
          THEN reduce(s = 0.0, i IN range(0, size(uv) - 1) | s + uv[i] * mv[i]) END AS embeddingDot
RETURN u.userId AS userId,
       m.movieId AS movieId,
       m.title AS title,
       m.year AS year,
       genres,
       CASE WHEN rec IS NOT NULL THEN coalesce(properties(rec).source, 'model') WHEN rated IS NOT NULL THEN 'already rated' ELSE 'not recommended' END AS source,
       run.runId AS runId,
       run.model AS model,
       round(rec.score, 4) AS score,
       rec.rank AS rank,
       round(properties(rec).predictedRating, 4) AS predictedRating,
       rated.rating AS yourRating,
       round(vectorSimilarity, 3) AS vectorSimilarity,
       round(embeddingDot, 4) AS embeddingDot,
       recently AS becauseYouRecentlyRated,
       nearestFavourites,
       coRatedFavourites,
       similarUsersWhoLovedIt,
       sharedGenres,
       CASE
         WHEN rec IS NOT NULL THEN run.model + ' recommends it at rank ' + toString(rec.rank) + ' of ' + toString(run.k) + ' (score ' + toString(round(rec.score, 3)) + ')'
         WHEN rated IS NOT NULL THEN 'you already rated it ' + toString(rated.rating) + ', so it is never recommended'
         WHEN run IS NULL THEN 'no model run has been written back yet'
         ELSE 'not in your top ' + toString(run.k) + ' from ' + run.model
       END
       + CASE WHEN recently IS NULL THEN '' ELSE '; because you recently rated ' + recently.title + ' (' + toString(recently.yourRating) + ')' END
       + CASE WHEN size(coRatedFavourites) = 0 THEN '' ELSE '; ' + toString(coRatedFavourites[0].fansWhoLovedBoth) + ' fans of ' + coRatedFavourites[0].title + ' (you rated it ' + toString(coRatedFavourites[0].yourRating) + ') also loved it' END
       + CASE WHEN size(nearestFavourites) = 0 THEN '' ELSE '; closest of your favourites: ' + nearestFavourites[0].title + ' (similarity ' + toString(nearestFavourites[0].similarity) + ')' END
       + CASE WHEN similarUsersWhoLovedIt = 0 THEN '' ELSE '; ' + toString(similarUsersWhoLovedIt) + ' of your 50 most similar users loved it' END
       + CASE WHEN size(sharedGenres) = 0 THEN '' ELSE '; in your genres ' + reduce(s = '', g IN sharedGenres | s + CASE WHEN s = '' THEN '' ELSE ', ' END + g) END
       AS explanation,
       paths
