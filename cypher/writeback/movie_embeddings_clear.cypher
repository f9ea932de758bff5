// Purpose: remove a slot's vector from a batch of movies (stale vectors of an older run).
// Params:
//   $property  STRING         slot property, 'embedding' or 'embeddingB'
//   $ids       LIST<INTEGER>  movieIds
// Example:
//   :param {property: 'embeddingB', ids: [1, 2]}
UNWIND $ids AS id
MATCH (m:Movie {movieId: id})
REMOVE m[$property]
RETURN count(m) AS cleared
