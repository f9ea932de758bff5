// Purpose: store a feature vector on each given movie (the PyG FeatureStore's put; run before mini-batch training).
// Params:
//   $rows      LIST<MAP>  {id: movieId, x: the value} per movie: an INTEGER, FLOAT or BOOLEAN, a list of them, or float32 BYTES
//   $property  STRING     the node property to set
// Example:
//   :param {property: 'trainFeatures', rows: [{id: 1, x: [0.5, -1.0]}]}
UNWIND $rows AS row
MATCH (m:Movie {movieId: row.id})
SET m[$property] = row.x
RETURN count(m) AS written
