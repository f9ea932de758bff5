// Purpose: store a feature vector on each given movie (the PyG FeatureStore's put; run before mini-batch training).
// Params:
//   $rows      LIST<MAP>  {id: movieId, x: LIST<FLOAT>} per movie
//   $property  STRING     the node property to set
// Example:
//   :param {rows: [{id: 1, x: [0.5, -1.0]}], property: 'trainFeatures'}
UNWIND $rows AS row
MATCH (m:Movie {movieId: row.id})
SET m[$property] = row.x
RETURN count(m) AS written
