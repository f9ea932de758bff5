// Purpose: explanation paths for a user's recommended movies: per movie its genres, the user's highly rated movies
//   closest to it (cosine of the current run's vectors, else the run's SIMILAR edges; then shared genres), and which
//   of the given similar users rated it highly. Feeds the recommendation subgraph of `engine viz`.
// Params:
//   $userId          INTEGER        the user
//   $movieIds        LIST<INTEGER>  the recommended movies to explain
//   $similarUserIds  LIST<INTEGER>  users similar to the user (e.g. from recommend/similar_users)
//   $minRating       FLOAT          a rating counts as "rated highly" from this value on
//   $perMovie        INTEGER        at most this many favourites per recommended movie
// Example:
//   :param {userId: 1, movieIds: [1, 2, 3], similarUserIds: [2, 3], minRating: 4.0, perMovie: 3}
MATCH (u:User {userId: toInteger($userId)})
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH u, run
ORDER BY run.switchedAt DESC
LIMIT 1
CALL (u) {
  MATCH (u)-[r:RATED]->(f:Movie)
  WHERE r.rating >= $minRating
  WITH f, r
  ORDER BY r.rating DESC, r.timestamp DESC
  LIMIT 50
  RETURN collect({movie: f, rating: r.rating}) AS favourites
}
UNWIND $movieIds AS movieId
MATCH (m:Movie {movieId: toInteger(movieId)})
CALL (run, m, favourites) {
  UNWIND favourites AS fav
  WITH run, m, fav, fav.movie AS f
  OPTIONAL MATCH (f)-[s:SIMILAR]-(m)
  WHERE s.runId = run.runId
  WITH m, fav, f,
       CASE
         WHEN run IS NOT NULL AND f[run.embeddingProperty] IS NOT NULL AND m[run.embeddingProperty] IS NOT NULL
           THEN vector.similarity.cosine(f[run.embeddingProperty], m[run.embeddingProperty])
       END AS byVector,
       max(s.score) AS byEdge
  WITH fav, f, coalesce(byVector, byEdge) AS similarity,
       [(f)-[:IN_GENRE]->(g:Genre)<-[:IN_GENRE]-(m) | g.name] AS sharedGenres
  WHERE similarity IS NOT NULL OR size(sharedGenres) > 0
  WITH fav, f, similarity, sharedGenres
  ORDER BY coalesce(similarity, -2.0) DESC, size(sharedGenres) DESC, f.movieId
  LIMIT toInteger($perMovie)
  RETURN collect({movieId: f.movieId, title: f.title, rating: fav.rating, similarity: similarity,
                  sharedGenres: sharedGenres}) AS because
}
CALL (m) {
  MATCH (m)<-[r:RATED]-(o:User)
  WHERE o.userId IN $similarUserIds
    AND r.rating >= $minRating
  RETURN collect({userId: o.userId, rating: r.rating}) AS fans
}
RETURN m.movieId AS movieId,
       m.title AS title,
       m.year AS year,
       [(m)-[:IN_GENRE]->(g:Genre) | g.name] AS genres,
       because,
       fans
ORDER BY movieId
