// Purpose: one node property of a batch of movies (the Neo4j-backed PyG FeatureStore reads a mini-batch's features).
// Params:
//   $movieIds  LIST<INTEGER>  the movies of the batch
//   $property  STRING         the node property: a number, a boolean, a list of them, or float32 bytes
// Example:
//   :param {movieIds: [1, 2, 3], property: 'trainFeatures'}
UNWIND $movieIds AS id
MATCH (m:Movie {movieId: id})
RETURN collect(m.movieId) AS ids, collect(m[$property]) AS values
