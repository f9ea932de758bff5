// Purpose: delete the SIMILAR edges of the given runs from a batch of movies.
// Params:
//   $ids     LIST<INTEGER>  movieIds
//   $runIds  LIST<STRING>   runs whose edges go
// Example:
//   :param {ids: [1, 2], runIds: ['old-run']}
UNWIND $ids AS id
MATCH (m:Movie {movieId: id})-[s:SIMILAR]->()
WHERE s.runId IN $runIds
DELETE s
RETURN count(*) AS deleted
