// Purpose: which users hold a node property, and one value of it (the PyG FeatureStore lists only attributes that exist and infers their dtype and width).
// Params:
//   $property  STRING  the node property
// Example:
//   :param {property: 'trainFeatures'}
MATCH (u:User)
WHERE u[$property] IS NOT NULL
WITH collect(u) AS nodes
RETURN [n IN nodes | n.userId] AS ids, nodes[0][$property] AS sample
