// Purpose: fastest path, for a run never written before whose already-rated movies the writer dropped
//   itself (engine.writeback.rated: the export's ratings plus those written since, by ratedAt): CREATE one
//   batch of RECOMMENDED edges from flat parallel lists, one entry per edge, ranks already renumbered.
//   Nodes are addressed by internal id (admin/node_ids, read by the same write-back).
//   Why a third file beside recommended_create / recommended_batch: those check RATED inside the write
//   (every rating of every user expanded in the write transactions); this one checks nothing, so it is
//   used only when the writer knows every rating its users had (see engine.graphdb.writeback).
// Params:
//   $runId    STRING                 the run the edges belong to
//   $users    LIST<INTEGER>          internal id of each edge's user
//   $movies   LIST<INTEGER>          internal id of each edge's movie (same length)
//   $scores   LIST<FLOAT>            each edge's score (same length)
//   $ranks    LIST<INTEGER>          each edge's rank in its user's list, 1 = best (same length)
//   $ratings  LIST<FLOAT> or null    predicted ratings (null: not a rating model)
//   $reasons  LIST<INTEGER> or null  movieId of the recent rating that leads to each movie (becauseOf;
//                                    null entries or null: none)
// Example:
//   :param {runId: 'example-run', users: [0, 0], movies: [1, 2], scores: [0.9, 0.8], ranks: [1, 2], ratings: null, reasons: null}
UNWIND range(0, size($users) - 1) AS i
MATCH (u) WHERE id(u) = $users[i]
MATCH (m) WHERE id(m) = $movies[i]
CREATE (u)-[r:RECOMMENDED {runId: $runId, score: $scores[i], rank: $ranks[i],
                           predictedRating: $ratings[i], becauseOf: $reasons[i]}]->(m)
RETURN count(r) AS written
