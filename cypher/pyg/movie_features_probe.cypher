// Purpose: which movies hold a node property, and one value of it (the PyG FeatureStore lists only attributes that exist and infers their dtype and width).
// Params:
//   $property  STRING  the node property
// Example:
//   :param {property: 'trainFeatures'}
MATCH (m:Movie)
WHERE m[$property] IS NOT NULL
WITH collect(m) AS nodes
RETURN [n IN nodes | n.movieId] AS ids, nodes[0][$property] AS sample
