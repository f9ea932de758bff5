// Purpose: set Movie.ratingCount (its number of RATED edges) on every movie, in batches; the cold-start popularity
//   paths of cypher/recommend read movies in this order from the movie_ratingCount index. Run after a load and at
//   every write-back; engine rate keeps it current in between (cypher/live/rate.cypher).
// Params: none
// Example:
//   (no parameters)
MATCH (m:Movie)
CALL (m) {
  SET m.ratingCount = COUNT { (m)<-[:RATED]-() }
} IN TRANSACTIONS OF 10000 ROWS
RETURN count(*) AS movies
